"""Begasist's WhatsApp channel: Cloud API webhooks in, as normalized events.

This module is the plugin: the ``begasist.channels`` entry point ``whatsapp``
names it, and its hook registers :class:`WhatsAppChannel`.
"""

from collections.abc import Callable
from typing import Any

from begasist_core import Channel, hookimpl

from begasist_channels_whatsapp.channel import WhatsAppChannel
from begasist_channels_whatsapp.reader import WebhookContents, read_webhook
from begasist_channels_whatsapp.settings import WhatsAppSettings
from begasist_channels_whatsapp.shared_webhook import WhatsAppAppSettings, split_by_number
from begasist_channels_whatsapp.signature import SIGNATURE_HEADER, sign_body

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookContents",
    "WhatsAppAppSettings",
    "WhatsAppChannel",
    "WhatsAppSettings",
    "begasist_register_channels",
    "read_webhook",
    "sign_body",
    "split_by_number",
]


@hookimpl
def begasist_register_channels(register: Callable[[type[Channel[Any]]], None]) -> None:
    register(WhatsAppChannel)
