"""What a channel knows about a message beyond its text: the booking it is about, say."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MESSAGE_CONTEXT_VERSION",
    "BookingContext",
    "InteractiveAnswer",
    "InteractiveContent",
    "MessageContext",
]

MESSAGE_CONTEXT_VERSION: Literal[1] = 1
"""The version of :class:`MessageContext` this core writes and reads."""

_Text = Annotated[str, Field(min_length=1, max_length=200)]


class BookingContext(BaseModel):
    """The reservation a guest's message is about, as the channel knows it.

    Any channel that knows the booking fills it in: an OTA's messages through a
    channel manager, a booking engine's chat. Every field but ``source`` is
    optional, because providers tell different parts of a reservation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    """Where the guest booked, as a slug: ``booking_com``, ``airbnb``, ``expedia``,
    ``direct``."""
    source_name: _Text | None = None
    """The same for people (``Booking.com``), when the channel knows it."""
    reservation_id: _Text | None = None
    """The reservation's code where the guest booked (what the guest quotes)."""
    booking_id: _Text | None = None
    """The booking's id at the channel's provider (a channel manager's own id)."""
    property_id: _Text | None = None
    """The property (hotel) the booking is for, at the channel's provider."""
    guest_name: _Text | None = None
    """The name the booking is under."""
    check_in: date | None = None
    check_out: date | None = None

    @model_validator(mode="after")
    def _stay_in_order(self) -> Self:
        if self.check_in and self.check_out and self.check_out < self.check_in:
            raise ValueError("check_out is before check_in")
        return self


class InteractiveAnswer(BaseModel):
    """One answer of a guest's interactive reply: what was asked, what they answered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: Annotated[str, Field(min_length=1, max_length=200)]
    """The field, button or question, as readable as the channel can make it."""
    answer: Annotated[str, Field(max_length=4096)]


class InteractiveContent(BaseModel):
    """A guest's answer to something interactive the hotel sent: a form (a WhatsApp
    Flow), a button or list choice, a call permission request.

    The message's ``text`` is the same in one readable line or more, for staff
    and the assistant; this part keeps the structure.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    """What was answered, as the channel names it (``flow``, ``button_reply``,
    ``list_reply``, ``call_permission_reply``, ``address_message``)."""
    title: Annotated[str | None, Field(max_length=200)] = None
    """The form's or choice's name, when the channel knows it."""
    answers: Annotated[tuple[InteractiveAnswer, ...], Field(max_length=200)] = ()
    """The answers, in the order the guest gave them (a form's fields)."""


class MessageContext(BaseModel):
    """What a channel adds to an inbound message beyond its text, in named parts.

    Versioned on its own (``v``), so a part can be added (compatible: readers
    first) without touching the event envelope. Parts are optional; a channel
    fills in the ones it knows. Staff see it on the conversation and the
    assistant reads it with the message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = MESSAGE_CONTEXT_VERSION
    booking: BookingContext | None = None
    """The reservation the message is about."""
    interactive: InteractiveContent | None = None
    """The guest's answer to a form, a choice or a request the hotel sent."""
