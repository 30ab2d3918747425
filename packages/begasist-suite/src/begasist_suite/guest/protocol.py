"""The suite's own frames of the guest socket (hello, session, earlier) and how a session ends."""

from __future__ import annotations

from typing import Annotated, Literal

from begasist_core import GuestHistoryItem
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Earlier", "EarlierPage", "Hello", "Refusal", "SessionFrame"]


class Refusal(Exception):
    """Ends a guest session: the socket is closed with *code* and *reason*, nothing enqueued."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason[:120]


class Hello(BaseModel):
    """The guest's first frame (the suite's part of the protocol)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["hello"]
    visitor: Annotated[str | None, Field(max_length=64)] = None
    token: Annotated[str | None, Field(max_length=128)] = None
    identifier: Annotated[str | None, Field(max_length=320)] = None
    identifier_hash: Annotated[str | None, Field(max_length=256)] = None
    name: Annotated[str | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    """An address the guest left (a pre-chat form): recorded as an unproven contact."""
    language: Annotated[str | None, Field(max_length=35)] = None
    embedder: Annotated[str | None, Field(max_length=300)] = None
    """Only heeded from a page of this suite (a channel's framed guest page) when the
    suite knows its own origin from ``BEGASIST_PUBLIC_URL``: the origin of the page
    embedding it, which is what the channel admits
    (:func:`~begasist_suite.guest.assets.page_origin`)."""


class SessionFrame(BaseModel):
    """The suite's answer to a hello that was admitted."""

    type: Literal["session"] = "session"
    visitor: str
    token: str
    earlier: bool
    """Whether the conversation has messages before the history frame's (ask for them
    with an :class:`Earlier` frame)."""


class Earlier(BaseModel):
    """A guest's frame asking for the messages before one they were shown (the suite's part
    of the protocol, like the hello), answered with an :class:`EarlierPage`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["earlier"]
    before: Annotated[str, Field(min_length=1, max_length=64)]


class EarlierPage(BaseModel):
    """The page of the guest's conversation before ``before``."""

    type: Literal["earlier"] = "earlier"
    before: str
    messages: list[GuestHistoryItem]
    """Oldest first, the newest just before ``before``; empty for a message that is not
    of this guest's conversation."""
    earlier: bool
    """Whether there are messages before these too."""
