"""The provider's webhook: its signature and its JSON body.

Replace this with your provider's documented format. As written, a delivery is
``POST`` with ``X-Channex-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body under the hotel's ``webhook_secret``, and a body::

    {"messages": [{"id": "m1", "from": "guest-1", "name": "Ana", "text": "Hello"}]}
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from begasist_core import (
    Direction,
    GuestIdentity,
    InboundPayload,
    Message,
    MessageReceived,
    ParseError,
    WebhookSignatureError,
)
from pydantic import BaseModel, Field, ValidationError

__all__ = ["SIGNATURE_HEADER", "check_signature", "parse_body", "sign_body"]

SIGNATURE_HEADER = "x-channex-signature"
"""The signature header, lower-cased as the suite hands headers to ``verify``."""
_SCHEME = "sha256="


def sign_body(secret: str, body: bytes) -> str:
    """The signature header's value for *body*: ``sha256=<hex>``."""
    return _SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise WebhookSignatureError unless *header* is *body*'s signature under *secret*.

    The whole header is compared exactly as the provider computes it: no
    trimming or case-folding, so a spelling the provider never sends is refused.
    """
    if not header:
        raise WebhookSignatureError("missing signature header")
    expected = sign_body(secret, body).encode()
    # Bytes, not str: compare_digest refuses non-ASCII str, and the header is the sender's.
    if not hmac.compare_digest(header.encode("utf-8", "replace"), expected):
        raise WebhookSignatureError("the signature does not match the body")


class _GuestMessage(BaseModel):
    id: Annotated[str, Field(min_length=1, max_length=512)]
    sender: Annotated[str, Field(alias="from", min_length=1, max_length=320)]
    name: Annotated[str | None, Field(max_length=200)] = None
    text: Annotated[str, Field(max_length=65536)]


class _Body(BaseModel):
    # Unknown keys are ignored: providers add fields, and an old parser must go on working.
    messages: list[_GuestMessage] = []


def parse_body(body: bytes, *, hotel: str, channel: str) -> list[InboundPayload]:
    """The guest messages of a delivery; ParseError (only) for a body that is not one."""
    try:
        document = _Body.model_validate_json(body)
    except ValidationError as error:
        raise ParseError(f"not a webhook body: {error.error_count()} errors") from None
    return [_received(item, hotel, channel) for item in document.messages]


def _received(item: _GuestMessage, hotel: str, channel: str) -> MessageReceived:
    guest = GuestIdentity(channel=channel, address=item.sender, display_name=item.name)
    message = Message(
        hotel=hotel,
        channel=channel,
        conversation_key=item.sender,
        direction=Direction.INBOUND,
        guest=guest,
        text=item.text,
        # The provider's id makes a replayed delivery harmless: it is stored once.
        provider_message_id=item.id,
    )
    return MessageReceived(message=message)
