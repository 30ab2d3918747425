"""An admitted guest's conversation on a guest-socket channel, as the guest may see it."""

from __future__ import annotations

from collections.abc import Callable
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
from begasist_suite.store.store import Store

__all__ = ["HISTORY_LIMIT", "guest_history"]

HISTORY_LIMIT: Final = 200
"""Messages shown on (re)connect, oldest first (a longer conversation shows its first ones:
paging back is the widget step's, issue #12)."""


async def guest_history(
    store: Store,
    hotel: str,
    channel: str,
    admission: GuestAdmission,
    media_url: Callable[[str], str] | None = None,
) -> list[GuestHistoryItem]:
    """The messages of the guest's conversation, guest-visible fields only.

    Found by its natural key (hotel, channel, conversation key), never by an id
    the guest sends, so a guest can only ever see their own. Drafts live
    elsewhere and are never included; neither are failure reasons, automated
    flags or anything staff-only. *media_url* gives the guest's URL of a stored file
    of the conversation (only of the types guests may upload); None: no URLs.
    """
    key = admission.conversation_key or admission.address
    # The store's own id of the thread: the same on every replica (store/base.py).
    conversation_id = _stable_id(_thread_id(hotel, channel, key))
    conversation = await store.get_conversation(hotel, conversation_id)
    if conversation is None:
        return []
    page = await store.list_messages(hotel, conversation.id, limit=HISTORY_LIMIT)
    return [
        _visible(message, media_url)
        for message in page.items
        if message.guest.address == admission.address
    ]


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
