"""What one plugin registers, checked class by class before the host accepts any of it."""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel

from begasist_core.models.names import InvalidName, validate_channel_name
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.channel import Capabilities, Channel
from begasist_core.plugins.errors import PluginLoadError
from begasist_core.plugins.responder import Responder

__all__ = ["Registrations", "check_channel_class", "check_responder_class"]


def check_channel_class(candidate: object) -> type[Channel[Any]]:
    """*candidate* if it is a concrete, fully declared Channel subclass, else PluginLoadError."""
    if not (isinstance(candidate, type) and issubclass(candidate, Channel)):
        raise PluginLoadError(f"{candidate!r} is not a Channel subclass")
    label = f"channel class {candidate.__module__}.{candidate.__qualname__}"
    if inspect.isabstract(candidate):
        missing = ", ".join(sorted(getattr(candidate, "__abstractmethods__", ())))
        raise PluginLoadError(f"{label} is abstract (it does not implement {missing})")
    _check_name(label, getattr(candidate, "name", None))
    settings = getattr(candidate, "Settings", None)
    if not (isinstance(settings, type) and issubclass(settings, ChannelSettings)):
        raise PluginLoadError(f"{label}: Settings {settings!r} is not a ChannelSettings subclass")
    if not isinstance(candidate.capabilities, Capabilities):
        raise PluginLoadError(
            f"{label}: capabilities {candidate.capabilities!r} is not a Capabilities manifest"
        )
    try:
        # The admin form and the API are generated from it: it must have one.
        settings.model_json_schema()
    except Exception as error:
        raise PluginLoadError(
            f"{label}: Settings has no JSON Schema ({type(error).__name__}: {error})"
        ) from None
    _check_app_settings(label, candidate)
    return candidate


def _check_app_settings(label: str, candidate: type[Channel[Any]]) -> None:
    """A shared webhook URL needs operator settings, a model the API can validate with."""
    app_settings = getattr(candidate, "AppSettings", None)
    if app_settings is None:
        if candidate.capabilities.shared_webhook:
            raise PluginLoadError(f"{label}: shared_webhook is declared but AppSettings is None")
        return
    if not (isinstance(app_settings, type) and issubclass(app_settings, BaseModel)):
        raise PluginLoadError(f"{label}: AppSettings {app_settings!r} is not a pydantic model")
    try:
        app_settings.model_json_schema()
    except Exception as error:
        raise PluginLoadError(
            f"{label}: AppSettings has no JSON Schema ({type(error).__name__}: {error})"
        ) from None


def check_responder_class(candidate: object) -> type[Responder]:
    """*candidate* if it is a concrete, named Responder subclass, else PluginLoadError."""
    if not (isinstance(candidate, type) and issubclass(candidate, Responder)):
        raise PluginLoadError(f"{candidate!r} is not a Responder subclass")
    label = f"responder class {candidate.__module__}.{candidate.__qualname__}"
    if inspect.isabstract(candidate):
        raise PluginLoadError(f"{label} is abstract (it does not implement draft)")
    _check_name(label, getattr(candidate, "name", None))
    return candidate


def _check_name(label: str, name: object) -> None:
    if not isinstance(name, str):
        raise PluginLoadError(f"{label} declares no name (a class attribute, a str)")
    try:
        validate_channel_name(name)
    except InvalidName as error:
        raise PluginLoadError(f"{label}: {error}") from None


class Registrations:
    """The classes one plugin's register hooks handed over, held apart until all succeed.

    Keeping them apart is what rolls a failing plugin back: nothing reaches the
    host's tables until the whole plugin has registered without error.
    """

    def __init__(self) -> None:
        self.channels: dict[str, type[Channel[Any]]] = {}
        self.responders: dict[str, type[Responder]] = {}
        self.refused: PluginLoadError | None = None
        """The first refusal, kept in case the plugin's hook catches it and goes on."""

    def register_channel(self, candidate: object) -> None:
        """The ``register`` callable handed to ``begasist_register_channels``."""
        try:
            channel_class = check_channel_class(candidate)
            if channel_class.name in self.channels:
                raise PluginLoadError(f"the plugin registers channel {channel_class.name!r} twice")
        except PluginLoadError as refusal:
            self.refused = self.refused or refusal
            raise
        self.channels[channel_class.name] = channel_class

    def register_responder(self, candidate: object) -> None:
        """The ``register`` callable handed to ``begasist_register_responders``."""
        try:
            responder_class = check_responder_class(candidate)
            if responder_class.name in self.responders:
                raise PluginLoadError(
                    f"the plugin registers responder {responder_class.name!r} twice"
                )
        except PluginLoadError as refusal:
            self.refused = self.refused or refusal
            raise
        self.responders[responder_class.name] = responder_class
