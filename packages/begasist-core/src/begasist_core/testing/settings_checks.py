"""The conformance kit's settings checks: the model, its secrets and where they may go.

:class:`~begasist_core.testing.ChannelConformance` inherits these; they need
only ``channel_class`` and the ``channel_settings`` fixture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final

import pytest
from pydantic import BaseModel, ValidationError

from begasist_core.models.secret_destinations import (
    declaration_errors,
    is_secret_type,
    undeclared_destinations,
    walk_fields,
)
from begasist_core.models.settings import ChannelSettings
from begasist_core.models.translations import translation_errors
from begasist_core.plugins.channel import Channel

__all__ = ["SECRET_FIELD_PATTERN", "SettingsChecks"]

SECRET_FIELD_PATTERN: Final = re.compile(
    r"secret|token|passw(or)?d|passphrase|credential|private|(^|_)(api_?)?key($|_)|apikey",
    re.IGNORECASE,
)
"""Settings field names that must be ``SecretStr`` (exempt one with ``not_secret_fields``)."""


class SettingsChecks:
    """The settings part of the contract; use it through ``ChannelConformance``."""

    channel_class: ClassVar[type[Channel[Any]]]
    not_secret_fields: ClassVar[frozenset[str]] = frozenset()
    """Settings fields whose names look secret but are not (``key_id``)."""

    def test_settings_extend_channel_settings(self) -> None:
        settings = self.channel_class.Settings
        assert isinstance(settings, type)
        assert issubclass(settings, ChannelSettings)

    def test_settings_validate_the_given_settings(
        self, channel_settings: Mapping[str, Any]
    ) -> None:
        settings = self.channel_class.Settings.model_validate(dict(channel_settings))
        assert isinstance(settings, self.channel_class.Settings)

    def test_settings_json_schema_builds(self) -> None:
        """The admin form and the API validation are generated from this schema."""
        schema = self.channel_class.Settings.model_json_schema()
        assert schema["type"] == "object"

    def test_secret_looking_fields_are_secret_str(self) -> None:
        offending = [
            path
            for path, annotation in walk_fields(self.channel_class.Settings)
            if _looks_secret(path, self.not_secret_fields) and not is_secret_type(annotation)
        ]
        assert not offending, f"declare these settings as SecretStr: {', '.join(offending)}"

    def test_settings_declare_where_secrets_go(self) -> None:
        """Every host, port, URL or TLS setting of a model with secrets is declared."""
        _assert_destinations_declared(self.channel_class.Settings, "Settings")

    def test_app_settings_declare_where_secrets_go(self) -> None:
        """The same for the operator's ``AppSettings`` of a shared webhook URL."""
        app_settings = self.channel_class.AppSettings
        if app_settings is None:
            pytest.skip("the channel has no AppSettings")
        _assert_destinations_declared(app_settings, "AppSettings")

    def test_settings_translations_name_real_fields(self) -> None:
        """Every translated title, help text and choice label (``Settings.translations``)
        belongs to a field, and a choice, of the model: a renamed field leaves none behind."""
        errors = translation_errors(self.channel_class.Settings)
        assert not errors, (
            f"Settings {self.channel_class.Settings.__qualname__}.translations: "
            + "; ".join(errors)
            + " (docs/plugins.md, Translating the settings form)"
        )

    def test_secrets_never_appear_in_repr_or_json(
        self, channel_settings: Mapping[str, Any]
    ) -> None:
        raw = dict(channel_settings)
        secrets = {
            name: value
            for name, value in raw.items()
            if _looks_secret(name, self.not_secret_fields) and isinstance(value, str) and value
        }
        for name, annotation in walk_fields(self.channel_class.Settings):
            if "." not in name and is_secret_type(annotation) and name not in secrets:
                canary = {**raw, name: f"canary-{name}-c4f1e9d2"}
                try:
                    self.channel_class.Settings.model_validate(canary)
                except ValidationError:
                    continue  # its own constraints refuse the canary: nothing to check with
                raw, secrets[name] = canary, canary[name]
        settings = self.channel_class.Settings.model_validate(raw)
        renderings = {
            "repr()": repr(settings),
            "str()": str(settings),
            "model_dump_json()": settings.model_dump_json(),
            "model_dump(mode='json')": json.dumps(settings.model_dump(mode="json")),
        }
        leaks = [
            f"{name} in {how}"
            for name, secret in secrets.items()
            for how, text in renderings.items()
            if secret in text
        ]
        assert not leaks, f"secrets leak: {'; '.join(leaks)}"


def _assert_destinations_declared(model: type[BaseModel], label: str) -> None:
    errors = declaration_errors(model)
    assert not errors, f"{label} {model.__qualname__}: {'; '.join(errors)}"
    undeclared = undeclared_destinations(model)
    lines = [
        f"{candidate.path} ({candidate.why})"
        + (f" in {candidate.field}" if candidate.path != candidate.field else "")
        for candidate in undeclared
    ]
    names = ", ".join(repr(name) for name in sorted({c.field for c in undeclared}))
    assert not undeclared, (
        f"{label} {model.__qualname__} has secrets, and settings that look like they decide "
        f"where the secrets are sent or what TLS trusts: {'; '.join(lines)}. Whoever may edit "
        "settings cannot read the secrets and must not redirect them: declare "
        f"secret_destinations: ClassVar[frozenset[str]] = frozenset({{{names}}}) so that "
        "changing one needs the secrets sent again; or name a field that is not a destination "
        "in not_secret_destinations: ClassVar[Mapping[str, str]] = {field: reason} "
        "(docs/plugins.md, Settings and secrets)."
    )


def _looks_secret(path: str, exempt: frozenset[str]) -> bool:
    name = path.rsplit(".", 1)[-1]
    return path not in exempt and SECRET_FIELD_PATTERN.search(name) is not None
