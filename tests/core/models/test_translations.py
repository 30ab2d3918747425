"""A settings model's translations: looked up by language, checked field by field."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, Literal

from begasist_core import ChannelSettings, FieldTranslation
from begasist_core.models.translations import (
    field_choices,
    translated_fields,
    translation_errors,
)


class Region(StrEnum):
    EU = "eu"
    US = "us"


class Translated(ChannelSettings):
    translations: ClassVar[Mapping[str, Mapping[str, FieldTranslation]]] = {
        "es": {
            "api_token": FieldTranslation(title="Token de la API"),
            "region": FieldTranslation(choices={"eu": "Europa", "us": "Estados Unidos"}),
            "transport": FieldTranslation(description="Cómo se conecta", choices={"a": "A"}),
        }
    }
    api_token: str = ""
    region: Region = Region.EU
    transport: Literal["a", "b"] | None = None


def test_the_translations_of_a_language_by_field() -> None:
    spanish = translated_fields(Translated, "es")
    assert spanish["api_token"].title == "Token de la API"
    assert spanish["region"].choices == {"eu": "Europa", "us": "Estados Unidos"}
    assert translated_fields(Translated, "en") == {}
    assert translated_fields(ChannelSettings, "es") == {}


def test_the_choices_of_enums_and_literals() -> None:
    assert field_choices(Translated, "region") == {"eu", "us"}
    assert field_choices(Translated, "transport") == {"a", "b"}
    assert field_choices(Translated, "mode") == {"automatic", "supervised", "manual"}
    assert field_choices(Translated, "api_token") is None


def test_well_formed_translations_have_no_errors() -> None:
    assert translation_errors(Translated) == []
    assert translation_errors(ChannelSettings) == []


def with_translations(table: Any) -> type[ChannelSettings]:
    class Model(Translated):
        translations: ClassVar[Any] = table

    return Model


def test_a_translation_of_no_field_is_an_error_and_skipped() -> None:
    stale = with_translations({"es": {"api_tokn": FieldTranslation(title="Token")}})
    (error,) = translation_errors(stale)
    assert "'api_tokn' is not a field" in error
    assert translated_fields(stale, "es") == {}


def test_every_malformed_entry_is_reported() -> None:
    broken = with_translations(
        {
            "Spanish": {"api_token": FieldTranslation(title="Token")},
            "es": {
                "api_token": {"title": "Token"},
                "region": FieldTranslation(choices={"asia": "Asia", "eu": ""}),
                "transport": FieldTranslation(),
                "enabled": FieldTranslation(choices={"yes": "Sí"}),
            },
            "fr": ["not", "a", "mapping"],
        }
    )
    errors = "\n".join(translation_errors(broken))
    assert "'Spanish' is not a lowercase ISO 639 language code" in errors
    assert "translations['es']['api_token'] must be a FieldTranslation, not dict" in errors
    assert "'asia' is not a choice of 'region' (eu, us)" in errors
    assert "the label of 'eu' is empty" in errors
    assert "translations['es']['transport'] translates nothing" in errors
    assert "'enabled' has no fixed choices to label" in errors
    assert "translations['fr'] must map field names" in errors
    assert set(translated_fields(broken, "es")) == {"region", "transport", "enabled"}
