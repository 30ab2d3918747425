"""JSON Schema (draft 2020-12) of the events and the shared models, generated from pydantic.

The schemas describe the JSON that Begasist *writes*: pydantic's serialization
mode, with every field required, because the writers always emit every field
(defaults included). A reader accepts slightly more (a field with a default may
be missing), so a third-party writer that follows these schemas is always
understood, and a third-party reader may rely on every field being present.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from begasist_core.events.codec import EVENT_TYPES
from begasist_core.events.envelope import Event
from begasist_core.models.conversations import Conversation
from begasist_core.models.messages import GuestIdentity, Message
from begasist_core.models.settings import ChannelSettings

__all__ = [
    "GENERATED_NOTE",
    "JSON_SCHEMA_DIALECT",
    "SHARED_MODELS",
    "WireJsonSchema",
    "event_schema",
    "event_type_schemas",
    "shared_model_schemas",
]

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

GENERATED_NOTE: Final = (
    "Generated from the begasist-core models by `hatch run schema`; do not edit by hand."
)

SHARED_MODELS: Final[dict[str, type[BaseModel]]] = {
    "message": Message,
    "conversation": Conversation,
    "guest-identity": GuestIdentity,
    "channel-settings": ChannelSettings,
}
"""The shared models that get a document of their own, by file stem."""

JsonSchema = dict[str, Any]


class WireJsonSchema(GenerateJsonSchema):
    """Serialization-mode schemas in which a field with a default is still required.

    pydantic offers this as the ``json_schema_serialization_defaults_required``
    model setting; doing it here keeps the choice in one place, for every model.
    """

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization" and field.get("serialization_exclude_if") is None:
            return True
        return super().field_is_required(field, total)


def _standalone(schema: JsonSchema) -> JsonSchema:
    return {"$schema": JSON_SCHEMA_DIALECT, "$comment": GENERATED_NOTE, **schema}


def event_schema() -> JsonSchema:
    """Any event: the envelope union, told apart by ``type``."""
    adapter: TypeAdapter[Event] = TypeAdapter(Event)
    schema = adapter.json_schema(mode="serialization", schema_generator=WireJsonSchema)
    return _standalone({"title": "Event", **schema})


def event_type_schemas() -> dict[str, JsonSchema]:
    """One schema per event type (envelope and ``data``), by type string."""
    return {
        event_type: _standalone(
            model.model_json_schema(mode="serialization", schema_generator=WireJsonSchema)
        )
        for event_type, model in EVENT_TYPES.items()
    }


def shared_model_schemas() -> dict[str, JsonSchema]:
    """One schema per shared model, by the file stem in :data:`SHARED_MODELS`."""
    return {
        stem: _standalone(
            model.model_json_schema(mode="serialization", schema_generator=WireJsonSchema)
        )
        for stem, model in SHARED_MODELS.items()
    }
