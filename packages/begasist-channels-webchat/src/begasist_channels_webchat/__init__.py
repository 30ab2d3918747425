"""Begasist web chat channel: a hotel website's chat widget, over the suite's guest socket.

Registered through the ``begasist.channels`` entry point ``webchat``; it
imports only what ``begasist_core`` exports.
"""

from collections.abc import Callable
from typing import Any

from begasist_core import Channel, hookimpl

from begasist_channels_webchat.channel import WebchatChannel
from begasist_channels_webchat.frames import identified_address, identity_hash
from begasist_channels_webchat.settings import OfficeHours, WebchatSettings

__all__ = [
    "OfficeHours",
    "WebchatChannel",
    "WebchatSettings",
    "begasist_register_channels",
    "identified_address",
    "identity_hash",
]


@hookimpl
def begasist_register_channels(register: Callable[[type[Channel[Any]]], None]) -> None:
    register(WebchatChannel)
