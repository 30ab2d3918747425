"""The corpus of real-shaped Cloud API webhooks, one file per webhook field
(``corpus/<field>.json``): every case gives exactly the events (or the skip) it expects.

A case's ``expect`` lists one entry per event, in order: ``event`` (its type) and
the fields to check (``text``, ``text_contains``, ``reply_to``, ``interactive``,
``target``, ``kind``, ``emoji``, ``by``, ``status``, ...); or ``{"skipped": part}``
for a delivery that gives no event, with a part of the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from begasist_channels_whatsapp import read_webhook
from begasist_core import (
    Direction,
    GuestPreferenceChanged,
    InboundPayload,
    MessageChanged,
    MessageDeletion,
    MessageEchoed,
    MessageEdit,
    MessageReceived,
    MessageStatusChanged,
    TemplateStatusChanged,
    make_event,
)

from tests.channels.whatsapp.samples import body_of, settings

CORPUS = Path(__file__).parent / "corpus"


def load_cases() -> list[Any]:
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        document = json.loads(path.read_text("utf-8"))
        for case in document["cases"]:
            field = case["body"]["entry"][0]["changes"][0]["field"]
            assert field == document["field"] == path.stem, case["name"]
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


def summary(event: InboundPayload) -> dict[str, Any]:
    """What a corpus case may check of *event*."""
    if isinstance(event, MessageReceived | MessageEchoed):
        message = event.message
        interactive = message.context.interactive if message.context else None
        return {
            "event": "message.received" if isinstance(event, MessageReceived) else "message.echoed",
            "text": message.text,
            "reply_to": message.reply_to,
            "to": message.guest.address,
            "attachments": len(message.attachments),
            "direction": message.direction.value,
            "interactive": None
            if interactive is None
            else {
                "kind": interactive.kind,
                "title": interactive.title,
                "answers": [[a.question, a.answer] for a in interactive.answers],
            },
        }
    if isinstance(event, MessageChanged):
        change = event.change
        return {
            "event": "message.changed",
            "target": event.provider_message_id,
            "kind": change.kind,
            "text": change.text if isinstance(change, MessageEdit) else None,
            "emoji": None if isinstance(change, MessageEdit | MessageDeletion) else change.emoji,
            "by": event.by.address if event.by else None,
            "change_id": event.change_id,
        }
    if isinstance(event, GuestPreferenceChanged):
        return {
            "event": "guest.preference",
            "guest": event.guest.address,
            "topic": event.topic,
            "opted_out": event.opted_out,
        }
    if isinstance(event, TemplateStatusChanged):
        return {
            "event": "template.status",
            "name": event.name,
            "language": event.language,
            "status": event.status,
            "category": event.category,
            "quality": event.quality,
            "reason": event.reason,
        }
    assert isinstance(event, MessageStatusChanged)
    return {
        "event": "message.status",
        "target": event.provider_message_id,
        "status": event.status.value,
        "failed": event.failed,
    }


def matches(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    problems = []
    for key, want in expected.items():
        if key == "text_contains":
            problems += [f"text lacks {part!r}" for part in want if part not in actual["text"]]
        elif key == "interactive" and want is not None and actual["interactive"] is not None:
            problems += [
                f"interactive.{k}: {actual['interactive'][k]!r} != {v!r}"
                for k, v in want.items()
                if actual["interactive"][k] != v
            ]
        elif actual.get(key) != want:
            problems.append(f"{key}: {actual.get(key)!r} != {want!r}")
    return problems


@pytest.mark.parametrize("case", load_cases())
def test_corpus_case(case: dict[str, Any]) -> None:
    contents = read_webhook(body_of(case["body"]), hotel="plaza", settings=settings())
    notices = [want["notice"] for want in case["expect"] if "notice" in want]
    assert [n.detail for n in contents.notices] == notices or all(
        part in notice.detail for part, notice in zip(notices, contents.notices, strict=True)
    ), contents.notices
    expected = [want for want in case["expect"] if "notice" not in want]
    skips = [want["skipped"] for want in expected if "skipped" in want]
    if skips:
        assert contents.events == []
        assert any(part in reason for part in skips for reason in contents.skipped), (
            contents.skipped
        )
        return
    assert contents.skipped == []
    assert len(contents.events) == len(expected), contents.events
    for want, event in zip(expected, contents.events, strict=True):
        assert matches(want, summary(event)) == [], (want, summary(event))
        make_event("plaza", event)  # a valid event of the contract
        if isinstance(event, MessageEchoed):
            assert event.message.direction is Direction.OUTBOUND
    again = read_webhook(body_of(case["body"]), hotel="plaza", settings=settings())
    assert again.events == contents.events or all(
        summary(a) == summary(b) for a, b in zip(again.events, contents.events, strict=True)
    ), "reading a delivery again gives the same events (idempotency keys)"


def test_every_field_has_a_corpus() -> None:
    assert {path.stem for path in CORPUS.glob("*.json")} >= {
        "messages",
        "smb_message_echoes",
        "user_preferences",
        "account_update",
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
        "phone_number_quality_update",
    }
