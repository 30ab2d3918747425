"""Begasist suite (an installable skeleton: issue #3 fills it with the Litestar app)."""

__all__: list[str] = []
