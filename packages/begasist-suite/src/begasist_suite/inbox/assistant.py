"""Running the hotel's responder on an inbound message, per the reply mode that applies."""

from __future__ import annotations

import logging

from begasist_core import Message, ReplyMode, ReplyRequest, Responder

from begasist_suite.inbox.modes import effective_mode
from begasist_suite.inbox.outbox import queue_reply
from begasist_suite.services import Services
from begasist_suite.store.records import (
    ASSISTANT,
    ConversationRecord,
    Draft,
    DraftStatus,
    Hotel,
)
from begasist_suite.store.store import draft_id, reply_message_id

__all__ = ["Assistant", "reply_mode"]

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 20


async def reply_mode(services: Services, conversation: ConversationRecord) -> ReplyMode:
    """The mode for this conversation: its override, the guest's, the channel's
    (:func:`~begasist_suite.inbox.modes.effective_mode`, which the pages show)."""
    return (await effective_mode(services, conversation)).mode


class Assistant:
    """Drafts replies with the hotel's responder: sends them (automatic) or keeps them
    for approval (supervised); in manual mode nothing is generated.

    Idempotent per inbound message: the draft and the reply have ids derived
    from the message's, so a redelivered event creates nothing twice.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self._responders: dict[str, Responder] = {}

    def _responder(self, name: str) -> Responder | None:
        if name not in self._responders:
            registered = self._services.plugins.responders.get(name)
            if registered is None:
                return None
            self._responders[name] = registered()
        return self._responders[name]

    async def respond(
        self, hotel: Hotel, conversation: ConversationRecord, message: Message
    ) -> bool:
        """Draft (and in automatic mode send) a reply; False when nothing was generated."""
        services = self._services
        if message.automated is not None:
            # An out-of-office, a bounce, a list: answering it starts mail loops.
            log.info(
                "hotel %s: %s is automated (%s); no draft",
                hotel.slug,
                message.id,
                message.automated,
            )
            return False
        mode = await reply_mode(services, conversation)
        if mode is ReplyMode.MANUAL:
            return False
        responder = self._responder(hotel.responder)
        if responder is None:
            log.warning(
                "hotel %s: responder %r is not installed; no draft", hotel.slug, hotel.responder
            )
            return False
        history = await services.store.list_messages(
            hotel.slug, conversation.id, limit=HISTORY_MESSAGES + 1
        )
        request = ReplyRequest(
            message=message,
            history=tuple(m for m in history.items if m.id != message.id)[-HISTORY_MESSAGES:],
            faq=hotel.faq,
            fallback=dict(hotel.fallback),
            default_language=hotel.default_language,
        )
        reply = await responder.draft(request)
        if reply is None:
            return False
        automatic = mode is ReplyMode.AUTOMATIC
        draft = await services.store.add_draft(
            Draft(
                id=draft_id(message.id),
                hotel=hotel.slug,
                conversation_id=conversation.id,
                message_id=message.id,
                text=reply.text,
                responder=reply.responder,
                confidence=reply.confidence,
                status=DraftStatus.SENT if automatic else DraftStatus.PENDING,
                decided_by=ASSISTANT if automatic else None,
                sent_message_id=reply_message_id(message.id) if automatic else None,
            )
        )
        if automatic and draft.sent_message_id is not None:
            await queue_reply(
                services,
                conversation,
                draft.text,
                message_id=draft.sent_message_id,
                sent_by=ASSISTANT,
            )
        else:
            services.live.notify(
                hotel.slug, "draft.created", draft_id=draft.id, conversation_id=conversation.id
            )
        return True
