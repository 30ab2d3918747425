"""Sending a reply: store it as queued, then put it on the hotel's outbound stream."""

from __future__ import annotations

from begasist_core import Direction, Message, MessageSend, MessageTemplate, make_event, new_id

from begasist_suite.services import Services
from begasist_suite.store.records import ConversationRecord

__all__ = ["queue_reply"]


async def queue_reply(
    services: Services,
    conversation: ConversationRecord,
    text: str,
    *,
    message_id: str | None = None,
    reply_to: str | None = None,
    template: MessageTemplate | None = None,
) -> Message:
    """Store an outbound message and publish ``message.send`` for the bot; return it.

    With a fixed *message_id* (the assistant's reply to a given message) this
    is idempotent: a second call stores nothing new and publishes the same id
    again, which the bot's sent ledger turns into no second send.
    """
    message = Message(
        id=message_id or new_id(),
        hotel=conversation.hotel,
        channel=conversation.channel,
        conversation_key=conversation.key,
        direction=Direction.OUTBOUND,
        guest=conversation.guest,
        text=text,
        reply_to=reply_to,
        template=template,
    )
    if not await services.store.add_outbound(conversation, message):
        stored = await services.store.get_message(conversation.hotel, message.id)
        if stored is not None:
            message = stored
    event = make_event(conversation.hotel, MessageSend(message=message), key=f"send:{message.id}")
    await services.publisher.publish(services.names.outbound(conversation.hotel), event)
    services.live.notify(
        conversation.hotel,
        "message.created",
        conversation_id=conversation.id,
        message_id=message.id,
    )
    return message
