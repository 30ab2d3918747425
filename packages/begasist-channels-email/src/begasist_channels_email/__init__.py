"""Begasist email channel: IMAP IDLE in, SMTP out, threaded by Message-ID.

Registered through the ``begasist.channels`` entry point ``email``; it
imports only what ``begasist_core`` exports.
"""

from collections.abc import Callable
from typing import Any

from begasist_core import Channel, hookimpl

from begasist_channels_email.channel import EmailChannel
from begasist_channels_email.parsing import EmailKind, ParsedAttachment, ParsedEmail, parse_email
from begasist_channels_email.settings import EmailSettings, Security

__all__ = [
    "EmailChannel",
    "EmailKind",
    "EmailSettings",
    "ParsedAttachment",
    "ParsedEmail",
    "Security",
    "begasist_register_channels",
    "parse_email",
]


@hookimpl
def begasist_register_channels(register: Callable[[type[Channel[Any]]], None]) -> None:
    register(EmailChannel)
