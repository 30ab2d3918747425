"""The seam between the linked transport and a WhatsApp Web library: a client and its events.

:class:`LinkedClient` is all :class:`~begasist_channels_whatsapp.linked.LinkedTransport`
asks of the protocol library. :class:`~begasist_channels_whatsapp.linked.NeonizeClient`
implements it on neonize; the tests implement it with a double, since WhatsApp's
servers cannot be reached from CI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from begasist_core import ChannelError

from begasist_channels_whatsapp.linked.session import LinkedSession

__all__ = [
    "ClientFactory",
    "Connected",
    "Disconnected",
    "EventSink",
    "IncomingMessage",
    "LinkedClient",
    "LinkedEvent",
    "LinkedNotConnected",
    "LoggedOut",
    "Paired",
    "PairingFailed",
    "QrCode",
]


class LinkedNotConnected(ChannelError):
    """No live session to send on (pairing or reconnecting): the runtime retries later."""


@dataclass(frozen=True, slots=True)
class QrCode:
    """A pairing QR code to show until *expires_in* has passed (a new one follows)."""

    code: str
    """The text the QR code encodes (``2@...``); the admin renders it."""
    expires_in: timedelta


@dataclass(frozen=True, slots=True)
class Paired:
    """The phone scanned the code; ``Connected`` follows."""

    account: str | None = None
    """The WhatsApp id of the paired number, when the library says."""


@dataclass(frozen=True, slots=True)
class PairingFailed:
    """The phone scanned the code but pairing failed (the QR codes go on)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Connected:
    """The session is live: messages flow both ways."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection is over for now; the transport reconnects with backoff."""

    reason: str


@dataclass(frozen=True, slots=True)
class LoggedOut:
    """The session is void (unlinked on the phone, or by WhatsApp): pair again."""

    reason: str


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message in one of the account's chats, as the library decoded it."""

    message_id: str
    chat: str
    """The chat's WhatsApp id: ``<number>@s.whatsapp.net``, ``<id>@g.us``, ``status@broadcast``."""
    sender: str
    """The author's WhatsApp id (``<number>@s.whatsapp.net``, or a ``@lid`` privacy id)."""
    sender_phone: str | None
    """The author's phone number, digits only, when the library knows it."""
    timestamp: datetime
    text: str = ""
    """The text, or the caption of media."""
    push_name: str | None = None
    """The author's profile name."""
    is_group: bool = False
    from_me: bool = False
    """Written by the account itself (on the phone, or sent by Begasist)."""
    quoted_id: str | None = None
    """The id of the message it replies (or reacts) to."""
    media_kind: str | None = None
    """``image``, ``video``, ``audio``, ``document``, ``sticker`` or ``location``; None: text."""
    mime_type: str | None = None
    filename: str | None = None


LinkedEvent = (
    QrCode | Paired | PairingFailed | Connected | Disconnected | LoggedOut | IncomingMessage
)

EventSink = Callable[[LinkedEvent], Awaitable[None]]


class LinkedClient(Protocol):
    """One connection attempt of a WhatsApp Web device on one session store."""

    async def run(self, deliver: EventSink) -> None:
        """Connect (showing QR codes if the session is not paired) and ``deliver`` every event.

        Contract: runs until cancelled, then stops the connection and returns
        promptly; it may return or raise earlier when the connection cannot go
        on. Events are delivered one at a time, in order, from this task.
        """
        ...

    async def send_text(self, to: str, text: str, *, reply_to: str | None = None) -> str:
        """Send *text* to *to* (a phone number or a chat id); the new message's id.

        *reply_to* quotes that message when the client can; :class:`LinkedNotConnected`
        when there is no live connection.
        """
        ...

    async def logout(self) -> None:
        """Unlink this device at WhatsApp (the phone stops listing it); raise if not connected."""
        ...


ClientFactory = Callable[[LinkedSession], LinkedClient]
"""Builds the client of one connection attempt on a hotel's session store."""
