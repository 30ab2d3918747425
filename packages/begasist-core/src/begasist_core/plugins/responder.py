"""The assistant's contract: a responder turns an inbound message into a reply draft."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Annotated, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from begasist_core.models.messages import Message

__all__ = ["FaqEntry", "ReplyDraft", "ReplyRequest", "Responder"]

_MAX_REPLY_LENGTH = 65536

_LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
"""A lowercase ISO 639 language code: ``es``, ``en``, ``fr``; no region subtag."""

# pattern \S (pydantic searches, not full-matches): a blank answer is no answer.
_ReplyText = Annotated[
    str, StringConstraints(min_length=1, max_length=_MAX_REPLY_LENGTH, pattern=r"\S")
]
"""Text that can become a :class:`ReplyDraft` as it is."""

_Keyword = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\w")]
"""A word or short phrase; it needs a letter or digit, as matching is by words."""


class FaqEntry(BaseModel):
    """One question the hotel answers the same way every time, from its configuration.

    ``keywords`` are per language (``{"en": ("breakfast",), "es": ("desayuno",)}``)
    and say which messages ask this question; ``answers`` are per language too
    and hold at least one answer. How keywords are matched is up to the responder.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    intent: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
    """A slug naming the question (``breakfast``, ``late-checkout``); unique per request."""
    keywords: dict[_LanguageCode, tuple[_Keyword, ...]]
    """Language code -> words or short phrases that signal the intent."""
    answers: Annotated[dict[_LanguageCode, _ReplyText], Field(min_length=1)]
    """Language code -> the answer in that language."""


class ReplyRequest(BaseModel):
    """What a responder sees: the message, the conversation so far, the hotel's FAQ."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: Message
    history: tuple[Message, ...] = ()
    """Earlier messages of the conversation, oldest first."""
    faq: tuple[FaqEntry, ...] = ()
    """The hotel's FAQ, in the hotel's order; intents are unique."""
    fallback: dict[_LanguageCode, _ReplyText] = Field(default_factory=dict)
    """Language code -> the hotel's "a person will answer shortly" text; may be empty."""
    default_language: _LanguageCode = "en"
    """The language to answer in when the guest's cannot be told or is not configured."""

    @model_validator(mode="after")
    def _intents_are_unique(self) -> Self:
        seen: set[str] = set()
        for entry in self.faq:
            if entry.intent in seen:
                raise ValueError(f"faq intent {entry.intent!r} appears twice")
            seen.add(entry.intent)
        return self


class ReplyDraft(BaseModel):
    """A proposed reply: sent at once in automatic mode, approved by staff in supervised."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=_MAX_REPLY_LENGTH)]
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
