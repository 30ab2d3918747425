"""The suite's assistants: the FAQ responder and the language detection it relies on.

Register them with
``pm.register_plugin(builtin_responders, name=builtin_responders.PLUGIN_NAME)``.
"""

from __future__ import annotations

from begasist_suite.responders import plugin as builtin_responders
from begasist_suite.responders.faq import FaqResponder
from begasist_suite.responders.language import detect_language

__all__ = ["FaqResponder", "builtin_responders", "detect_language"]
