"""A channel's settings form, generated from the plugin's settings model and its JSON Schema.

Each field of the model becomes one input: its label and help come from the
schema's title and description, its kind from the schema's type (text, number,
checkbox, a choice for an enum, a text area for long text or a list, JSON for
anything nested). Secret fields are write-only: the form says whether one is
set and offers Replace (a password input) and Clear (a checkbox), never the
value. :func:`form_changes` reads a posted form back into the changes to apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from begasist_core import FieldTranslation
from begasist_core.models.translations import translated_fields
from litestar.datastructures import FormMultiDict
from pydantic import BaseModel

from begasist_suite.channel_settings import secret_fields

__all__ = [
    "CLEAR_SUFFIX",
    "HIDDEN_FIELDS",
    "SettingsField",
    "Widget",
    "form_changes",
    "help_parts",
    "settings_fields",
]

Widget = Literal[
    "text", "url", "number", "checkbox", "select", "textarea", "lines", "json", "secret"
]

HIDDEN_FIELDS: Final = frozenset({"enabled"})
"""Fields with a form of their own (Enable / Disable), left out of the settings form."""
CLEAR_SUFFIX: Final = ".clear"
"""``<secret>.clear``: the Clear checkbox of a secret field."""
LONG_TEXT: Final = 500
"""Strings allowed to be longer than this get a text area (a PEM certificate, a template)."""
_ACRONYMS: Final = {
    "api": "API",
    "ca": "CA",
    "id": "ID",
    "imap": "IMAP",
    "pem": "PEM",
    "smtp": "SMTP",
    "tls": "TLS",
    "url": "URL",
    "waba": "WABA",
}


@dataclass(frozen=True)
class SettingsField:
    """One input of the form, with what the page shows in it."""

    name: str
    label: str
    help: str
    widget: Widget
    required: bool = False
    nullable: bool = False
    choices: tuple[str, ...] = ()
    choice_labels: tuple[tuple[str, str], ...] = ()
    """(value, label) of the choices the plugin translated into the person's language."""
    minimum: float | None = None
    maximum: float | None = None
    step: str | None = None
    max_length: int | None = None
    moves_secrets: bool = False
    """Changing it needs every stored secret sent again (the model's ``secret_destinations``)."""
    secret_set: bool = False
    value: str = ""
    """The input's text (a checkbox: "on" when ticked)."""
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def checked(self) -> bool:
        return self.value == "on"

    def choice_label(self, value: str, fallback: str) -> str:
        """The plugin's label of *value* in the person's language, else *fallback*."""
        return dict(self.choice_labels).get(value, fallback)


def help_parts(text: str) -> list[tuple[bool, str]]:
    """*text* split at ````code```` marks: (is_code, part) pairs, for the page to set in type."""
    return [(index % 2 == 1, part) for index, part in enumerate(text.split("``")) if part]


def settings_fields(
    model: type[BaseModel],
    values: Mapping[str, Any],
    secrets_set: Mapping[str, bool],
    language: str = "en",
) -> list[SettingsField]:
    """The form's fields in the model's order, showing *values* (the stored settings;
    a field without one shows its default).

    Labels, help and choice labels are the plugin's translations into *language*
    (the model's ``translations``) where it gives them, the schema's text otherwise.
    """
    schema = model.model_json_schema()
    translated = translated_fields(model, language)
    definitions: dict[str, Any] = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    secrets = secret_fields(model)
    moving: frozenset[str] = getattr(model, "secret_destinations", frozenset())
    fields = []
    for name, raw in schema.get("properties", {}).items():
        if name in HIDDEN_FIELDS:
            continue
        spec, nullable = _resolved(raw, definitions)
        text = translated.get(name, FieldTranslation())
        base = SettingsField(
            name=name,
            label=text.title or _label(name, raw.get("title")),
            help=" ".join((text.description or raw.get("description") or "").split()),
            choice_labels=tuple(text.choices.items()),
            widget="secret" if name in secrets else _widget(spec),
            required=name in required,
            nullable=nullable,
            moves_secrets=name in moving,
        )
        value = values[name] if name in values else raw.get("default", spec.get("default"))
        fields.append(_with_limits(base, spec, value, secrets_set.get(name, False)))
    return fields


def _resolved(
    raw: Mapping[str, Any], definitions: Mapping[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The field's own schema (``$ref`` followed, ``T | None`` unwrapped) and its nullability."""
    spec = dict(raw)
    nullable = False
    options = spec.get("anyOf")
    if isinstance(options, list):
        kept = [option for option in options if option.get("type") != "null"]
        nullable = len(kept) < len(options)
        if len(kept) == 1:
            spec = {**{k: v for k, v in spec.items() if k != "anyOf"}, **kept[0]}
    reference = spec.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        spec = {**definitions.get(reference.removeprefix("#/$defs/"), {}), **spec}
        spec.pop("$ref")
    return spec, nullable


def _widget(spec: Mapping[str, Any]) -> Widget:
    kind = spec.get("type")
    if "enum" in spec:
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "string":
        if spec.get("format") == "uri":
            return "url"
        long_text = spec.get("maxLength", 0) > LONG_TEXT and "pattern" not in spec
        return "textarea" if long_text else "text"
    items = spec.get("items")
    if kind == "array" and isinstance(items, dict) and items.get("type") in ("string", "number"):
        return "lines"
    return "json"


def _label(name: str, title: str | None) -> str:
    """The schema's title, unless it is pydantic's made-up one ("Imap Host" -> "IMAP host")."""
    if title and title != name.replace("_", " ").title():
        return title
    words = [_ACRONYMS.get(word, word) for word in name.split("_")]
    first = words[0] if words[0] in _ACRONYMS.values() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def _with_limits(
    base: SettingsField, spec: Mapping[str, Any], value: Any, secret_set: bool
) -> SettingsField:
    minimum = spec.get("minimum", spec.get("exclusiveMinimum"))
    maximum = spec.get("maximum", spec.get("exclusiveMaximum"))
    return replace(
        base,
        choices=tuple(str(choice) for choice in spec.get("enum", ())),
        minimum=minimum,
        maximum=maximum,
        step="1" if spec.get("type") == "integer" else "any",
        max_length=spec.get("maxLength"),
        secret_set=secret_set,
        value="" if base.widget == "secret" else _shown(base.widget, value),
    )


def _shown(widget: Widget, value: Any) -> str:
    """A stored value as its input shows it."""
    if widget == "checkbox":
        return "on" if value is True else ""
    if value is None:
        return ""
    if widget == "lines" and isinstance(value, list | tuple):
        return "\n".join(str(item) for item in value)
    if widget == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


def form_changes(
    fields: list[SettingsField], form: FormMultiDict
) -> tuple[dict[str, Any], list[SettingsField], dict[str, str]]:
    """What the posted settings form changes, the fields as posted, and the fields it
    could not read (name -> error type, before the plugin's validation).

    A blank secret keeps the stored one, a typed one replaces it, Clear removes it.
    A checkbox not posted is off. A blank optional field is None.
    """
    changes: dict[str, Any] = {}
    posted: list[SettingsField] = []
    unreadable: dict[str, str] = {}
    for spec in fields:
        raw = form.get(spec.name)
        text = raw if isinstance(raw, str) else ""
        if spec.widget == "secret":
            if form.get(spec.name + CLEAR_SUFFIX):
                changes[spec.name] = None
            elif text:
                changes[spec.name] = text
            posted.append(spec)
            continue
        if spec.widget == "checkbox":
            changes[spec.name] = raw is not None
            posted.append(replace(spec, value="on" if raw is not None else ""))
            continue
        if raw is None:
            posted.append(spec)  # not in this form: left as it is
            continue
        posted.append(replace(spec, value=text))
        try:
            changes[spec.name] = _parsed(spec, text)
        except ValueError:
            unreadable[spec.name] = "json_invalid"
    return changes, posted, unreadable


_LINE_BREAKS = re.compile(r"\r\n?")


def _parsed(spec: SettingsField, text: str) -> Any:
    """The value of an input's text; pydantic converts numbers and checks the rest."""
    text = _LINE_BREAKS.sub("\n", text)
    if not text.strip() and spec.nullable:
        return None
    if spec.widget == "lines":
        return [line.strip() for line in text.split("\n") if line.strip()]
    if spec.widget == "json":
        return json.loads(text)
    if spec.widget in ("number", "select", "url"):
        return text.strip()
    return text
