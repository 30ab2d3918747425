"""A guest socket's hello: whose visitor it is, and whether the channel lets the page in.

A returning visitor's token must check (4401 otherwise) and is renewed. A
first visit gets a new visitor id, but it counts as a new visitor
(``BEGASIST_GUEST_ADDRESS_NEW_VISITORS``, by the client's keys) only once the
channel has admitted the hello (``admit_guest``: the page's origin, an
identity's HMAC): a client that no channel would admit cannot spend anyone's
new-visitor allowance. What the channel refuses closes with its code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    GUEST_CLOSE_UNAUTHENTICATED,
    ChannelSettings,
    GuestAdmission,
    GuestHello,
    GuestRefused,
)
from pydantic import ValidationError

from begasist_suite.guest.protocol import Hello, Refusal
from begasist_suite.guest.rates import GuestRates
from begasist_suite.guest.tokens import VisitorTokens

__all__ = ["Admitted", "Gate", "admit", "admit_again"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A hello the suite and the channel let in."""

    admission: GuestAdmission
    hello: GuestHello
    """As the channel saw it: asked again when the hotel's settings change."""
    visitor: str
    token: str
    """The visitor's token, issued now (minted or renewed)."""


@dataclass(frozen=True, slots=True)
class Gate:
    """What a hello is checked with, for one hotel's channel."""

    hotel: str
    channel: str
    channel_class: Any
    settings: ChannelSettings
    tokens: VisitorTokens
    rates: GuestRates


async def admit(gate: Gate, hello: Hello, origin: str | None) -> Admitted:
    """Let *hello*, from a page of *origin*, in (module docstring), or raise Refusal."""
    first_visit = hello.visitor is None and hello.token is None
    if first_visit:
        visitor, _ = gate.tokens.mint(gate.hotel, gate.channel)
    elif (
        hello.visitor is None
        or hello.token is None
        or not gate.tokens.check(gate.hotel, gate.channel, hello.visitor, hello.token)
    ):
        raise Refusal(GUEST_CLOSE_UNAUTHENTICATED, "visitor token invalid")
    else:
        visitor = hello.visitor
    try:
        guest_hello = GuestHello(
            origin=origin,
            visitor_id=visitor,
            first_visit=first_visit,
            identifier=hello.identifier,
            identifier_hash=hello.identifier_hash,
            display_name=hello.name,
            language=hello.language,
            email=hello.email,
        )
    except ValidationError:
        raise Refusal(GUEST_CLOSE_BAD_FRAME, "malformed hello") from None
    admission = admit_again(
        gate.hotel, gate.channel, gate.channel_class, guest_hello, gate.settings
    )
    if first_visit:
        await gate.rates.new_visitor()
    token = gate.tokens.token(gate.hotel, gate.channel, visitor)  # minted or renewed
    return Admitted(admission, guest_hello, visitor, token)


def admit_again(
    hotel: str, channel: str, channel_class: Any, hello: GuestHello, settings: ChannelSettings
) -> GuestAdmission:
    """The channel's ``admit_guest`` of *hello* under *settings*, or Refusal."""
    try:
        admission: GuestAdmission = channel_class.admit_guest(hello, settings)
    except GuestRefused as refused:
        log.info(
            "guest socket %s/%s refused (%d): %s", hotel, channel, refused.code, refused.reason
        )
        raise Refusal(refused.code, refused.reason) from None
    except Exception:  # a plugin bug on odd input: refuse, never crash the socket task
        log.warning("guest socket %s/%s: admit_guest failed", hotel, channel, exc_info=True)
        raise Refusal(GUEST_CLOSE_BAD_FRAME, "refused") from None
    return admission
