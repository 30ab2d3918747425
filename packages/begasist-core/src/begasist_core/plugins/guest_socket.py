"""The guest-socket extension: guests who reach the suite over a WebSocket it serves.

A channel declaring ``Capabilities(guest_socket=True)`` (a website's chat
widget, an app's in-app chat) has no provider calling a webhook: its guests
open ``/guest/{hotel}/{channel}/socket`` on the suite. The split of duties:

- **The suite** issues each visitor a random id and a token bound to the
  hotel, the channel and that id (signed with the suite's secret), and checks
  the token on every reconnect, so a visitor can never open another visitor's
  conversation. It rate-limits, caps frame sizes, enqueues, pushes frames out
  and reads history from its store.
- **The channel** decides, with no I/O, whom to admit (:meth:`Channel.admit_guest`:
  origin allow-list, identity HMAC) and what a frame means
  (:meth:`Channel.guest_frame`: the ingress body its own ``parse`` reads in the
  bot, exactly like a verified webhook's). Its ``send`` delivers frames back
  with :class:`GuestOutbox` (``context.guests``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from begasist_core.events.streams import StreamNames
from begasist_core.models.messages import DeliveryStatus, Direction, GuestIdentity
from begasist_core.plugins.guest_upload import GuestAttachment

__all__ = [
    "GUEST_CLOSE_BAD_FRAME",
    "GUEST_CLOSE_FORBIDDEN",
    "GUEST_CLOSE_NOT_FOUND",
    "GUEST_CLOSE_RATE_LIMITED",
    "GUEST_CLOSE_TOO_LARGE",
    "GUEST_CLOSE_UNAUTHENTICATED",
    "GUEST_CLOSE_UNAVAILABLE",
    "GUEST_OUTBOX_MAXLEN",
    "GuestAdmission",
    "GuestHello",
    "GuestHistoryItem",
    "GuestIngress",
    "GuestOutbox",
]

GUEST_CLOSE_BAD_FRAME: Final = 4400
"""A frame that is not what the protocol expects (not JSON, wrong shape, binary)."""
GUEST_CLOSE_UNAUTHENTICATED: Final = 4401
"""A visitor token or an identity HMAC that does not check."""
GUEST_CLOSE_FORBIDDEN: Final = 4403
"""The page's origin is not on the channel's allow-list."""
GUEST_CLOSE_NOT_FOUND: Final = 4404
"""No such hotel, or the channel is not enabled there."""
GUEST_CLOSE_RATE_LIMITED: Final = 4429
"""Too many frames or connections from this visitor or client address."""
GUEST_CLOSE_TOO_LARGE: Final = 1009
"""A frame over the size limit (RFC 6455's "message too big")."""
GUEST_CLOSE_UNAVAILABLE: Final = 1013
"""The suite cannot take the frame now (Redis failing): reconnect later ("try again later")."""

GUEST_OUTBOX_MAXLEN: Final = 10_000
"""Frames kept per (hotel, channel) stream: pushes are live, history comes from the store."""


class GuestHello(BaseModel):
    """What a guest's socket presents when it opens, as the channel sees it.

    The suite has already checked ``visitor_id`` against its token (or minted
    both on a first visit), so the channel may trust it; everything else is
    the guest's word, to be checked (``origin``) or verified
    (``identifier`` against ``identifier_hash``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    origin: Annotated[str | None, Field(max_length=2048)] = None
    """The ``Origin`` header of the handshake (browsers always send it)."""
    visitor_id: Annotated[str, Field(min_length=1, max_length=64)]
    """The suite's random id of this visitor, verified."""
    first_visit: bool = False
    """The suite minted ``visitor_id`` for this connection."""
    identifier: Annotated[str | None, Field(max_length=320)] = None
    """A claimed identity from the host site (an email address, a customer id)."""
    identifier_hash: Annotated[str | None, Field(max_length=256)] = None
    """The host site's HMAC of ``identifier``, made with a secret of the channel's settings."""
    display_name: Annotated[str | None, Field(max_length=200)] = None
    language: Annotated[str | None, Field(max_length=35)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    """An email address the guest typed (a pre-chat form): their word, never verified."""


class GuestAdmission(BaseModel):
    """Whom ``admit_guest`` let in: the guest's address on the channel, and what was proven."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: Annotated[str, Field(min_length=1, max_length=320)]
    """The guest's address on the channel (``GuestIdentity.address``); frames are pushed by it."""
    conversation_key: Annotated[str | None, Field(min_length=1, max_length=512)] = None
    """The ``conversation_key`` of this guest's messages, for history; None: the address."""
    display_name: Annotated[str | None, Field(max_length=200)] = None
    verified_identity: GuestIdentity | None = None
    """An identity the guest proved (an HMAC that checked): the suite links the guest to it."""
    language: Annotated[str | None, Field(max_length=35)] = None
    contact_email: Annotated[str | None, Field(max_length=320)] = None
    """An email address the guest left (``hello.email``, checked for shape only): the suite
    records it on the guest as a contact staff see, never as an identity that links or
    merges guests, and may email it replies left unread
    (:meth:`Channel.unseen_reply_email_after`)."""


class GuestIngress(BaseModel):
    """What one guest frame becomes: the body the bot's ``parse`` gets, and an answer.

    ``body`` goes onto the hotel's ingress stream as a ``webhook.received`` of
    the channel (with ``content_type`` as its only header), exactly like a
    verified webhook's. ``answer``, if any, is sent back to the guest once the
    body is enqueued (an acknowledgement the widget shows).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    body: bytes
    content_type: str = "application/json"
    answer: bytes | None = None
    uploads: tuple[str, ...] = ()
    """Every upload ref the body's attachments come from (:mod:`begasist_core.plugins.
    guest_upload`): the suite enqueues the body only if it issued each one to this
    visitor on this hotel's channel. A body naming media must list its refs here."""
    receipt_for: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    """For a delivery receipt: the id of the reply it is for (``GuestHistoryItem.id``,
    the ``message_id`` given to :meth:`GuestOutbox.deliver`). The suite enqueues a
    receipt only for a reply it showed or pushed on this very socket and drops any
    other, silently (nothing stored, nothing enqueued). A receipt must name it."""


class GuestHistoryItem(BaseModel):
    """One stored message as a guest may see it: never drafts, notes or other guests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    direction: Direction
    text: str
    created_at: datetime
    status: DeliveryStatus
    provider_message_id: str | None = None
    attachments: tuple[GuestAttachment, ...] = ()


class GuestOutbox:
    """``context.guests``: frames for this channel's guests, pushed by the suite.

    :meth:`deliver` appends to the hotel's ``guests`` stream for the channel;
    every suite replica reads it and writes the frame to the sockets it holds
    for the address. Delivery is at most once per socket and only to guests
    connected now: what a guest must find later, the suite's store has (history
    on reconnect). Never put a secret in a frame.
    """

    def __init__(
        self,
        redis: Redis,
        names: StreamNames,
        hotel: str,
        channel: str,
        *,
        maxlen: int = GUEST_OUTBOX_MAXLEN,
    ) -> None:
        self._redis = redis
        self.stream = names.guests(hotel, channel)
        self._maxlen = maxlen

    async def deliver(self, address: str, frame: bytes, *, message_id: str | None = None) -> bytes:
        """Append *frame* for the guest at *address*; the stream entry's id.

        *message_id*: the id of the reply the frame shows (the message's ``id``), so
        that the suite takes the guest's receipts for it (``GuestIngress.receipt_for``).
        """
        fields: dict[FieldT, EncodableT] = {b"address": address.encode("utf-8"), b"frame": frame}
        if message_id is not None:
            fields[b"message"] = message_id.encode("utf-8")
        entry = await self._redis.xadd(
            self.stream,
            fields,
            maxlen=self._maxlen,
            approximate=True,
        )
        return entry if isinstance(entry, bytes) else str(entry).encode("ascii")
