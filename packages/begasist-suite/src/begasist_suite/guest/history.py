"""An admitted guest's conversation on a guest-socket channel, as the guest may see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from begasist_core import (
    GUEST_UPLOAD_TYPES,
    Attachment,
    GuestAdmission,
    GuestAttachment,
    GuestHistoryItem,
    Message,
    media_key_of,
)

from begasist_suite.store.base import _stable_id, _thread_id
from begasist_suite.store.inbox import message_cursor
from begasist_suite.store.store import Store

__all__ = ["HISTORY_LIMIT", "GuestHistory", "guest_history"]

HISTORY_LIMIT: Final = 200
"""Messages shown on (re)connect and per page back: a long conversation's newest ones,
then the guest asks for the ones before (the suite's ``earlier`` frame)."""


@dataclass(frozen=True, slots=True)
class GuestHistory:
    """One page of a guest's conversation, oldest first."""

    items: list[GuestHistoryItem]
    earlier: bool
    """Whether the conversation has messages before these."""


async def guest_history(
    store: Store,
    hotel: str,
    channel: str,
    admission: GuestAdmission,
    media_url: Callable[[str], str] | None = None,
    *,
    before: str | None = None,
) -> GuestHistory:
    """The newest :data:`HISTORY_LIMIT` messages of the guest's conversation (or those just
    before the message *before*), guest-visible fields only.

    Found by its natural key (hotel, channel, conversation key), never by an id
    the guest sends: *before* only places the page, and a message that is not
    of this guest's conversation gives an empty one. So a guest can only ever
    see their own. Drafts live elsewhere and are never included; neither are
    failure reasons, automated flags or anything staff-only. *media_url* gives the
    guest's URL of a stored file of the conversation (only of the types guests may
    upload); None: no URLs.
    """
    key = admission.conversation_key or admission.address
    # The store's own id of the thread: the same on every replica (store/base.py).
    conversation_id = _stable_id(_thread_id(hotel, channel, key))
    conversation = await store.get_conversation(hotel, conversation_id)
    if conversation is None:
        return GuestHistory([], earlier=False)
    cursor = None
    if before is not None:
        anchor = await store.get_message(hotel, before)
        if anchor is None or not _theirs(anchor, channel, key, admission):
            return GuestHistory([], earlier=False)
        cursor = message_cursor(anchor)
    page = await store.list_messages(
        hotel, conversation.id, limit=HISTORY_LIMIT, cursor=cursor, newest_first=True
    )
    items = [
        _visible(message, media_url)
        for message in reversed(page.items)
        if message.guest.address == admission.address
    ]
    return GuestHistory(items, earlier=page.next_cursor is not None)


def _theirs(message: Message, channel: str, key: str, admission: GuestAdmission) -> bool:
    return (
        message.channel == channel
        and message.conversation_key == key
        and message.guest.address == admission.address
    )


def _file(attachment: Attachment, media_url: Callable[[str], str] | None) -> GuestAttachment:
    key = media_key_of(attachment.url)
    url = None
    if media_url is not None and key is not None and attachment.mime_type in GUEST_UPLOAD_TYPES:
        url = media_url(key)
    return GuestAttachment(
        kind=attachment.kind,
        mime_type=attachment.mime_type,
        filename=attachment.filename,
        size_bytes=attachment.size_bytes,
        url=url,
    )


def _visible(message: Message, media_url: Callable[[str], str] | None) -> GuestHistoryItem:
    return GuestHistoryItem(
        id=message.id,
        direction=message.direction,
        text=message.text,
        created_at=message.created_at,
        status=message.status,
        provider_message_id=message.provider_message_id,
        attachments=tuple(_file(attachment, media_url) for attachment in message.attachments),
    )
