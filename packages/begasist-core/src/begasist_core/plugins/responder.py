"""The assistant's contract: a responder turns an inbound message into a reply draft."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from begasist_core.models.messages import Message

__all__ = ["ReplyDraft", "ReplyRequest", "Responder"]


class ReplyRequest(BaseModel):
    """What a responder sees: the message, the conversation so far, the hotel's facts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: Message
    history: tuple[Message, ...] = ()
    """Earlier messages of the conversation, oldest first."""
    hotel_facts: Mapping[str, str] = Field(default_factory=dict)
    """The hotel's FAQ: question or topic -> answer, from its configuration."""


class ReplyDraft(BaseModel):
    """A proposed reply: sent at once in automatic mode, approved by staff in supervised."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=65536)]
    responder: str
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


class Responder(ABC):
    """An assistant; register subclasses with ``begasist_register_responders``."""

    name: ClassVar[str]

    @abstractmethod
    async def draft(self, request: ReplyRequest) -> ReplyDraft | None:
        """A reply to ``request.message``, or None when it has nothing useful to say.

        Contract: no side effects (the suite decides what happens to the draft);
        raise nothing for ordinary input.
        """
