"""The inbox: conversations, their messages, staff replies and the assistant's drafts."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from begasist_core import ConversationStatus, Message, MessageTemplate, ReplyMode, UnknownChannel
from litestar import Controller, Response, get, patch, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import BaseModel, ConfigDict, Field, model_validator

from begasist_suite.api.dependencies import AccessDep, ServicesDep
from begasist_suite.api.idempotency import IDEMPOTENT, REPLAY_HEADERS, Attempt, IdempotencyDep
from begasist_suite.inbox.drafts import approve_draft, mark_conversation_read, reject_draft
from begasist_suite.inbox.outbox import queue_reply
from begasist_suite.inbox.reply_window import window_state
from begasist_suite.inbox.template_statuses import template_refusal
from begasist_suite.metrics import REPLY_WINDOW_REFUSALS
from begasist_suite.store.records import ConversationRecord, Draft, DraftStatus, Page, Role

__all__ = ["ConversationController", "DraftController"]

Id = Annotated[str, PathParameter(max_length=64)]
Cursor = Annotated[str | None, QueryParameter(max_length=128)]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]


class ConversationChanges(BaseModel):
    """Assign (or unassign with ``null``), resolve or reopen, override the reply mode."""

    model_config = ConfigDict(extra="forbid")
    assignee: Annotated[str | None, Field(max_length=200)] = None
    status: ConversationStatus | None = None
    mode_override: ReplyMode | None = None


class ReplyBody(BaseModel):
    """Free text, or a provider-approved template (with ``text`` as its preview)."""

    model_config = ConfigDict(
        extra="forbid",
        # What _text_or_template checks, for the OpenAPI document.
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": {"minLength": 1}}},
                {"required": ["template"], "properties": {"template": {"type": "object"}}},
            ]
        },
    )
    text: Annotated[str, Field(max_length=65536)] = ""
    reply_to: Annotated[str | None, Field(max_length=512)] = None
    """The provider id of the guest message this answers (channels with threading)."""
    template: MessageTemplate | None = None
    """Send this template: the only thing a channel with a reply window (WhatsApp)
    sends once the guest's window has closed."""

    @model_validator(mode="after")
    def _text_or_template(self) -> Self:
        if not self.text and self.template is None:
            raise ValueError("a reply needs text or a template")
        return self


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str | None, Field(min_length=1, max_length=65536)] = None
    """Edit-and-send: the text to send instead of the draft's."""


class ConversationController(Controller):
    path = "/api/v1/hotels/{hotel:str}/conversations"
    tags = ["inbox"]

    @get("/")
    async def list_conversations(
        self,
        access: AccessDep,
        services: ServicesDep,
        channel: Annotated[str | None, QueryParameter(max_length=32)] = None,
        status: Annotated[ConversationStatus | None, QueryParameter()] = None,
        assignee: Annotated[str | None, QueryParameter(max_length=200)] = None,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        mode: Annotated[ReplyMode | None, QueryParameter()] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[ConversationRecord]:
        """The hotel's conversations, latest activity first; pass ``next_cursor`` for more.

        ``q`` searches by the guest: words match the start of a word of their name
        (or of their address's local part), case and accents ignored; a phone
        number's digits match digits in a row of theirs; an address matches whole,
        or its local part (``ana@``). It combines with the other filters.

        ``mode`` keeps the conversations to which that reply mode applies: the
        conversation's own, else its guest's, else its channel's (supervised when
        the channel's settings name none).
        """
        return await services.store.list_conversations(
            access.hotel.slug,
            channel=channel,
            status=status,
            assignee=assignee,
            search=q,
            mode=mode,
            limit=limit,
            cursor=cursor,
        )

    @get("/{conversation_id:str}")
    async def get_conversation(
        self, conversation_id: Id, access: AccessDep, services: ServicesDep
    ) -> ConversationRecord:
        return await _conversation(services, access, conversation_id)

    @patch("/{conversation_id:str}")
    async def update_conversation(
        self,
        conversation_id: Id,
        data: JSONBody[ConversationChanges],
        access: AccessDep,
        services: ServicesDep,
    ) -> ConversationRecord:
        changes = data.model_dump(exclude_unset=True)
        if "mode_override" in changes:
            access.require(Role.MANAGER)
        if changes.get("status", "") is None:
            changes.pop("status")
        updated = await services.store.update_conversation(
            access.hotel.slug, conversation_id, **changes
        )
        services.live.notify(
            access.hotel.slug, "conversation.updated", conversation_id=conversation_id
        )
        return updated

    @post("/{conversation_id:str}/read", status_code=200)
    async def mark_read(
        self, conversation_id: Id, access: AccessDep, services: ServicesDep
    ) -> ConversationRecord:
        """A staff member read the conversation: its guest messages become ``read``
        and its ``unread`` count 0. Reading it again changes nothing."""
        await _conversation(services, access, conversation_id)
        await mark_conversation_read(services, access.hotel.slug, conversation_id)
        return await _conversation(services, access, conversation_id)

    @get("/{conversation_id:str}/messages")
    async def list_messages(
        self,
        conversation_id: Id,
        access: AccessDep,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        order: Annotated[Literal["asc", "desc"], QueryParameter()] = "asc",
    ) -> Page[Message]:
        """The conversation's messages with attachments metadata, oldest first; with
        ``order=desc`` newest first, so a long thread's latest messages come in the first
        page and ``next_cursor`` pages back in time."""
        await _conversation(services, access, conversation_id)
        return await services.store.list_messages(
            access.hotel.slug,
            conversation_id,
            limit=limit,
            cursor=cursor,
            newest_first=order == "desc",
        )

    @post(
        "/{conversation_id:str}/messages",
        status_code=202,
        dependencies=IDEMPOTENT,
        response_headers=REPLAY_HEADERS,
    )
    async def reply(
        self,
        conversation_id: Id,
        data: JSONBody[ReplyBody],
        access: AccessDep,
        services: ServicesDep,
        idempotency: IdempotencyDep,
    ) -> Response[Message]:
        """A staff reply: stored as queued and handed to the hotel's bot to send.

        202 once it is stored: the bot gets it through the outbox, even if Redis
        is down at this moment. With an ``Idempotency-Key``, the message's id is
        derived from the key, so a retry never stores a second message.
        """

        async def send(attempt: Attempt) -> Message:
            conversation = await _conversation(services, access, conversation_id)
            if data.template is not None and not _sends_templates(services, conversation.channel):
                raise ClientException(
                    f"the {conversation.channel} channel sends no templates",
                    status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                )
            if data.template is None:
                await _refuse_closed_window(services, conversation)
            else:
                refused = await template_refusal(services, conversation, data.template)
                if refused is not None:
                    raise ClientException(
                        refused,
                        status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                        extra={"type": "template_refused"},
                    )
            return await queue_reply(
                services,
                conversation,
                data.text,
                message_id=attempt.derived_id("message"),
                reply_to=data.reply_to,
                template=data.template,
                sent_by=access.user.id,
            )

        return await idempotency.run(send)

    @get("/{conversation_id:str}/drafts")
    async def list_conversation_drafts(
        self,
        conversation_id: Id,
        access: AccessDep,
        services: ServicesDep,
        status: Annotated[DraftStatus | None, QueryParameter()] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[Draft]:
        """The conversation's drafts (all, or of one *status*), newest first; pass
        ``next_cursor`` for more."""
        await _conversation(services, access, conversation_id)
        return await services.store.list_drafts(
            access.hotel.slug,
            conversation_id=conversation_id,
            status=status,
            limit=limit,
            cursor=cursor,
        )


class DraftController(Controller):
    path = "/api/v1/hotels/{hotel:str}/drafts"
    tags = ["inbox"]

    @get("/")
    async def list_drafts(
        self,
        access: AccessDep,
        services: ServicesDep,
        status: Annotated[DraftStatus | None, QueryParameter()] = DraftStatus.PENDING,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[Draft]:
        """The assistant's drafts (pending ones by default), newest first; pass
        ``next_cursor`` for more."""
        return await services.store.list_drafts(
            access.hotel.slug, status=status, limit=limit, cursor=cursor
        )

    @post(
        "/{draft_id:str}/approve",
        status_code=202,
        dependencies=IDEMPOTENT,
        response_headers=REPLAY_HEADERS,
    )
    async def approve(
        self,
        draft_id: Id,
        access: AccessDep,
        services: ServicesDep,
        idempotency: IdempotencyDep,
        data: JSONBody[ApproveBody | None] = None,
    ) -> Response[Draft]:
        """Send the draft, or the edited text given; a draft is decided once (409 after).

        No body (or an empty one, or ``{}``) approves the draft as it is.
        """
        hotel = access.hotel.slug
        text = None if data is None else data.text

        async def approve(attempt: Attempt) -> Draft:
            return await approve_draft(
                services, hotel, draft_id, decided_by=access.user.id, text=text
            )

        return await idempotency.run(approve)

    @post(
        "/{draft_id:str}/reject",
        status_code=200,
        dependencies=IDEMPOTENT,
        response_headers=REPLAY_HEADERS,
    )
    async def reject(
        self, draft_id: Id, access: AccessDep, services: ServicesDep, idempotency: IdempotencyDep
    ) -> Response[Draft]:
        """Reject the draft: nothing is sent; a draft is decided once (409 after)."""

        async def reject(attempt: Attempt) -> Draft:
            return await reject_draft(
                services, access.hotel.slug, draft_id, decided_by=access.user.id
            )

        return await idempotency.run(reject)


async def _refuse_closed_window(services: ServicesDep, conversation: ConversationRecord) -> None:
    """422 ``reply_window_closed`` for free text once the channel's reply window has
    closed (or before the guest ever wrote): the channel would only fail it."""
    state = await window_state(services, conversation)
    if not state.closed:
        return
    REPLY_WINDOW_REFUSALS.labels(conversation.channel).inc()
    since = "" if state.closed_at is None else f" at {state.closed_at.isoformat()}"
    only = "only a template can be sent" if state.sends_templates else "nothing can be sent"
    raise ClientException(
        f"the {conversation.channel} reply window closed{since}: {only} until the guest "
        "writes again",
        status_code=HTTP_422_UNPROCESSABLE_ENTITY,
        extra={
            "type": "reply_window_closed",
            "closed_at": None if state.closed_at is None else state.closed_at.isoformat(),
        },
    )


def _sends_templates(services: ServicesDep, channel: str) -> bool:
    try:
        return services.plugins.channel(channel).capabilities.templates
    except UnknownChannel:
        return False


async def _conversation(
    services: ServicesDep, access: AccessDep, conversation_id: str
) -> ConversationRecord:
    found = await services.store.get_conversation(access.hotel.slug, conversation_id)
    if found is None:
        raise NotFoundException("not found")
    return found
