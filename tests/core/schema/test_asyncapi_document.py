"""The AsyncAPI 3.0 document: its required structure, resolvable references, true streams."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from begasist_core.events import (
    ENVELOPE_VERSION,
    EVENT_TYPES,
    STREAM_EVENT_TYPES,
    StreamNames,
    decode_event,
)
from begasist_core.schema import (
    event_type_schemas,
    example_events,
    schema_documents,
)

SchemaErrors = Callable[[dict[str, Any], Any], list[str]]
Resolve = Callable[[Any, str], Any]

COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")
# JSON Schema keywords newer than draft-07, which AsyncAPI's default schema format is based on.
NEWER_THAN_DRAFT_07 = {
    "$defs",
    "prefixItems",
    "unevaluatedProperties",
    "dependentSchemas",
    "$dynamicRef",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_documents()["asyncapi.json"])
    return loaded


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def test_the_required_top_level_fields(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "Begasist events"
    assert document["info"]["version"] == str(ENVELOPE_VERSION)
    assert document["defaultContentType"] == "application/json"
    assert set(document) <= {
        "asyncapi",
        "id",
        "info",
        "servers",
        "defaultContentType",
        "channels",
        "operations",
        "components",
    }


def test_the_redis_server(document: dict[str, Any]) -> None:
    server = document["servers"]["redis"]
    assert server["protocol"] == "redis"
    for variable in re.findall(r"{(\w+)}", server["host"]):
        assert "default" in server["variables"][variable]


def test_every_ref_resolves_within_the_document(
    document: dict[str, Any], resolve_ref: Resolve
) -> None:
    references = [
        (path, node["$ref"])
        for path, node in walk(document)
        if isinstance(node, dict) and "$ref" in node
    ]
    assert len(references) > 50
    for path, ref in references:
        try:
            resolve_ref(document, ref)
        except (KeyError, IndexError, ValueError):
            pytest.fail(f"{path}: $ref {ref!r} does not resolve within the document")


def test_components_use_the_draft_07_vocabulary(document: dict[str, Any]) -> None:
    for path, node in walk(document["components"]["schemas"]):
        if isinstance(node, dict) and "properties" not in path.rsplit("/", 1)[-1]:
            assert not NEWER_THAN_DRAFT_07 & set(node), path
            assert not isinstance(node.get("discriminator"), dict), path


def test_component_keys_are_valid(document: dict[str, Any]) -> None:
    for section in document["components"].values():
        for key in section:
            assert COMPONENT_KEY.match(key), key


def test_channels_are_the_streams_with_their_event_types(document: dict[str, Any]) -> None:
    channels = document["channels"]
    assert set(channels) == {*STREAM_EVENT_TYPES, "dead"}
    for stream, event_types in STREAM_EVENT_TYPES.items():
        assert set(channels[stream]["messages"]) == set(event_types), stream
    assert channels["dead"]["messages"] == {}
    carried = {event_type for types in STREAM_EVENT_TYPES.values() for event_type in types}
    assert carried == set(EVENT_TYPES) == set(document["components"]["messages"])


def test_addresses_are_the_stream_names(document: dict[str, Any]) -> None:
    names = StreamNames()
    expected = {
        "control": names.control("plaza"),
        "outbound": names.outbound("plaza"),
        "ingress": names.ingress("plaza"),
        "events": names.events,
        "dead": names.hotel_dead("plaza"),
    }
    for stream, channel in document["channels"].items():
        parameters = set(re.findall(r"{(\w+)}", channel["address"]))
        assert parameters == set(channel.get("parameters", {})), stream
        assert channel["address"].replace("{hotel}", "plaza") == expected[stream]


def test_every_stream_has_one_writer_and_one_reader(
    document: dict[str, Any], resolve_ref: Resolve
) -> None:
    seen: dict[str, list[str]] = {stream: [] for stream in document["channels"]}
    for operation_id, operation in document["operations"].items():
        assert operation["action"] in {"send", "receive"}, operation_id
        channel_ref = operation["channel"]["$ref"]
        stream = channel_ref.removeprefix("#/channels/")
        seen[stream].append(operation["action"])
        for message in operation.get("messages", []):
            # AsyncAPI 3.0: an operation's messages are messages of its own channel.
            assert message["$ref"].startswith(f"{channel_ref}/messages/"), operation_id
            resolve_ref(document, message["$ref"])
    assert all(sorted(actions) == ["receive", "send"] for actions in seen.values()), seen


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_message_has_a_valid_real_example(
    event_type: str, document: dict[str, Any], schema_errors: SchemaErrors
) -> None:
    message = document["components"]["messages"][event_type]
    assert message["payload"]["$ref"] == f"#/components/schemas/{EVENT_TYPES[event_type].__name__}"
    (example,) = message["examples"]
    assert decode_event(json.dumps(example["payload"])) == example_events()[event_type]
    assert schema_errors(event_type_schemas()[event_type], example["payload"]) == []


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_component_schemas_equal_the_standalone_schemas(
    event_type: str, document: dict[str, Any]
) -> None:
    standalone = event_type_schemas()[event_type]
    components = document["components"]["schemas"]

    def as_component(schema: Any) -> Any:
        text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/')
        return asyncapi_discriminators(json.loads(text))

    def asyncapi_discriminators(node: Any) -> Any:
        # AsyncAPI's schema object names the discriminating property (a string);
        # pydantic writes OpenAPI's object form, which the JSON Schema files keep.
        if isinstance(node, list):
            return [asyncapi_discriminators(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: asyncapi_discriminators(value) for key, value in node.items()}
        if isinstance(node.get("discriminator"), dict):
            out["discriminator"] = node["discriminator"]["propertyName"]
        return out

    name = EVENT_TYPES[event_type].__name__
    top = {
        key: value
        for key, value in standalone.items()
        if key not in {"$schema", "$comment", "$defs"}
    }
    assert components[name] == as_component(top)
    for definition, schema in standalone.get("$defs", {}).items():
        assert components[definition] == as_component(schema), definition
