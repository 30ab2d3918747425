"""The Channex channel for Begasist.

This module is the plugin: the ``begasist.channels`` entry point
``channex`` names it, and its hook registers
:class:`ChannexChannel`.
"""

from collections.abc import Callable
from typing import Any

from begasist_core import Channel, hookimpl

from begasist_channel_channex.channel import (
    ChannexChannel,
    ChannexTransmission,
)
from begasist_channel_channex.settings import (
    ChannexSettings,
)
from begasist_channel_channex.webhook import (
    SIGNATURE_HEADER,
    sign_body,
)

__all__ = [
    "SIGNATURE_HEADER",
    "ChannexChannel",
    "ChannexSettings",
    "ChannexTransmission",
    "begasist_register_channels",
    "sign_body",
]


@hookimpl
def begasist_register_channels(register: Callable[[type[Channel[Any]]], None]) -> None:
    register(ChannexChannel)
