"""What happens to a message after it was sent: edits, a deletion, reactions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "MessageChange",
    "MessageChanges",
    "MessageDeletion",
    "MessageEdit",
    "MessageReaction",
    "Reaction",
    "TextVersion",
    "apply_change",
]

Emoji = Annotated[str, Field(min_length=1, max_length=32)]


class TextVersion(BaseModel):
    """A text a message had, and when it was written (sent or edited)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Annotated[str, Field(max_length=65536)]
    at: AwareDatetime


class Reaction(BaseModel):
    """One person's reaction to a message: the latest one by time wins.

    ``emoji`` None is a reaction taken back; it is kept (with its time) so that
    an older reaction delivered late cannot come back.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: Annotated[str, Field(min_length=1, max_length=320)]
    """Who reacted: their address on the channel (the guest's, or the hotel's own)."""
    emoji: Emoji | None
    at: AwareDatetime


class MessageChanges(BaseModel):
    """A message's edits, deletion and reactions, kept by the suite's store.

    Channels do not fill this in on the messages they emit: they report each
    change with a ``message.changed`` event, which the store applies (forward
    only by the provider's time, idempotently) through
    :meth:`~begasist_core.models.messages.Message.with_change`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    previous: tuple[TextVersion, ...] = ()
    """Every text the message had before its current ``text``, oldest first (for audit)."""
    edited_at: AwareDatetime | None = None
    """When the current ``text`` was written by an edit; None if never edited."""
    deleted_at: AwareDatetime | None = None
    """When its author deleted it; the text stays for audit, staff see it as deleted."""
    reactions: tuple[Reaction, ...] = ()
    """The latest reaction of each person who reacted, taken-back ones included."""

    @property
    def shown_reactions(self) -> tuple[Reaction, ...]:
        """The reactions standing now (not taken back)."""
        return tuple(reaction for reaction in self.reactions if reaction.emoji)


class MessageEdit(BaseModel):
    """Its author changed the message's text (a media message's caption)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["edit"] = "edit"
    text: Annotated[str, Field(max_length=65536)]


class MessageDeletion(BaseModel):
    """Its author deleted the message for everyone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["deletion"] = "deletion"


class MessageReaction(BaseModel):
    """Someone reacted to the message (``emoji``), or took their reaction back (None)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["reaction"] = "reaction"
    emoji: Emoji | None


MessageChange = Annotated[
    MessageEdit | MessageDeletion | MessageReaction, Field(discriminator="kind")
]
"""One change to a message, told apart by ``kind``."""


def apply_change(
    text: str,
    sent_at: datetime,
    changes: MessageChanges | None,
    change: MessageEdit | MessageDeletion | MessageReaction,
    *,
    at: datetime,
    by: str | None,
) -> tuple[str, MessageChanges | None]:
    """The text and changes of a message (sent at *sent_at*) after *change*, made at *at*.

    Forward only and idempotent, whatever order changes arrive in and however
    often: the text is the latest edit's (an older edit delivered late only
    joins the history), a deletion keeps its earliest time, each person's
    latest reaction wins. Nothing changed gives back the very same objects.
    """
    current = changes or MessageChanges()
    if isinstance(change, MessageEdit):
        text_at = current.edited_at or sent_at
        known = {(version.text, version.at) for version in current.previous}
        if (change.text, at) in known or (change.text, at) == (text, text_at):
            return text, changes
        if at > text_at:
            previous = (*current.previous, TextVersion(text=text, at=text_at))
            return change.text, current.model_copy(update={"previous": previous, "edited_at": at})
        late = sorted((*current.previous, TextVersion(text=change.text, at=at)), key=_time)
        return text, current.model_copy(update={"previous": tuple(late)})
    if isinstance(change, MessageDeletion):
        if current.deleted_at is not None and current.deleted_at <= at:
            return text, changes
        return text, current.model_copy(update={"deleted_at": at})
    if by is None:
        raise ValueError("a reaction needs who reacted")
    mine = next((reaction for reaction in current.reactions if reaction.by == by), None)
    if mine is not None and mine.at >= at:
        return text, changes
    others = tuple(reaction for reaction in current.reactions if reaction.by != by)
    reaction = Reaction(by=by, emoji=change.emoji, at=at)
    return text, current.model_copy(update={"reactions": (*others, reaction)})


def _time(version: TextVersion) -> datetime:
    return version.at
