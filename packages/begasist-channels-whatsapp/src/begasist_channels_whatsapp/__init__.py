"""Begasist whatsapp channel plugin (an installable skeleton: issue #4 fills it).

It declares no `begasist.channels` entry point yet, so no host loads it.
"""

__all__: list[str] = []
