"""Begasist channel plugin: OTA guest messages (Booking.com, Airbnb, Expedia) via Channex.

This module is the plugin: the ``begasist.channels`` entry point ``channex``
names it, and its hook registers :class:`ChannexChannel`.
"""

from collections.abc import Callable
from typing import Any

from begasist_core import Channel, hookimpl

from begasist_channels_channex.api import API_KEY_HEADER, ChannexApiError, ChannexClient
from begasist_channels_channex.channel import MAX_TEXT_LENGTH, ChannexChannel
from begasist_channels_channex.errors import ChannexRefused, ChannexUnavailable, ThreadClosed
from begasist_channels_channex.inbound import booking_address, split_address
from begasist_channels_channex.ota import Ota
from begasist_channels_channex.rules import RULES, AttachmentRefused, AttachmentRule, OtaRules
from begasist_channels_channex.settings import API_BASE_URLS, ChannexEnvironment, ChannexSettings
from begasist_channels_channex.webhook import SECRET_HEADER

__all__ = [
    "API_BASE_URLS",
    "API_KEY_HEADER",
    "MAX_TEXT_LENGTH",
    "RULES",
    "SECRET_HEADER",
    "AttachmentRefused",
    "AttachmentRule",
    "ChannexApiError",
    "ChannexChannel",
    "ChannexClient",
    "ChannexEnvironment",
    "ChannexRefused",
    "ChannexSettings",
    "ChannexUnavailable",
    "Ota",
    "OtaRules",
    "ThreadClosed",
    "begasist_register_channels",
    "booking_address",
    "split_address",
]


@hookimpl
def begasist_register_channels(register: Callable[[type[Channel[Any]]], None]) -> None:
    register(ChannexChannel)
