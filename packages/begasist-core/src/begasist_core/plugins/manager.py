"""Loading plugins: entry points in, channel and responder classes out, broken ones quarantined."""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType, ModuleType
from typing import Any, Final, Literal

import pluggy
from pydantic import BaseModel, ConfigDict

from begasist_core import hookspecs
from begasist_core.hookspecs import ENTRY_POINT_GROUP
from begasist_core.models.names import InvalidName, validate_channel_name
from begasist_core.plugins._registry import Registrations
from begasist_core.plugins.channel import Channel
from begasist_core.plugins.errors import PluginLoadError
from begasist_core.plugins.markers import PROJECT_NAME
from begasist_core.plugins.responder import Responder

__all__ = [
    "LOAD_PLUGINS_VARIABLE",
    "PluginInfo",
    "PluginManager",
    "PluginStatus",
    "UnknownChannel",
    "format_plugin_table",
    "plugins_to_load_from_env",
]

LOAD_PLUGINS_VARIABLE: Final = "BEGASIST_LOAD_PLUGINS"
"""Comma-separated entry-point names to load; unset loads all, empty loads none."""

log = logging.getLogger("begasist.plugins")


class PluginStatus(StrEnum):
    OK = "ok"
    QUARANTINED = "quarantined"
    """It failed to import or register; nothing of it is used, the host goes on."""


class PluginInfo(BaseModel):
    """One plugin as the host sees it: where it came from and what it registered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """The entry-point name (by convention the name of its channel)."""
    module: str
    distribution: str | None = None
    version: str | None = None
    status: PluginStatus
    error: str | None = None
    """Why it is quarantined, one line."""
    channels: tuple[str, ...] = ()
    responders: tuple[str, ...] = ()


class UnknownChannel(LookupError):
    """No loaded plugin registered a channel of that name."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        listed = ", ".join(self.known) or "none"
        super().__init__(f"no channel named {name!r} is loaded (loaded: {listed})")


def plugins_to_load_from_env(environ: Mapping[str, str] = os.environ) -> frozenset[str] | None:
    """The plugin names ``BEGASIST_LOAD_PLUGINS`` allows: None (unset) means all."""
    value = environ.get(LOAD_PLUGINS_VARIABLE)
    if value is None:
        return None
    return frozenset(part.strip() for part in value.split(",") if part.strip())


class _FromEnvironment(Enum):
    TOKEN = "from-environment"


FROM_ENVIRONMENT: Final = _FromEnvironment.TOKEN


class PluginManager:
    """Discovers plugins, calls each one's register hooks in isolation, keeps what is valid.

    A plugin that fails to import, raises in a hook, registers an invalid class
    or a name another plugin already took is quarantined: its registrations
    are dropped, it is logged once and listed in :attr:`plugins`, and nothing
    is raised. ``load`` (default: ``BEGASIST_LOAD_PLUGINS``) filters entry
    points by name; plugins registered in-process are always accepted.
    """

    def __init__(
        self, *, load: frozenset[str] | Literal[_FromEnvironment.TOKEN] | None = FROM_ENVIRONMENT
    ) -> None:
        self.load: frozenset[str] | None = (
            plugins_to_load_from_env() if load is FROM_ENVIRONMENT else load
        )
        self._pm = pluggy.PluginManager(PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._seen: list[PluginInfo] = []
        self._loaded: dict[str, PluginInfo] = {}
        self._channels: dict[str, type[Channel[Any]]] = {}
        self._responders: dict[str, type[Responder]] = {}
        self._owner: dict[tuple[str, str], str] = {}
        self._entry_points_seen: set[EntryPoint] = set()

    @property
    def hook(self) -> pluggy.HookRelay:
        """The pluggy hook relay (its hook callers carry the specs, for meta-tests)."""
        return self._pm.hook

    @property
    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, loaded or quarantined, in the order it was seen."""
        return list(self._seen)

    @property
    def channels(self) -> Mapping[str, type[Channel[Any]]]:
        return MappingProxyType(self._channels)

    @property
    def responders(self) -> Mapping[str, type[Responder]]:
        return MappingProxyType(self._responders)

    def channel(self, name: str) -> type[Channel[Any]]:
        """The channel class registered as *name*; raises :class:`UnknownChannel`."""
        try:
            return self._channels[name]
        except KeyError:
            raise UnknownChannel(name, sorted(self._channels)) from None

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import and register every plugin of *group* that ``load`` allows, by name order.

        Calling it again loads only entry points it has not seen (newly installed ones).
        """
        found = sorted(entry_points(group=group), key=lambda ep: (ep.name, ep.value))
        for entry_point in found:
            if self.load is not None and entry_point.name not in self.load:
                log.debug("plugin %s skipped: not in %s", entry_point.name, LOAD_PLUGINS_VARIABLE)
                continue
            if entry_point in self._entry_points_seen:
                continue
            self._entry_points_seen.add(entry_point)
            self._load_entry_point(entry_point)

    def register_plugin(
        self,
        plugin: object,
        *,
        name: str,
        distribution: str | None = None,
        version: str | None = None,
    ) -> PluginInfo:
        """Register an already imported plugin (a module or object with hookimpls).

        For plugins that ship inside a host and for tests; the same checks and
        quarantine apply as to entry points.
        """
        origin = _Origin(name, _module_of(plugin), distribution, version)
        return self._register(plugin, origin)

    def _load_entry_point(self, entry_point: EntryPoint) -> PluginInfo:
        dist = entry_point.dist
        origin = _Origin(
            entry_point.name,
            entry_point.module,
            None if dist is None else dist.name,
            None if dist is None else dist.version,
        )
        try:
            validate_channel_name(entry_point.name)
        except InvalidName as invalid:
            return self._quarantine(origin, f"entry point name: {invalid}")
        try:
            plugin = entry_point.load()
        # A plugin's import may raise anything, SystemExit included; none of it is the host's.
        except (Exception, SystemExit) as error:
            return self._quarantine(origin, f"import failed: {_describe(error)}", error)
        return self._register(plugin, origin, from_entry_point=True)

    def _register(
        self, plugin: object, origin: _Origin, *, from_entry_point: bool = False
    ) -> PluginInfo:
        if origin.name in self._loaded:
            taken = self._loaded[origin.name]
            return self._quarantine(
                origin,
                f"a plugin named {origin.name!r} is already loaded "
                f"(from {taken.distribution or taken.module})",
            )
        try:
            self._pm.register(plugin, name=origin.name)
        except pluggy.PluginValidationError as error:  # a hookimpl's signature fits no spec
            return self._quarantine(origin, f"invalid hooks: {_describe(error)}", error)
        except Exception as error:  # the same object registered twice, under two names
            return self._quarantine(origin, f"cannot register: {_describe(error)}", error)
        try:
            registrations = self._collect(plugin)
            channels = registrations.channels
            # The entry name is the channel name: BEGASIST_LOAD_PLUGINS and the
            # admin refer to it, so a plugin may not take another channel's name.
            if from_entry_point and channels and origin.name not in channels:
                raise PluginLoadError(
                    f"entry point {origin.name!r} registers channels "
                    f"{', '.join(sorted(channels))}, none named {origin.name!r}"
                )
        except Exception as error:
            self._pm.unregister(plugin)
            reason = str(error) if isinstance(error, PluginLoadError) else _describe(error)
            return self._quarantine(origin, reason, error)
        info = PluginInfo(
            name=origin.name,
            module=origin.module,
            distribution=origin.distribution,
            version=origin.version,
            status=PluginStatus.OK,
            channels=tuple(registrations.channels),
            responders=tuple(registrations.responders),
        )
        self._channels.update(registrations.channels)
        self._responders.update(registrations.responders)
        for channel in registrations.channels:
            self._owner["channel", channel] = origin.name
        for responder in registrations.responders:
            self._owner["responder", responder] = origin.name
        self._loaded[origin.name] = info
        self._seen.append(info)
        log.info("plugin %s loaded: channels %s", origin.name, ", ".join(info.channels) or "none")
        return info

    def _collect(self, plugin: object) -> Registrations:
        """Call this plugin's hooks alone and check what they registered against the others."""
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as error:
            raise PluginLoadError(f"invalid hooks: {error}") from None
        others = [other for other in self._pm.get_plugins() if other is not plugin]
        registrations = Registrations()
        hooks = (
            ("begasist_register_channels", registrations.register_channel),
            ("begasist_register_responders", registrations.register_responder),
        )
        for hook_name, register in hooks:
            caller = self._pm.subset_hook_caller(hook_name, remove_plugins=others)
            try:
                results = caller(register=register)
            except PluginLoadError:
                raise
            # A hook may raise anything, SystemExit included; none of it is the host's.
            except (Exception, SystemExit) as error:
                raise PluginLoadError(f"{hook_name} failed: {_describe(error)}") from error
            for result in results:
                if inspect.isawaitable(result):
                    if inspect.iscoroutine(result):
                        result.close()  # never awaited on purpose: no warning
                    raise PluginLoadError(
                        f"{hook_name} is async; hooks are plain functions that call register"
                    )
        # A hook that swallowed register's refusal still registered something invalid.
        if registrations.refused is not None:
            raise registrations.refused
        for kind, names in (
            ("channel", registrations.channels),
            ("responder", registrations.responders),
        ):
            for registered in names:
                owner = self._owner.get((kind, registered))
                if owner is not None:
                    raise PluginLoadError(
                        f"{kind} name {registered!r} is already registered by plugin {owner!r}"
                    )
        return registrations

    def _quarantine(
        self, origin: _Origin, error: str, exception: BaseException | None = None
    ) -> PluginInfo:
        info = PluginInfo(
            name=origin.name,
            module=origin.module,
            distribution=origin.distribution,
            version=origin.version,
            status=PluginStatus.QUARANTINED,
            error=error,
        )
        self._seen.append(info)
        log.error(
            "plugin %s (%s) quarantined: %s",
            origin.name,
            origin.distribution or origin.module,
            error,
            exc_info=exception,
        )
        return info


@dataclass(frozen=True, slots=True)
class _Origin:
    name: str
    module: str
    distribution: str | None
    version: str | None


def _module_of(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return str(getattr(plugin, "__module__", type(plugin).__module__))


def _describe(error: BaseException) -> str:
    """``TypeName: message``, on one line, for the plugin table and the log."""
    try:
        message = " ".join(str(error).split())
    except Exception:  # a plugin's exception whose __str__ itself raises
        message = ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def format_plugin_table(infos: Sequence[PluginInfo], *, responders: bool = False) -> str:
    """The plugins as an aligned text table, one row each, for ``channelbot plugins``.

    A quarantined plugin's status reads ``quarantined: <error>``, so the reason
    is on the same line as the name. *responders* adds the responders each
    registered (the suite's listing).
    """
    if not infos:
        return "no plugins loaded"
    header: tuple[str, ...] = (
        "NAME",
        "VERSION",
        "DISTRIBUTION",
        "CHANNELS",
        "RESPONDERS",
        "STATUS",
    )
    rows: list[tuple[str, ...]] = [header] + [
        (
            info.name,
            info.version or "-",
            info.distribution or info.module,
            ", ".join(info.channels) or "-",
            ", ".join(info.responders) or "-",
            info.status.value if info.error is None else f"{info.status.value}: {info.error}",
        )
        for info in infos
    ]
    if not responders:
        rows = [(*row[:4], row[5]) for row in rows]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    lines = [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)
