"""The checked-in docs/schema must be exactly what the models generate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from begasist_core.schema import (
    check_schema_documents,
    render_document,
    schema_documents,
    write_schema_documents,
)

DOCS_SCHEMA = Path(__file__).resolve().parents[3] / "docs" / "schema"

REGENERATE = "hatch run schema"


def test_checked_in_documents_match_the_models() -> None:
    drifted = check_schema_documents(DOCS_SCHEMA)
    assert not drifted, (
        f"docs/schema is out of date with the event models: {', '.join(drifted)}. "
        f"Run `{REGENERATE}` (channelbot schema --out docs/schema), review the diff "
        "and commit it with the model change."
    )


@pytest.fixture
def checked_in_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "schema"
    shutil.copytree(DOCS_SCHEMA, copy)
    return copy


def test_an_edited_document_is_reported(checked_in_copy: Path) -> None:
    edited = checked_in_copy / "events" / "config.changed.json"
    document = json.loads(edited.read_text(encoding="utf-8"))
    document["properties"]["data"]["description"] = "edited by hand"
    edited.write_text(render_document(document), encoding="utf-8")

    assert check_schema_documents(checked_in_copy) == ["events/config.changed.json"]


def test_missing_and_stale_documents_are_reported(checked_in_copy: Path) -> None:
    (checked_in_copy / "asyncapi.json").unlink()
    (checked_in_copy / "events" / "booking.created.json").write_text("{}\n", encoding="utf-8")
    (checked_in_copy / "events" / "notes.txt").write_text("not a document\n", encoding="utf-8")

    assert check_schema_documents(checked_in_copy) == [
        "asyncapi.json",
        "events/booking.created.json",
    ]


def test_writing_fixes_every_drift_and_then_changes_nothing(checked_in_copy: Path) -> None:
    (checked_in_copy / "models" / "message.json").write_text("{}\n", encoding="utf-8")
    (checked_in_copy / "events" / "booking.created.json").write_text("{}\n", encoding="utf-8")
    (checked_in_copy / "event.json").unlink()

    written = write_schema_documents(checked_in_copy)

    assert sorted(path.relative_to(checked_in_copy).as_posix() for path in written) == [
        "event.json",
        "models/message.json",
    ]
    assert check_schema_documents(checked_in_copy) == []
    assert not (checked_in_copy / "events" / "booking.created.json").exists()
    assert write_schema_documents(checked_in_copy) == []


def test_an_empty_directory_gets_every_document(tmp_path: Path) -> None:
    written = write_schema_documents(tmp_path / "out")
    assert {path.relative_to(tmp_path / "out").as_posix() for path in written} == set(
        schema_documents()
    )


def test_the_text_form_is_sorted_two_space_json_with_a_final_newline() -> None:
    for name, text in schema_documents().items():
        assert text.endswith("}\n"), name
        assert not text.endswith("\n\n"), name
        assert text == render_document(json.loads(text)), name
        assert text.startswith('{\n  "'), name


def test_generation_is_deterministic() -> None:
    assert schema_documents() == schema_documents()


def test_the_document_set() -> None:
    names = set(schema_documents())
    assert {
        "asyncapi.json",
        "event.json",
        "events/message.received.json",
        "events/message.status.json",
        "events/message.changed.json",
        "events/message.echoed.json",
        "events/guest.preference.json",
        "events/template.status.json",
        "events/channel.state.json",
        "events/config.changed.json",
        "events/channel.command.json",
        "events/message.send.json",
        "events/webhook.received.json",
        "models/message.json",
        "models/conversation.json",
        "models/guest-identity.json",
        "models/channel-settings.json",
    } == names
