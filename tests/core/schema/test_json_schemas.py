"""The JSON Schema documents: standalone, resolvable, and true to what the codec writes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from begasist_core.events import EVENT_TYPES, decode_event, encode_event
from begasist_core.schema import (
    event_schema,
    event_type_schemas,
    example_events,
    schema_documents,
    shared_model_schemas,
)
from begasist_core.schema.json_schemas import JSON_SCHEMA_DIALECT, SHARED_MODELS

SchemaErrors = Callable[[dict[str, Any], Any], list[str]]


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def encoded(event_type: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(encode_event(example_events()[event_type]))
    return document


def json_schema_documents() -> dict[str, dict[str, Any]]:
    return {
        name: json.loads(text)
        for name, text in schema_documents().items()
        if name != "asyncapi.json"
    }


@pytest.mark.parametrize("name", sorted(json_schema_documents()))
def test_every_schema_is_standalone_2020_12(
    name: str, resolve_ref: Callable[[Any, str], Any]
) -> None:
    schema = json_schema_documents()[name]
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert "do not edit" in schema["$comment"]
    for ref in refs(schema):
        assert ref.startswith("#/$defs/"), ref
        resolve_ref(schema, ref)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_example_validates_against_its_type_and_the_union(
    event_type: str, schema_errors: SchemaErrors
) -> None:
    example = encoded(event_type)
    assert schema_errors(event_type_schemas()[event_type], example) == []
    assert schema_errors(event_schema(), example) == []


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_an_example_does_not_validate_against_another_type(
    event_type: str, schema_errors: SchemaErrors
) -> None:
    other = next(name for name in sorted(EVENT_TYPES) if name != event_type)
    assert schema_errors(event_type_schemas()[other], encoded(event_type)) != []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda event: event.update(hotel="Not A Slug"), "hotel"),
        (lambda event: event.pop("id"), "id"),
        (lambda event: event.update(v=2), "v"),
        (lambda event: event["data"]["message"].update(status="lost"), "status"),
        (lambda event: event["data"].update(surprise=True), "surprise"),
    ],
    ids=["bad-slug", "no-id", "future-version", "unknown-status", "extra-field"],
)
def test_the_check_rejects_what_the_contract_forbids(
    change: Callable[[dict[str, Any]], object], where: str, schema_errors: SchemaErrors
) -> None:
    event = encoded("message.received")
    change(event)
    errors = schema_errors(event_type_schemas()["message.received"], event)
    assert errors, f"a changed {where} passed the schema check"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_field_the_codec_writes_is_required(event_type: str) -> None:
    # The documents describe what writers emit: every field, defaults included.
    schema = event_type_schemas()[event_type]
    example = encoded(event_type)
    assert set(schema["required"]) == set(example) == set(schema["properties"])
    assert schema["properties"]["type"]["const"] == event_type


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_examples_are_real_events(event_type: str) -> None:
    example = example_events()[event_type]
    assert example.type == event_type
    assert decode_event(encode_event(example)) == example


@pytest.mark.parametrize("stem", sorted(SHARED_MODELS))
def test_shared_model_schemas_are_titled_by_their_model(stem: str) -> None:
    schema = shared_model_schemas()[stem]
    assert schema["title"] == SHARED_MODELS[stem].__name__
    assert set(schema["required"]) == set(schema["properties"])


def test_the_shared_message_schema_accepts_the_example_messages(
    schema_errors: SchemaErrors,
) -> None:
    message_schema = shared_model_schemas()["message"]
    for event_type in ("message.received", "message.send"):
        assert schema_errors(message_schema, encoded(event_type)["data"]["message"]) == []


def test_the_union_is_discriminated_by_type() -> None:
    schema = event_schema()
    assert schema["discriminator"]["propertyName"] == "type"
    assert set(schema["discriminator"]["mapping"]) == set(EVENT_TYPES)
