"""A WhatsApp edit, revoke or reaction as a ``message.changed`` event."""

from __future__ import annotations

from typing import Any, Final

from begasist_core import (
    GuestIdentity,
    MessageChanged,
    MessageDeletion,
    MessageEdit,
    MessageReaction,
)

from begasist_channels_whatsapp.content import SkippedItem
from begasist_channels_whatsapp.payload import InboundMessage

__all__ = ["CHANGE_TYPES", "change_of"]

CHANGE_TYPES: Final = frozenset({"edit", "revoke", "reaction"})
"""Message types that change an earlier message instead of being one."""

_CAPTIONED: Final = ("image", "video", "document", "audio", "sticker")


def _edited_text(edited: dict[str, Any]) -> str:
    """The text of an edited message as it is now: its body, or a media message's caption."""
    kind = edited.get("type")
    text = edited.get("text")
    if kind == "text" and isinstance(text, dict):
        return str(text.get("body") or "")
    for media in _CAPTIONED:
        part = edited.get(media)
        if isinstance(part, dict) and (kind in (None, media)):
            return str(part.get("caption") or "")
    if isinstance(text, dict):
        return str(text.get("body") or "")
    raise SkippedItem(f"an edit to a message of type {kind!r} with no text Begasist reads")


def change_of(message: InboundMessage, by: GuestIdentity | None, channel: str) -> MessageChanged:
    """The change *message* (of a type in :data:`CHANGE_TYPES`) makes, made by *by*.

    Keyed by the change's own wamid (``change_id``), so a retried delivery is the
    same event; applied forward-only by its timestamp.
    """
    if message.type == "reaction":
        if message.reaction is None:
            raise SkippedItem("a reaction message without its reaction object")
        target = message.reaction.message_id
        change: MessageEdit | MessageDeletion | MessageReaction = MessageReaction(
            emoji=message.reaction.emoji or None
        )
    elif message.type == "edit":
        if message.edit is None:
            raise SkippedItem("an edit message without its edit object")
        target = message.edit.original_message_id
        change = MessageEdit(text=_edited_text(message.edit.message)[:65536])
    elif message.type == "revoke":
        if message.revoke is None:
            raise SkippedItem("a revoke message without its revoke object")
        target = message.revoke.original_message_id
        change = MessageDeletion()
    else:
        raise SkippedItem(f"{message.type!r} is not a change")
    if isinstance(change, MessageReaction) and by is None:
        raise SkippedItem(f"a reaction to {target} without who reacted")
    return MessageChanged(
        channel=channel,
        provider_message_id=target,
        change=change,
        by=by,
        change_id=message.id,
        at=message.timestamp,
    )
