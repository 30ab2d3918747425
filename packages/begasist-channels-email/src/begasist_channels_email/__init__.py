"""Begasist email channel plugin (an installable skeleton: issue #5 fills it).

It declares no `begasist.channels` entry point yet, so no host loads it.
"""

__all__: list[str] = []
