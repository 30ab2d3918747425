"""A settings model's field titles, help and choice labels in other languages, for the admin form.

A channel's settings form is generated from its model's JSON Schema, in the
language the model was written in (a field's docstring is its help). A
plugin gives other languages in the model's ``translations``: language code
-> field name -> :class:`FieldTranslation`. The suite's form shows them in the
person's language and falls back to the schema's text for whatever is not
translated; the conformance kit checks them with :func:`translation_errors`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LANGUAGE_CODE",
    "FieldTranslation",
    "field_choices",
    "translated_fields",
    "translation_errors",
]

LANGUAGE_CODE: Final = re.compile(r"^[a-z]{2,3}$")
"""A lowercase ISO 639 code (``es``, ``en``, ``pt``), as the suite's languages are named."""


class FieldTranslation(BaseModel):
    """One field's text in one language; what is left out falls back to the schema's text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    """The field's label."""
    description: str | None = Field(default=None, min_length=1, max_length=2000)
    """Its help text (``code`` between double backquotes is set in type, as in docstrings)."""
    choices: Mapping[str, str] = Field(default_factory=dict)
    """Choice value -> its label, for a field with a fixed set of values (an enum, a Literal)."""


def translated_fields(model: type[BaseModel], language: str) -> dict[str, FieldTranslation]:
    """Field name -> its text in *language* from *model*'s ``translations`` (none if it has none).

    Entries that are not a :class:`FieldTranslation` of a field of the model are
    skipped: a stale translation must not break the form (the kit reports it).
    """
    table = _table(model).get(language)
    if not isinstance(table, Mapping):
        return {}
    return {
        name: text
        for name, text in table.items()
        if name in model.model_fields and isinstance(text, FieldTranslation)
    }


def field_choices(model: type[BaseModel], name: str) -> frozenset[str] | None:
    """The values the field *name* accepts as its schema lists them (None: no fixed set)."""
    schema = model.model_json_schema()
    spec: Any = schema.get("properties", {}).get(name, {})
    options = spec.get("anyOf", [spec])
    values: set[str] = set()
    found = False
    for option in options:
        reference = option.get("$ref", "")
        if reference.startswith("#/$defs/"):
            option = schema.get("$defs", {}).get(reference.removeprefix("#/$defs/"), {})
        if "enum" in option:
            found = True
            values.update(str(value) for value in option["enum"])
        elif "const" in option:
            found = True
            values.add(str(option["const"]))
    return frozenset(values) if found else None


def translation_errors(model: type[BaseModel]) -> list[str]:
    """What is wrong with *model*'s ``translations``: codes, unknown fields and choices, types."""
    raw: object = getattr(model, "translations", {})
    if not isinstance(raw, Mapping):
        return ["translations must map a language code to {field name: FieldTranslation}"]
    errors: list[str] = []
    for language, table in raw.items():
        if not (isinstance(language, str) and LANGUAGE_CODE.match(language)):
            errors.append(f"{language!r} is not a lowercase ISO 639 language code (es, en)")
        if not isinstance(table, Mapping):
            errors.append(f"translations[{language!r}] must map field names to FieldTranslation")
            continue
        for name, text in table.items():
            where = f"translations[{language!r}][{name!r}]"
            if name not in model.model_fields:
                errors.append(f"{where}: {name!r} is not a field of {model.__qualname__}")
                continue
            if not isinstance(text, FieldTranslation):
                errors.append(f"{where} must be a FieldTranslation, not {type(text).__name__}")
                continue
            if text.title is None and text.description is None and not text.choices:
                errors.append(f"{where} translates nothing")
            errors.extend(_choice_errors(model, name, text, where))
    return errors


def _choice_errors(
    model: type[BaseModel], name: str, text: FieldTranslation, where: str
) -> list[str]:
    if not text.choices:
        return []
    accepted = field_choices(model, name)
    if accepted is None:
        return [f"{where}: {name!r} has no fixed choices to label"]
    errors = [
        f"{where}: {value!r} is not a choice of {name!r} ({', '.join(sorted(accepted))})"
        for value in sorted(set(text.choices) - accepted)
    ]
    errors.extend(f"{where}: the label of {v!r} is empty" for v, t in text.choices.items() if not t)
    return errors


def _table(model: type[BaseModel]) -> Mapping[str, Any]:
    raw: object = getattr(model, "translations", {})
    return raw if isinstance(raw, Mapping) else {}
