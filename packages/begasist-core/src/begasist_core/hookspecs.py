"""The hooks a Begasist plugin can implement.

Few hooks; behaviour lives on the classes they register. A plugin is a module
(named by an entry point in the ``begasist.channels`` group) whose functions are
decorated with :data:`begasist_core.hookimpl`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from begasist_core.plugins.markers import hookspec

if TYPE_CHECKING:
    from begasist_core.plugins.channel import Channel
    from begasist_core.plugins.responder import Responder

__all__ = ["ENTRY_POINT_GROUP", "begasist_register_channels", "begasist_register_responders"]

ENTRY_POINT_GROUP = "begasist.channels"
"""Entry-point group of plugin modules; the entry name is the channel name."""


@hookspec
def begasist_register_channels(register: Callable[[type[Channel]], None]) -> None:  # type: ignore[type-arg]
    """Register the plugin's channel classes by calling ``register(cls)`` for each.

    Contract: ``cls`` is a :class:`~begasist_core.Channel` subclass with a valid
    ``name``, a ``Settings`` model extending
    :class:`~begasist_core.ChannelSettings` and a ``capabilities`` manifest.
    ``register`` raises :class:`~begasist_core.PluginLoadError` for anything
    else and for a name another plugin already registered; the host then
    quarantines this plugin and goes on. The hook must do no I/O: it runs in
    the suite and in every bot at start-up.
    """


@hookspec
def begasist_register_responders(register: Callable[[type[Responder]], None]) -> None:
    """Register the plugin's assistant classes by calling ``register(cls)`` for each.

    Contract: ``cls`` is a :class:`~begasist_core.Responder` subclass with a
    unique ``name``; the suite picks the responder each hotel configures.
    Same failure rules and no I/O, as for channels.
    """
