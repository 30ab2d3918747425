"""Deciding the assistant's drafts: approve (send it, or an edited text) or reject."""

from __future__ import annotations

from begasist_suite.inbox.outbox import queue_reply
from begasist_suite.services import Services
from begasist_suite.store.records import Draft, DraftStatus
from begasist_suite.store.store import Conflict, NotFound

__all__ = ["approve_draft", "mark_conversation_read", "reject_draft"]


async def approve_draft(
    services: Services, hotel: str, draft_id: str, *, decided_by: str, text: str | None = None
) -> Draft:
    """Queue the draft (or *text* instead of it) in the outbox and mark it sent, once.

    Raises NotFound for a draft or conversation this hotel does not have and
    Conflict for a draft decided already (the API's 404 and 409). The API's
    approve (inside its ``Idempotency-Key`` handling) and the web app's form
    both come through here.
    """
    store = services.store
    # The message (with its message.send in the outbox) and the decision are one
    # transaction where the store has them (inside the API's, if it opened one);
    # elsewhere (Astra) the message comes first, with an id derived from the
    # draft's, so approvals racing (or one retried after a crash) store one
    # message, and the decision that loses answers 409.
    async with store.unit_of_work():
        draft = await store.get_draft(hotel, draft_id)
        if draft is None:
            raise NotFound(f"no draft {draft_id!r}")
        if draft.status is not DraftStatus.PENDING:
            raise Conflict(f"draft {draft_id!r} was decided already")
        conversation = await store.get_conversation(hotel, draft.conversation_id)
        if conversation is None:
            raise NotFound(f"no conversation {draft.conversation_id!r}")
        sent = await queue_reply(
            services,
            conversation,
            text or draft.text,
            message_id=f"{draft.id}-sent",
            sent_by=decided_by,
        )
        decided = await store.decide_draft(
            hotel,
            draft_id,
            DraftStatus.SENT,
            decided_by=decided_by,
            text=sent.text,  # the racing approval's text, if it stored the message
            sent_message_id=sent.id,
        )
        services.live.notify(
            hotel, "draft.decided", draft_id=draft_id, conversation_id=conversation.id
        )
    return decided


async def reject_draft(services: Services, hotel: str, draft_id: str, *, decided_by: str) -> Draft:
    """Mark the draft rejected, once (NotFound, Conflict as for :func:`approve_draft`)."""
    decided = await services.store.decide_draft(
        hotel, draft_id, DraftStatus.REJECTED, decided_by=decided_by
    )
    services.live.notify(
        hotel, "draft.decided", draft_id=draft_id, conversation_id=decided.conversation_id
    )
    return decided


async def mark_conversation_read(services: Services, hotel: str, conversation_id: str) -> int:
    """A staff member read the conversation: its guest messages become ``read``, its
    unread count 0 (the hotel's goes down as much), and pages are told; how many moved."""
    moved = await services.store.mark_read(hotel, conversation_id)
    if moved:
        services.live.notify(hotel, "conversation.read", conversation_id=conversation_id)
    return moved
