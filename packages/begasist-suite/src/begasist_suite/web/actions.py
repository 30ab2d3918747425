"""The conversation's forms: reply, assign, resolve / reopen, approve or reject a draft.

Each is posted, done through the same functions as the API's, and answered
with a redirect back to the page it came from (post / redirect / get).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from begasist_core import ConversationStatus
from litestar import Controller, Request, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, PathParameter
from litestar.response import Redirect

from begasist_suite.auth.principal import HotelAccess
from begasist_suite.inbox.drafts import approve_draft, reject_draft
from begasist_suite.inbox.outbox import queue_reply
from begasist_suite.metrics import REPLY_WINDOW_REFUSALS
from begasist_suite.web.callers import form_access, services_of
from begasist_suite.web.conversation_forms import refuse_unsendable
from begasist_suite.web.conversation_panel import reply_window
from begasist_suite.web.pages import language_of
from begasist_suite.web.security import safe_next

__all__ = ["ConversationActions"]

MAX_TEXT: Final = 65536
Id = Annotated[str, PathParameter(max_length=64)]


def _back(form: FormMultiDict, access: HotelAccess, conversation_id: str) -> Redirect:
    """To the page the form was on (a page of this hotel), else the conversation."""
    hotel = access.hotel.slug
    back = safe_next(form.get("back"))
    if back is None or not back.startswith(f"/hotels/{hotel}/"):
        back = f"/hotels/{hotel}/conversations/{conversation_id}"
    return Redirect(back, status_code=303)


def _text(form: FormMultiDict, name: str) -> str:
    value = form.get(name)
    return value.strip()[:MAX_TEXT] if isinstance(value, str) else ""


class ConversationActions(Controller):
    path = "/hotels/{hotel:str}"
    include_in_schema = False

    @post("/conversations/{conversation_id:str}/reply", status_code=303)
    async def reply(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], conversation_id: Id
    ) -> Redirect:
        """Send a staff reply (an empty one sends nothing; 422 once the channel's reply
        window has closed: only a template may go then, ``conversation_forms``)."""
        access, form = await form_access(request, hotel)
        services = services_of(request)
        conversation = await services.store.get_conversation(access.hotel.slug, conversation_id)
        if conversation is None:
            raise NotFoundException("not found")
        text = _text(form, "text")
        if text and (await reply_window(services, conversation, language_of(request))).closed:
            REPLY_WINDOW_REFUSALS.labels(conversation.channel).inc()
            raise refuse_unsendable()  # the page was older than the window: nothing is sent
        if text:
            await queue_reply(services, conversation, text, sent_by=access.user.id)
        return _back(form, access, conversation.id)

    @post("/conversations/{conversation_id:str}/assign", status_code=303)
    async def assign(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], conversation_id: Id
    ) -> Redirect:
        """``to=me`` takes the conversation, ``to=nobody`` leaves it unassigned."""
        access, form = await form_access(request, hotel)
        target = form.get("to")
        assignee = access.user.id if target == "me" else None
        return await _change(request, access, form, conversation_id, assignee=assignee)

    @post("/conversations/{conversation_id:str}/status", status_code=303)
    async def set_status(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], conversation_id: Id
    ) -> Redirect:
        """Resolve (``status=resolved``) or reopen (``status=open``)."""
        access, form = await form_access(request, hotel)
        try:
            status = ConversationStatus(str(form.get("status")))
        except ValueError:
            return _back(form, access, conversation_id)
        return await _change(request, access, form, conversation_id, status=status)

    @post("/drafts/{draft_id:str}/approve", status_code=303)
    async def approve(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], draft_id: Id
    ) -> Redirect:
        """``action=approve`` sends the draft as it is; ``action=edit`` the text of its box."""
        access, form = await form_access(request, hotel)
        edited = _text(form, "text") if form.get("action") == "edit" else ""
        decided = await approve_draft(
            services_of(request),
            access.hotel.slug,
            draft_id,
            decided_by=access.user.id,
            text=edited or None,
        )
        return _back(form, access, decided.conversation_id)

    @post("/drafts/{draft_id:str}/reject", status_code=303)
    async def reject(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], draft_id: Id
    ) -> Redirect:
        access, form = await form_access(request, hotel)
        decided = await reject_draft(
            services_of(request), access.hotel.slug, draft_id, decided_by=access.user.id
        )
        return _back(form, access, decided.conversation_id)


async def _change(
    request: Request[Any, Any, Any],
    access: HotelAccess,
    form: FormMultiDict,
    conversation_id: str,
    **changes: Any,
) -> Redirect:
    """Change the conversation as the API's PATCH does, and tell the hotel's open pages."""
    services = services_of(request)
    updated = await services.store.update_conversation(
        access.hotel.slug, conversation_id, **changes
    )
    services.live.notify(access.hotel.slug, "conversation.updated", conversation_id=updated.id)
    return _back(form, access, updated.id)
