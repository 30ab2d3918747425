"""The demo provider's webhook: its signature and its JSON body.

A delivery is ``POST`` with ``X-Demo-Signature: sha256=<hex>``, the HMAC-SHA256
of the exact body under the hotel's ``webhook_secret``, and a body::

    {"messages": [{"id": "m1", "from": "+34600000001", "name": "Ana", "text": "Hi"}],
     "statuses": [{"id": "demo-01J...", "status": "delivered"}]}
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Literal

from begasist_core import (
    DeliveryStatus,
    Direction,
    GuestIdentity,
    InboundPayload,
    Message,
    MessageReceived,
    MessageStatusChanged,
    ParseError,
    WebhookSignatureError,
)
from pydantic import BaseModel, Field, ValidationError

__all__ = ["SIGNATURE_HEADER", "check_signature", "parse_body", "sign_body"]

SIGNATURE_HEADER = "x-demo-signature"
_SCHEME = "sha256="


def sign_body(secret: str, body: bytes) -> str:
    """The ``X-Demo-Signature`` value for *body*: ``sha256=<hex>``."""
    return _SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise WebhookSignatureError unless *header* is *body*'s signature under *secret*.

    The whole header is compared exactly as the sender computes it: no trimming
    or case-folding, so a spelling the provider never sends is refused.
    """
    if not header:
        raise WebhookSignatureError("missing X-Demo-Signature header")
    expected = sign_body(secret, body).encode()
    # Bytes, not str: compare_digest refuses non-ASCII str, and the header is the sender's.
    if not hmac.compare_digest(header.encode("utf-8", "replace"), expected):
        raise WebhookSignatureError("X-Demo-Signature does not match the body")


class _GuestMessage(BaseModel):
    id: Annotated[str, Field(min_length=1, max_length=512)]
    sender: Annotated[str, Field(alias="from", min_length=1, max_length=320)]
    name: Annotated[str | None, Field(max_length=200)] = None
    text: Annotated[str, Field(max_length=65536)]


class _Status(BaseModel):
    id: Annotated[str, Field(min_length=1, max_length=512)]
    status: Literal["sent", "delivered", "read", "failed"]
    error: Annotated[str | None, Field(max_length=2000)] = None


class _Body(BaseModel):
    # Unknown keys are ignored: providers add fields, and an old parser must go on working.
    messages: list[_GuestMessage] = []
    statuses: list[_Status] = []


def parse_body(body: bytes, *, hotel: str, channel: str) -> list[InboundPayload]:
    """The events in a delivery body; ParseError (only) for a body that is not one."""
    try:
        document = _Body.model_validate_json(body)
        return [
            *(_received(item, hotel, channel) for item in document.messages),
            *(_status(item, channel) for item in document.statuses),
        ]
    except ValidationError as error:
        summary = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors(include_url=False)[:3]
        )
        raise ParseError(f"not a demo webhook body: {summary}") from None


def _received(item: _GuestMessage, hotel: str, channel: str) -> MessageReceived:
    guest = GuestIdentity(channel=channel, address=item.sender, display_name=item.name)
    message = Message(
        hotel=hotel,
        channel=channel,
        conversation_key=item.sender,
        direction=Direction.INBOUND,
        guest=guest,
        text=item.text,
        provider_message_id=item.id,
    )
    return MessageReceived(message=message)


def _status(item: _Status, channel: str) -> MessageStatusChanged:
    failed = item.status == "failed"
    return MessageStatusChanged(
        channel=channel,
        provider_message_id=item.id,
        # A failure is a flag on the furthest step reached, which the demo knows to be "sent".
        status=DeliveryStatus.SENT if failed else DeliveryStatus(item.status),
        failed=failed,
        error=item.error,
    )
