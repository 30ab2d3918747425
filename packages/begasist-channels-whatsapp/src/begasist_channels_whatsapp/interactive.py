"""A guest's interactive reply (a Flow's form, a button or list choice, a call permission
answer, any kind Meta adds) as readable text plus structured answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

from begasist_core import InteractiveAnswer, InteractiveContent

__all__ = ["interactive_content"]

_MAX_ANSWERS: Final = 200
_FLOW_FIELD = re.compile(r"^screen_\d+_(?P<name>.+?)(_\d+)?$")
"""Flow Builder's generated response keys (``screen_0_Check_out_time_1``)."""
_KIND = re.compile(r"[^a-z0-9_]")
_CALL_RESPONSES: Final = {"accept": "accepted", "reject": "rejected"}


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _question(key: str) -> str:
    match = _FLOW_FIELD.match(key)
    name = match["name"] if match else key
    words = name.replace("_", " ").replace("-", " ").strip() or key
    return _clip(words[:1].upper() + words[1:], 200)


def _answer(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_answer(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)


def _pairs(data: dict[str, Any], prefix: str = "") -> Iterator[InteractiveAnswer]:
    """Every field of *data* (nested objects flattened: ``Address / City``), in order."""
    for key, value in data.items():
        if key in {"flow_token", "type", "id"}:
            continue  # the hotel's own correlation data, not the guest's answer
        question = f"{prefix}{_question(key)}"
        if isinstance(value, dict) and value:
            yield from _pairs(value, f"{question} / ")
        else:
            yield InteractiveAnswer(
                question=_clip(question, 200), answer=_clip(_answer(value), 4096)
            )


def _kind(value: str) -> str:
    kind = _KIND.sub("_", value.lower()).strip("_") or "interactive"
    return kind if kind[0].isalpha() else f"k_{kind}"[:64]


def _text(title: str, answers: tuple[InteractiveAnswer, ...]) -> str:
    return "\n".join([title, *(f"{a.question}: {a.answer}" for a in answers)])


def _nfm(reply: dict[str, Any]) -> tuple[str, InteractiveContent]:
    name = str(reply.get("name") or "flow")
    raw = reply.get("response_json")
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        data = {"response": raw}
    if not isinstance(data, dict):
        data = {"response": data}
    if name == "address_message" and isinstance(data.get("values"), dict):
        data = data["values"]
    answers = tuple(_pairs(data))[:_MAX_ANSWERS]
    title = "Address" if name == "address_message" else "Form"
    body = str(reply.get("body") or "").strip()
    if body and body.lower() != "sent":
        title = f"{title}: {_clip(body, 150)}"
    content = InteractiveContent(kind=_kind(name), title=title, answers=answers)
    return _text(title, answers), content


def _call_permission(reply: dict[str, Any]) -> tuple[str, InteractiveContent]:
    response = str(reply.get("response") or "unknown")
    word = _CALL_RESPONSES.get(response, response)
    answers = [InteractiveAnswer(question="Response", answer=word)]
    if "is_permanent" in reply:
        answers.append(
            InteractiveAnswer(question="Permanent", answer=_answer(reply["is_permanent"]))
        )
    expiry = reply.get("expiration_timestamp")
    if isinstance(expiry, int | str) and str(expiry).isdigit():
        until = datetime.fromtimestamp(int(expiry), UTC).strftime("%Y-%m-%d %H:%M UTC")
        answers.append(InteractiveAnswer(question="Until", answer=until))
    if reply.get("response_source"):
        answers.append(InteractiveAnswer(question="Source", answer=str(reply["response_source"])))
    title = f"Call permission {word}"
    content = InteractiveContent(kind="call_permission_reply", title=title, answers=tuple(answers))
    return title, content


def _choice(kind: str, reply: dict[str, Any]) -> tuple[str, InteractiveContent]:
    title = _clip(str(reply.get("title") or reply.get("id") or ""), 200)
    description = reply.get("description")
    text = f"{title}: {description}" if description else title
    return text, InteractiveContent(kind=kind, title=title or None)


def interactive_content(interactive: dict[str, Any]) -> tuple[str, InteractiveContent] | None:
    """The readable text and structure of an ``interactive`` object; None without a kind.

    A kind this code does not know is still kept: its object's fields become the
    answers, so staff read what the guest chose rather than nothing.
    """
    kind = interactive.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    reply = interactive.get(kind)
    if not isinstance(reply, dict):
        return None
    if kind in {"button_reply", "list_reply"}:
        return _choice(kind, reply)
    if kind == "nfm_reply":
        return _nfm(reply)
    if kind == "call_permission_reply":
        return _call_permission(reply)
    answers = tuple(_pairs(reply))[:_MAX_ANSWERS]
    title = f"Interactive reply ({kind.replace('_', ' ')})"
    return _text(title, answers), InteractiveContent(kind=_kind(kind), title=title, answers=answers)
