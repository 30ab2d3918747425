"""Generated documents of the event contract: JSON Schema and AsyncAPI, and their drift check.

``channelbot schema --out docs/schema`` writes them; ``--check`` reports drift.
"""

from begasist_core.schema.asyncapi import asyncapi_document
from begasist_core.schema.documents import (
    check_schema_documents,
    render_document,
    schema_documents,
    write_schema_documents,
)
from begasist_core.schema.examples import example_events
from begasist_core.schema.json_schemas import (
    event_schema,
    event_type_schemas,
    shared_model_schemas,
)

__all__ = [
    "asyncapi_document",
    "check_schema_documents",
    "event_schema",
    "event_type_schemas",
    "example_events",
    "render_document",
    "schema_documents",
    "shared_model_schemas",
    "write_schema_documents",
]
