"""A JSON Schema check for the generated documents, and where the checked-in ones live."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

SchemaErrors = Callable[[dict[str, Any], Any], list[str]]
"""(schema document, instance) -> the errors found; empty when the instance is valid."""

_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
}


def resolve_pointer(document: Any, ref: str) -> Any:
    """The node a local ``#/a/b`` reference points at (KeyError if none)."""
    if not ref.startswith("#"):
        raise KeyError(f"{ref!r} is not a reference within the document")
    node = document
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def structural_errors(
    root: dict[str, Any], schema: dict[str, Any], value: Any, at: str
) -> list[str]:
    """The subset of JSON Schema pydantic emits, checked without the jsonschema library.

    Used only when jsonschema is not installed in the test environment.
    """
    if "$ref" in schema:
        return structural_errors(root, resolve_pointer(root, schema["$ref"]), value, at)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            matches = [not structural_errors(root, option, value, at) for option in schema[keyword]]
            if sum(matches) == 0 or (keyword == "oneOf" and sum(matches) > 1):
                return [f"{at}: {sum(matches)} of the {keyword} options match"]
    errors: list[str] = []
    if "type" in schema and not _JSON_TYPES[schema["type"]](value):
        return [f"{at}: {value!r} is not of type {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get(
            "maxLength", len(value)
        ):
            errors.append(f"{at}: length {len(value)} is out of bounds")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{at}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, int | float) and value < schema.get("minimum", value):
        errors.append(f"{at}: {value} is below {schema['minimum']}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += structural_errors(root, schema["items"], item, f"{at}/{index}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [
            f"{at}: {name!r} is required"
            for name in schema.get("required", ())
            if name not in value
        ]
        for name, item in value.items():
            if name in properties:
                errors += structural_errors(root, properties[name], item, f"{at}/{name}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{at}: {name!r} is not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += structural_errors(
                    root, schema["additionalProperties"], item, f"{at}/{name}"
                )
    return errors


@pytest.fixture(scope="session")
def resolve_ref() -> Callable[[Any, str], Any]:
    """:func:`resolve_pointer`, for tests that follow references by hand."""
    return resolve_pointer


@pytest.fixture(scope="session")
def schema_errors() -> SchemaErrors:
    """jsonschema's Draft 2020-12 validator when installed, else :func:`structural_errors`."""
    try:
        import jsonschema
    except ImportError:
        return lambda schema, value: structural_errors(schema, schema, value, "")

    def validate(schema: dict[str, Any], value: Any) -> list[str]:
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        return [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(value)
        ]

    return validate
