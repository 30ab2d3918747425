"""The AsyncAPI 3.0 document of the event contract: streams, who writes and reads them, events."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from begasist_core.bus.dead_letters import DeadLetter
from begasist_core.bus.publisher import ENTRY_FIELD
from begasist_core.events.codec import EVENT_TYPES, encode_event
from begasist_core.events.envelope import ENVELOPE_VERSION
from begasist_core.events.streams import DEFAULT_PREFIX, STREAM_EVENT_TYPES
from begasist_core.schema.examples import example_events
from begasist_core.schema.json_schemas import GENERATED_NOTE, WireJsonSchema

__all__ = ["ASYNCAPI_VERSION", "STREAMS", "StreamRoles", "asyncapi_document"]

ASYNCAPI_VERSION: Final = "3.0.0"

_SERVER_REF: Final = {"$ref": "#/servers/redis"}


@dataclass(frozen=True, slots=True)
class StreamRoles:
    """Where a stream lives and who writes and reads it."""

    address: str
    writer: str
    reader: str
    description: str

    @property
    def per_hotel(self) -> bool:
        return "{hotel}" in self.address


def _hotel_stream(name: str) -> str:
    return f"{DEFAULT_PREFIX}:hotel:{{hotel}}:{name}"


STREAMS: Final[dict[str, StreamRoles]] = {
    "control": StreamRoles(
        _hotel_stream("control"),
        writer="suite",
        reader="the hotel's channelbot",
        description="Operator commands and settings changes for one hotel's bot.",
    ),
    "outbound": StreamRoles(
        _hotel_stream("outbound"),
        writer="suite",
        reader="the hotel's channelbot",
        description="Messages to send to guests, each sent once per message id.",
    ),
    "ingress": StreamRoles(
        _hotel_stream("ingress"),
        writer="suite",
        reader="the hotel's channelbot",
        description="Provider webhooks, already verified by the suite, for the bot to parse.",
    ),
    "events": StreamRoles(
        f"{DEFAULT_PREFIX}:events",
        writer="every channelbot",
        reader="suite",
        description="What happened on the channels, from every hotel's bot (may be sharded).",
    ),
    "dead": StreamRoles(
        _hotel_stream("dead"),
        writer="any consumer",
        reader="suite (admin)",
        description=(
            "One hotel's entries of any other stream that failed their last delivery or could "
            "not be decoded (the hotel is the stream's, or the envelope's `hotel`); entries "
            f"that name no hotel go to the shared `{DEFAULT_PREFIX}:dead`, where older versions "
            "buried every hotel's (the suite moves those to their hotel's stream when it "
            "starts). Not an envelope: each entry has the fields "
            + ", ".join(f"`{name}`" for name in DeadLetter.model_fields if name != "id")
            + f" (`payload` is the original entry's `{ENTRY_FIELD.decode()}`)."
        ),
    ),
}
"""Every stream, by channel id; the keys of :data:`STREAM_EVENT_TYPES` plus ``dead``."""

_INFO_DESCRIPTION: Final = (
    "Begasist's event contract on Redis Streams. Every entry (but the dead letters') has one "
    f"field, `{ENTRY_FIELD.decode()}`, holding one JSON envelope "
    "(`v`, `id`, `type`, `hotel`, `ts`, `key`, `data`). "
    "Delivery is at-least-once through consumer groups; `key` is the idempotency key. "
    f"Stream names start with a configurable prefix, `{DEFAULT_PREFIX}` by default. "
    + GENERATED_NOTE
)


def _first_line(model: type[BaseModel]) -> str:
    return (inspect.getdoc(model) or model.__name__).splitlines()[0]


def _data_model(event_model: type[BaseModel]) -> type[BaseModel]:
    annotation = event_model.model_fields["data"].annotation
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        raise TypeError(f"{event_model.__name__}.data is not a model")
    return annotation


def _messages() -> dict[str, Any]:
    examples = example_events()
    messages: dict[str, Any] = {}
    for event_type, model in EVENT_TYPES.items():
        example = json.loads(encode_event(examples[event_type]))
        messages[event_type] = {
            "name": event_type,
            "title": model.__name__,
            "summary": _first_line(_data_model(model)),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
            "examples": [{"name": f"{event_type} example", "payload": example}],
        }
    return messages


def _channels() -> dict[str, Any]:
    if set(STREAMS) != {*STREAM_EVENT_TYPES, "dead"}:
        raise LookupError("STREAMS must describe exactly the streams of STREAM_EVENT_TYPES + dead")
    channels: dict[str, Any] = {}
    for stream, roles in STREAMS.items():
        channel: dict[str, Any] = {
            "address": roles.address,
            "title": f"{stream} stream",
            "description": (
                f"{roles.description} Written by {roles.writer}, read by {roles.reader}."
            ),
            "servers": [_SERVER_REF],
            "messages": {
                event_type: {"$ref": f"#/components/messages/{event_type}"}
                for event_type in STREAM_EVENT_TYPES.get(stream, ())
            },
        }
        if roles.per_hotel:
            channel["parameters"] = {
                "hotel": {
                    "description": "The hotel's slug: 1-40 of a-z, 0-9 and '-'.",
                    "examples": ["plaza"],
                }
            }
        channels[stream] = channel
    return channels


def _operations(channels: dict[str, Any]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for stream, roles in STREAMS.items():
        message_refs = [
            {"$ref": f"#/channels/{stream}/messages/{event_type}"}
            for event_type in channels[stream]["messages"]
        ]
        for action, verb, phrase, who in (
            ("send", "publish", "publishes to", roles.writer),
            ("receive", "consume", "consumes", roles.reader),
        ):
            operation: dict[str, Any] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{stream}"},
                "title": f"{who[0].upper()}{who[1:]} {phrase} {stream}",
                "summary": f"{roles.writer} -> {roles.reader}",
            }
            if message_refs:
                operation["messages"] = message_refs
            operations[f"{verb}{stream.capitalize()}"] = operation
    return operations


def _schemas() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "serialization") for model in EVENT_TYPES.values()],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    schemas: dict[str, Any] = definitions["$defs"]
    return {name: _asyncapi_discriminators(schema) for name, schema in schemas.items()}


def _asyncapi_discriminators(node: Any) -> Any:
    """*node* with every OpenAPI-style ``discriminator`` object (pydantic's, for a tagged
    union) as AsyncAPI's own form: the name of the property that tells them apart."""
    if isinstance(node, list):
        return [_asyncapi_discriminators(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _asyncapi_discriminators(value) for key, value in node.items()}
    discriminator = node.get("discriminator")
    if isinstance(discriminator, dict) and "propertyName" in discriminator:
        converted["discriminator"] = discriminator["propertyName"]
    return converted


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document, as plain JSON-ready data."""
    channels = _channels()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Begasist events",
            "version": str(ENVELOPE_VERSION),
            "description": _INFO_DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "redis": {
                "host": "{host}:{port}",
                "protocol": "redis",
                "protocolVersion": "7.0",
                "description": (
                    "Redis 7 in production (with AOF); the embedded Valkey in development."
                ),
                "variables": {
                    "host": {"default": "localhost", "description": "The Redis host."},
                    "port": {"default": "6379", "description": "The Redis port."},
                },
            }
        },
        "channels": channels,
        "operations": _operations(channels),
        "components": {"schemas": _schemas(), "messages": _messages()},
    }
