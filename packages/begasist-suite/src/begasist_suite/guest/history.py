"""An admitted guest's conversation on a guest-socket channel, as the guest may see it."""

from __future__ import annotations

from typing import Final

from begasist_core import GuestAdmission, GuestHistoryItem, Message

from begasist_suite.store.base import _stable_id, _thread_id
from begasist_suite.store.store import Store

__all__ = ["HISTORY_LIMIT", "guest_history"]

HISTORY_LIMIT: Final = 200
"""Messages shown on (re)connect, oldest first (a longer conversation shows its first ones:
paging back is the widget step's, issue #12)."""


async def guest_history(
    store: Store, hotel: str, channel: str, admission: GuestAdmission
) -> list[GuestHistoryItem]:
    """The messages of the guest's conversation, guest-visible fields only.

    Found by its natural key (hotel, channel, conversation key), never by an id
    the guest sends, so a guest can only ever see their own. Drafts live
    elsewhere and are never included; neither are failure reasons, automated
    flags or anything staff-only.
    """
    key = admission.conversation_key or admission.address
    # The store's own id of the thread: the same on every replica (store/base.py).
    conversation_id = _stable_id(_thread_id(hotel, channel, key))
    conversation = await store.get_conversation(hotel, conversation_id)
    if conversation is None:
        return []
    page = await store.list_messages(hotel, conversation.id, limit=HISTORY_LIMIT)
    return [
        _visible(message) for message in page.items if message.guest.address == admission.address
    ]


def _visible(message: Message) -> GuestHistoryItem:
    return GuestHistoryItem(
        id=message.id,
        direction=message.direction,
        text=message.text,
        created_at=message.created_at,
        status=message.status,
        provider_message_id=message.provider_message_id,
    )
