"""Channex's webhook: how a delivery is authenticated, and its JSON body.

Channex does not sign webhooks. What it offers is custom request headers on
each webhook (the ``headers`` field of Create Webhook, docs.channex.io: Webhook
Collection), so the hotel sets the header :data:`SECRET_HEADER` to its
``webhook_secret`` there, and :func:`check_secret` compares it in constant time.
The body of the ``message`` event (same page, Payloads: Message)::

    {"event": "message",
     "payload": {"booking_id": "...", "id": "...", "message": "text",
                 "message_thread_id": "...", "ota_message_id": "...",
                 "have_attachment": false, "attachments": []},
     "property_id": "...", "user_id": null, "timestamp": "2021-12-24T00:00:00.0000Z"}
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, Final

from begasist_core import ParseError, WebhookSignatureError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "MESSAGE_EVENT",
    "SECRET_HEADER",
    "ChannexDelivery",
    "ChannexMessagePayload",
    "check_secret",
    "read_delivery",
]

SECRET_HEADER: Final = "x-begasist-webhook-secret"
"""The custom header the hotel's Channex webhook carries, lower-cased as ``verify`` sees it."""
MESSAGE_EVENT: Final = "message"

_Id = Annotated[str, Field(min_length=1, max_length=128)]


def check_secret(secret: str, header: str | None) -> None:
    """Raise WebhookSignatureError unless *header* is exactly *secret* (constant time)."""
    if not header:
        raise WebhookSignatureError(f"missing {SECRET_HEADER} header")
    # Bytes, not str: compare_digest refuses non-ASCII str, and the header is the sender's.
    if not hmac.compare_digest(header.encode("utf-8", "replace"), secret.encode()):
        raise WebhookSignatureError(f"wrong {SECRET_HEADER} header")


class _Lenient(BaseModel):
    # Channex adds fields over time; an old parser must go on working.
    model_config = ConfigDict(extra="ignore")


class ChannexMessagePayload(_Lenient):
    """A guest's message as the ``message`` event carries it."""

    id: _Id
    """Channex's id of the message: the same one its messages API lists."""
    booking_id: _Id
    message: Annotated[str | None, Field(max_length=65536)] = None
    message_thread_id: _Id | None = None
    ota_message_id: Annotated[str | None, Field(max_length=512)] = None
    attachments: list[Any] = Field(default_factory=list)


class ChannexDelivery(_Lenient):
    """One webhook delivery: an event of one property."""

    event: Annotated[str, Field(min_length=1, max_length=64)]
    property_id: _Id | None = None
    timestamp: datetime | None = None
    payload: Any = None

    def message(self) -> ChannexMessagePayload | None:
        """The guest message of a ``message`` event; None for another event, or for one
        without its payload (a webhook whose ``send_data`` is off)."""
        if self.event != MESSAGE_EVENT or self.payload is None:
            return None
        try:
            return ChannexMessagePayload.model_validate(self.payload)
        except ValidationError as error:
            raise ParseError(
                f"a message event Begasist cannot read: {error.error_count()} errors"
            ) from None


def read_delivery(body: bytes) -> ChannexDelivery:
    """The delivery in *body*; ParseError (only) for a body that is not one."""
    try:
        return ChannexDelivery.model_validate_json(body)
    except ValidationError as error:
        raise ParseError(f"not a Channex webhook body: {error.error_count()} errors") from None
