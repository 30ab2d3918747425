"""An example Begasist channel: simulated guests, signed JSON webhooks, replies to the log.

This module is the plugin: the ``begasist.channels`` entry point ``demo``
names it, and its hook registers :class:`DemoChannel`.
"""

from collections.abc import Callable
from typing import Any

from begasist_core import Channel, hookimpl

from begasist_channel_demo.channel import DemoChannel, DemoTransmission
from begasist_channel_demo.settings import DemoGuest, DemoSettings
from begasist_channel_demo.webhook import SIGNATURE_HEADER, sign_body

__all__ = [
    "SIGNATURE_HEADER",
    "DemoChannel",
    "DemoGuest",
    "DemoSettings",
    "DemoTransmission",
    "begasist_register_channels",
    "sign_body",
]


@hookimpl
def begasist_register_channels(register: Callable[[type[Channel[Any]]], None]) -> None:
    register(DemoChannel)
