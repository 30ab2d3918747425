"""A hotel's channel settings: validated by the plugin's model, secrets encrypted and write-only."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from begasist_core import ChannelSettings
from begasist_core.models.secret_destinations import secret_destination_fields
from pydantic import BaseModel, SecretStr, ValidationError

from begasist_suite.secret_box import SecretBox, UndecryptableSecret
from begasist_suite.store.records import ChannelApp, ChannelConfig

__all__ = [
    "InvalidSettings",
    "SettingsView",
    "app_settings",
    "apply_app_settings_update",
    "apply_settings_update",
    "bot_settings",
    "secret_fields",
    "settings_view",
]

ModelT = TypeVar("ModelT", bound=BaseModel)


class InvalidSettings(ValueError):
    """The settings do not validate; ``errors`` are the plugin model's field errors, no values."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class SettingsView(BaseModel):
    """What the API shows of a channel's settings: secrets only as set / unset."""

    channel: str
    settings: dict[str, Any]
    secrets: dict[str, bool]
    """Secret field -> whether it is set; the value is never shown."""
    updated_at: str | None = None


def _is_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_secret(argument) for argument in typing.get_args(annotation))
    return False


def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of *model* declared as ``SecretStr`` (optionally ``| None``)."""
    return frozenset(
        name for name, field in model.model_fields.items() if _is_secret(field.annotation)
    )


def apply_settings_update(
    model: type[ChannelSettings],
    hotel: str,
    channel: str,
    body: Mapping[str, Any],
    stored: ChannelConfig | None,
    box: SecretBox,
    *,
    route_key: Callable[[ChannelSettings], str | None] | None = None,
) -> ChannelConfig:
    """The new stored config after a PUT of *body*; raises :class:`InvalidSettings`.

    Non-secret fields are replaced by *body* (absent ones take their defaults).
    A secret field absent from *body* keeps its stored value, ``null`` clears
    it, a string sets it. *route_key* (the plugin's) computes the key the
    settings answer to on the shared webhook URL.
    """
    validated, settings, kept = _validated_update(
        model, body, stored.secrets if stored else {}, box
    )
    if stored is not None:
        _check_secret_destinations(model, body, stored.settings, settings, kept)
    return ChannelConfig(
        hotel=hotel,
        channel=channel,
        settings=settings,
        secrets=kept,
        route_key=None if route_key is None else route_key(validated),
    )


def _check_secret_destinations(
    model: type[BaseModel],
    body: Mapping[str, Any],
    stored: Mapping[str, Any],
    settings: Mapping[str, Any],
    kept: Mapping[str, str],
) -> None:
    """Refuse moving where secrets go without sending them again.

    The fields are the model's ``secret_destinations`` and any field that
    looks like a destination and is not exempted (``not_secret_destinations``),
    so a plugin that forgot to declare one is protected all the same. Every
    secret that would stay stored must be in *body*: then it is the sender's
    own, not one they could not read.
    """
    moved = sorted(
        name for name in secret_destination_fields(model) if stored.get(name) != settings.get(name)
    )
    if not moved:
        return
    resent = {name for name in secret_fields(model) & set(body) if isinstance(body[name], str)}
    missing = sorted(set(kept) - resent)
    if missing:
        raise InvalidSettings(
            [
                {
                    "loc": [name],
                    "msg": f"changing {', '.join(moved)} needs this secret sent again",
                    "type": "secret_required",
                }
                for name in missing
            ]
        )


def apply_app_settings_update(
    model: type[BaseModel],
    channel: str,
    body: Mapping[str, Any],
    stored: ChannelApp | None,
    box: SecretBox,
) -> ChannelApp:
    """The operator's app settings after a PUT of *body*, as :func:`apply_settings_update`
    (where the app's secrets go changes only with them sent again, too)."""
    _, settings, kept = _validated_update(model, body, stored.secrets if stored else {}, box)
    if stored is not None:
        _check_secret_destinations(model, body, stored.settings, settings, kept)
    return ChannelApp(channel=channel, settings=settings, secrets=kept)


def _validated_update(
    model: type[ModelT], body: Mapping[str, Any], stored: Mapping[str, str], box: SecretBox
) -> tuple[ModelT, dict[str, Any], dict[str, str]]:
    """The validated model, its stored plain fields and its encrypted secrets after *body*."""
    secrets = secret_fields(model)
    kept = dict(stored)
    clear: dict[str, str] = {}
    for field in secrets & set(body):
        value = body[field]
        if value is None:
            kept.pop(field, None)
        elif isinstance(value, str):
            kept[field] = box.encrypt(value)
            clear[field] = value
        else:
            raise InvalidSettings(
                [
                    {
                        "loc": [field],
                        "msg": "a secret must be a string or null",
                        "type": "string_type",
                    }
                ]
            )
    plain = {key: value for key, value in body.items() if key not in secrets}
    unreadable: list[dict[str, Any]] = []
    for field, value in kept.items():
        if field in clear:
            continue
        try:
            clear[field] = box.decrypt(value)
        except UndecryptableSecret:
            # Stored under another BEGASIST_SECRET_KEY: the way out is to send it again.
            unreadable.append(
                {
                    "loc": [field],
                    "msg": "the stored secret does not decrypt with this BEGASIST_SECRET_KEY; "
                    "send it again",
                    "type": "secret_undecryptable",
                }
            )
    if unreadable:
        raise InvalidSettings(unreadable)
    candidate = {**plain, **clear}
    try:
        validated = model.model_validate(candidate)
    except ValidationError as error:
        raise InvalidSettings(
            [
                {"loc": list(detail["loc"]), "msg": detail["msg"], "type": detail["type"]}
                for detail in error.errors(include_input=False, include_url=False)
            ]
        ) from None
    settings = validated.model_dump(mode="json", exclude=set(secrets))
    return validated, settings, kept


def settings_view(
    model: type[BaseModel] | None, config: ChannelConfig | ChannelApp
) -> SettingsView:
    secrets = secret_fields(model) if model is not None else frozenset(config.secrets)
    return SettingsView(
        channel=config.channel,
        settings=dict(config.settings),
        secrets={field: field in config.secrets for field in sorted(secrets | set(config.secrets))},
        updated_at=config.updated_at.isoformat(),
    )


def bot_settings(config: ChannelConfig, box: SecretBox) -> dict[str, Any]:
    """The settings a bot needs, secrets decrypted: only for the bot endpoint."""
    return {**config.settings, **{f: box.decrypt(v) for f, v in config.secrets.items()}}


def app_settings(app: ChannelApp, box: SecretBox) -> dict[str, Any]:
    """The operator's app settings, secrets decrypted: only for verifying webhooks."""
    return {**app.settings, **{f: box.decrypt(v) for f, v in app.secrets.items()}}
