"""What the Graph API stand-in refuses, and how: payload checks and Meta's error answers.

Split from ``graph_standin.py`` (the server): these are pure functions over a
send payload and a scripted failure, so they are read and tested on their own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Refused", "ScriptedFailure", "check_payload", "error_body", "invalid"]

_MEDIA_TYPES: Final = frozenset({"image", "video", "audio", "document", "sticker"})
_CAPTIONED: Final = frozenset({"image", "video", "document"})
_TYPES: Final = _MEDIA_TYPES | {"text", "template", "reaction", "location", "contacts"}


@dataclass(frozen=True, slots=True)
class ScriptedFailure:
    """An error the stand-in answers instead of accepting a message (see ``fail_next``)."""

    status: int
    code: int
    title: str
    subcode: int | None = None
    retry_after: float | None = None
    details: str | None = None
    body: bytes | None = None
    """Answered as ``text/html`` instead of Meta's error JSON (a proxy's error page)."""


class Refused(Exception):
    """A send the stand-in answers with *failure* instead of accepting it."""

    def __init__(self, failure: ScriptedFailure) -> None:
        super().__init__(failure.title)
        self.failure = failure


def invalid(code: int, title: str, details: str) -> Refused:
    """The 400 Meta answers for a payload it cannot take."""
    return Refused(ScriptedFailure(status=400, code=code, title=title, details=details))


def check_payload(payload: Any) -> tuple[str, str]:
    """``(to, type)`` of a roughly valid send payload, or the 400 Meta would answer."""
    if not isinstance(payload, dict):
        raise invalid(100, "Invalid parameter", "the body must be a JSON object")
    if payload.get("messaging_product") != "whatsapp":
        raise invalid(100, "Invalid parameter", "messaging_product must be whatsapp")
    to, kind = payload.get("to"), payload.get("type", "text")
    if not isinstance(to, str) or not to:
        raise invalid(131008, "Required parameter is missing", "to is required")
    if kind not in _TYPES:
        raise invalid(131009, "Parameter value is not valid", f"unknown type {kind!r}")
    body = payload.get(kind)
    if not isinstance(body, dict):
        raise invalid(131008, "Required parameter is missing", f"{kind} object is required")
    context = payload.get("context")
    if context is not None and not (
        isinstance(context, dict) and isinstance(context.get("message_id"), str)
    ):
        raise invalid(131009, "Parameter value is not valid", "context.message_id")
    if kind == "text":
        text = body.get("body")
        if not isinstance(text, str) or not text or len(text) > 4096:
            raise invalid(131009, "Parameter value is not valid", "text.body: 1 to 4096 chars")
    elif kind in _MEDIA_TYPES:
        _check_media(kind, body)
    elif kind == "template":
        language = body.get("language")
        if not isinstance(body.get("name"), str) or not (
            isinstance(language, dict) and isinstance(language.get("code"), str)
        ):
            raise invalid(131008, "Required parameter is missing", "template name and language")
    return to, kind


def _check_media(kind: str, body: dict[str, Any]) -> None:
    link, media_id = body.get("link"), body.get("id")
    if (link is None) == (media_id is None):
        raise invalid(131009, "Parameter value is not valid", f"{kind}: exactly one of link, id")
    if link is not None and not (isinstance(link, str) and re.match(r"^https?://", link)):
        raise invalid(131009, "Parameter value is not valid", f"{kind}.link must be http(s)")
    if "caption" in body and kind not in _CAPTIONED:
        raise invalid(131009, "Parameter value is not valid", f"{kind} takes no caption")
    if "filename" in body and kind != "document":
        raise invalid(131009, "Parameter value is not valid", f"{kind} takes no filename")


def error_body(failure: ScriptedFailure) -> bytes:
    error: dict[str, Any] = {
        "message": f"(#{failure.code}) {failure.title}",
        "type": "OAuthException",
        "code": failure.code,
        "fbtrace_id": f"STANDIN{failure.code}",
    }
    if failure.subcode is not None:
        error["error_subcode"] = failure.subcode
    if failure.details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": failure.details}
    return json.dumps({"error": error}).encode()
