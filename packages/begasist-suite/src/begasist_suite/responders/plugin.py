"""The suite's own responders as a plugin, registered in-process like any other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from begasist_core import Responder, hookimpl

from begasist_suite.responders.faq import FaqResponder

__all__ = ["PLUGIN_NAME", "begasist_register_responders"]

PLUGIN_NAME: Final = "builtin_responders"
"""The name to register this module under (it follows the entry-point name rules)."""


@hookimpl
def begasist_register_responders(register: Callable[[type[Responder]], None]) -> None:
    """Register :class:`FaqResponder` as ``faq``."""
    register(FaqResponder)
