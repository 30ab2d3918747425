"""The web chat's wire formats: the widget's frames, the ingress body, the frames pushed back.

Widget -> suite (one JSON object per text frame, at most :data:`MAX_FRAME_BYTES`):

- ``{"type": "message", "id": <client id>, "text": <text>, "attachments": [<ref>]}``:
  ``id`` is made by the widget once per message (8-64 of ``A-Z a-z 0-9 _ -``)
  and sent again unchanged on a resend, which is what makes the resend
  harmless; ``attachments`` (optional, at most :data:`MAX_ATTACHMENTS`) are the
  refs the suite's upload route answered, and ``text`` is then an optional
  caption;
- ``{"type": "receipt", "id": <message id>, "status": "delivered" | "read"}``;
- ``{"type": "ping"}``: keeps the socket open, nothing is enqueued.

Suite -> widget: ``{"type": "accepted", "id": <client id>}`` once a message is
enqueued, ``{"type": "message", "message": {...}}`` for each reply, and the
suite's own ``session`` / ``history`` frames.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import datetime
from typing import Annotated, Final, Literal

from begasist_core import (
    AttachmentKind,
    DeliveryStatus,
    Direction,
    GuestHistoryItem,
    GuestUploadType,
)
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)

__all__ = [
    "MAX_ATTACHMENTS",
    "MAX_FRAME_BYTES",
    "MAX_TEXT_CHARS",
    "ClientId",
    "GuestFrame",
    "IngressAttachment",
    "IngressBody",
    "MessageFrame",
    "OutboundFrame",
    "PingFrame",
    "ReceiptFrame",
    "accepted_frame",
    "clean_email",
    "clean_name",
    "identified_address",
    "identity_hash",
    "outbound_frame",
    "provider_id",
    "readable_text",
    "visible",
]

MAX_FRAME_BYTES: Final = 16_384
"""The largest frame a widget may send (a message of :data:`MAX_TEXT_CHARS` fits)."""
MAX_TEXT_CHARS: Final = 4_000
MAX_ATTACHMENTS: Final = 5
"""Files one message may carry (each ref is under 2 KiB: they fit in a frame)."""

ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]

# An address as people type it into a form: one local part and a dotted domain, no
# spaces, quotes, brackets or commas (nothing that could add a second recipient or a header).
_EMAIL: Final = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{4,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)

# Text only: control characters other than tab and line ends are refused, not rendered.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Frame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MessageFrame(_Frame):
    type: Literal["message"]
    id: ClientId
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] = ""
    attachments: Annotated[
        tuple[Annotated[str, StringConstraints(min_length=1, max_length=2048)], ...],
        Field(max_length=MAX_ATTACHMENTS),
    ] = ()


class ReceiptFrame(_Frame):
    type: Literal["receipt"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    status: Literal["delivered", "read"]


class PingFrame(_Frame):
    type: Literal["ping"]


GuestFrame: Final = TypeAdapter[MessageFrame | ReceiptFrame | PingFrame](
    Annotated[MessageFrame | ReceiptFrame | PingFrame, Field(discriminator="type")]
)
"""Any frame a widget sends, told apart by ``type``."""


class IngressAttachment(BaseModel):
    """A file of the guest's message, as the suite checked its ref (``media:<key>`` stored)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AttachmentKind
    mime_type: GuestUploadType
    size_bytes: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    filename: Annotated[str | None, StringConstraints(max_length=255)] = None
    url: Annotated[str, StringConstraints(pattern=r"^media:[0-9a-f]{64}$")]


class IngressBody(BaseModel):
    """What the suite enqueues for the bot's ``parse``: built from the admission, not the frame.

    ``address`` comes from the suite's admission of the socket, so a guest can
    neither write as nor read receipts of another visitor.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    kind: Literal["message", "receipt"]
    address: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    display_name: Annotated[str | None, StringConstraints(max_length=200)] = None
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] = ""
    status: Literal["delivered", "read"] | None = None
    attachments: Annotated[tuple[IngressAttachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()
    at: AwareDatetime


class OutboundFrame(_Frame):
    """A reply pushed to the guest: the same shape as an item of the history frame."""

    type: Literal["message"] = "message"
    message: GuestHistoryItem


def provider_id(address: str, message_id: str) -> str:
    """The provider id of a guest's message or of a reply: scoped by the guest's address.

    Scoping keeps one visitor's client ids from colliding with (and so
    silencing) another's, and a receipt from reaching another visitor's reply.
    """
    return f"{address}/{message_id}"


def readable_text(text: str) -> bool:
    """Whether *text* is text only: no control characters but tab and line ends."""
    return _CONTROL.search(text) is None


def visible(text: str) -> bool:
    """Whether *text* shows anything: more than spaces and invisible format characters
    (zero-width spaces and joiners, direction marks: Unicode category Cf)."""
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for c in text)


def clean_name(name: str | None) -> str | None:
    """A display name as staff may be shown it: one line of text with no control or
    format characters (no line breaks to fake a second line, no right-to-left
    overrides to reverse what follows), spaces collapsed; None when nothing is left."""
    if name is None:
        return None
    kept = "".join(
        " " if c.isspace() else c
        for c in name
        if c.isspace() or (unicodedata.category(c) not in ("Cc", "Cf"))
    )
    cleaned = " ".join(kept.split())
    return cleaned or None


def clean_email(email: str | None) -> str | None:
    """The email address a guest typed, trimmed; None for none; ValueError when it is not
    one plain address (a display name, several addresses, spaces, line breaks)."""
    if email is None or not email.strip():
        return None
    address = email.strip()
    if len(address) > 254 or not _EMAIL.fullmatch(address) or ".." in address:
        raise ValueError("not an email address")
    return address


def accepted_frame(client_id: str) -> bytes:
    return b'{"type":"accepted","id":"' + client_id.encode("ascii") + b'"}'


def identified_address(visitor_id: str, identifier: str) -> str:
    """The address of *visitor_id* signed in as *identifier*: the visitor id and a digest
    of the identifier (no ``/``, which separates an address from a message id)."""
    digest = hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:16]
    return f"{visitor_id}.{digest}"


def identity_hash(secret: str, identifier: str) -> str:
    """The HMAC-SHA256 (lower-case hex) of *identifier* the hotel's site sends beside it."""
    return hmac.new(secret.encode("utf-8"), identifier.encode("utf-8"), hashlib.sha256).hexdigest()


def outbound_frame(
    message_id: str, text: str, created_at: datetime, provider_message_id: str
) -> bytes:
    item = GuestHistoryItem(
        id=message_id,
        direction=Direction.OUTBOUND,
        text=text,
        created_at=created_at,
        status=DeliveryStatus.SENT,
        provider_message_id=provider_message_id,
    )
    return OutboundFrame(message=item).model_dump_json().encode("utf-8")
