"""docs/events.md, the contract for people, covers what the models define."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from begasist_core.events import EVENT_TYPES, STREAM_EVENT_TYPES, decode_event
from begasist_core.schema import schema_documents

EVENTS_DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


@pytest.fixture(scope="module")
def text() -> str:
    return EVENTS_DOC.read_text(encoding="utf-8")


def test_every_event_type_has_a_row_with_its_stream(text: str) -> None:
    for stream, event_types in STREAM_EVENT_TYPES.items():
        for event_type in event_types:
            assert re.search(rf"^\| `{re.escape(event_type)}` \| {stream} \|", text, re.M), (
                f"docs/events.md has no row for {event_type} on the {stream} stream"
            )
    documented = set(re.findall(r"^\| `([a-z]+\.[a-z]+)` \|", text, re.M))
    assert documented == set(EVENT_TYPES)


def test_every_stream_is_named(text: str) -> None:
    for stream in STREAM_EVENT_TYPES:
        name = "begasist:events" if stream == "events" else f"begasist:hotel:{{hotel}}:{stream}"
        assert f"`{name}`" in text
    assert "`begasist:dead`" in text


def test_every_generated_document_family_is_listed(text: str) -> None:
    for name in schema_documents():
        listed = name if "/" not in name else name.split("/")[0] + "/"
        assert f"docs/schema/{listed}" in text, name


def test_the_envelope_example_is_a_real_event(text: str) -> None:
    (example,) = re.findall(r"```json\n(.*?)```", text, re.S)
    assert decode_event(example).type == "config.changed"


def test_it_says_how_to_regenerate(text: str) -> None:
    assert "hatch run schema" in text
    assert "hatch run schema --check" in text
