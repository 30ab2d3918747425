"""Deciding the assistant's drafts: approve (send it, or an edited text) or reject."""

from __future__ import annotations

from begasist_suite.inbox.outbox import queue_reply
from begasist_suite.services import Services
from begasist_suite.store.records import Draft, DraftStatus
from begasist_suite.store.store import Conflict, NotFound

__all__ = ["approve_draft", "reject_draft"]


async def approve_draft(
    services: Services, hotel: str, draft_id: str, *, decided_by: str, text: str | None = None
) -> Draft:
    """Send the draft (or *text* instead of it) and mark it sent, once.

    Raises NotFound for a draft or conversation this hotel does not have and
    Conflict for a draft decided already (the API's 404 and 409).
    """
    draft = await services.store.get_draft(hotel, draft_id)
    if draft is None:
        raise NotFound(f"no draft {draft_id!r}")
    if draft.status is not DraftStatus.PENDING:
        raise Conflict(f"draft {draft_id!r} was decided already")
    conversation = await services.store.get_conversation(hotel, draft.conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {draft.conversation_id!r}")
    text = text or draft.text
    # Queue first, then decide: if queueing fails (Redis down) the draft stays
    # pending and can be approved again. The message id is derived from the
    # draft's, so two approvals racing queue one message (the bot sends an id
    # once) and the loser's decision answers 409.
    sent_message_id = f"{draft.id}-sent"
    await queue_reply(services, conversation, text, message_id=sent_message_id)
    decided = await services.store.decide_draft(
        hotel,
        draft_id,
        DraftStatus.SENT,
        decided_by=decided_by,
        text=text,
        sent_message_id=sent_message_id,
    )
    services.live.notify(hotel, "draft.decided", draft_id=draft_id, conversation_id=conversation.id)
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
