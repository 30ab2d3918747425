"""The conversation page's forms for modes and templates: set or clear a conversation's or a
guest's reply mode (managers and owners), send an approved template.

Each is posted with the session's form token, done as the JSON API does it
(``PATCH`` of ``mode_override``; a reply with ``template``), and answered with
a redirect back to the page it came from.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from begasist_core import ReplyMode
from litestar import Controller, Request, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, PathParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from begasist_suite.auth.principal import HotelAccess
from begasist_suite.inbox.outbox import queue_reply
from begasist_suite.store.records import ConversationRecord, Role
from begasist_suite.web.callers import form_access, services_of
from begasist_suite.web.conversation_panel import approved_templates, template_message
from begasist_suite.web.security import safe_next

__all__ = ["ConversationForms", "back_to", "refuse_unsendable"]

MAX_PARAMETER: Final = 1024
"""Longest text of one template parameter (Meta's body limit is 1,024 characters)."""
Id = Annotated[str, PathParameter(max_length=64)]


def refuse_unsendable() -> ClientException:
    """What a form that asks the channel for what it cannot send gets: 422, the error page."""
    return ClientException("not sendable", status_code=HTTP_422_UNPROCESSABLE_ENTITY)


def back_to(form: FormMultiDict, access: HotelAccess, fallback: str) -> Redirect:
    """A redirect to the form's ``back`` (a page of this hotel only), else *fallback*."""
    hotel = access.hotel.slug
    back = safe_next(form.get("back"))
    if back is None or not back.startswith(f"/hotels/{hotel}/"):
        back = fallback
    return Redirect(back, status_code=303)


def _mode(form: FormMultiDict) -> ReplyMode | None:
    """``mode`` of the form: a mode, or empty to clear the override."""
    value = form.get("mode")
    if value in (None, ""):
        return None
    try:
        return ReplyMode(str(value))
    except ValueError:
        raise ClientException("unknown mode", status_code=HTTP_422_UNPROCESSABLE_ENTITY) from None


async def _conversation(
    request: Request[Any, Any, Any], access: HotelAccess, conversation_id: str
) -> ConversationRecord:
    found = await services_of(request).store.get_conversation(access.hotel.slug, conversation_id)
    if found is None:
        raise NotFoundException("not found")
    return found


class ConversationForms(Controller):
    path = "/hotels/{hotel:str}"
    include_in_schema = False

    @post("/conversations/{conversation_id:str}/mode", status_code=303)
    async def conversation_mode(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], conversation_id: Id
    ) -> Redirect:
        """``mode`` for this conversation only; empty clears its override (managers)."""
        access, form = await form_access(request, hotel)
        access.require(Role.MANAGER)
        mode = _mode(form)
        conversation = await _conversation(request, access, conversation_id)
        services = services_of(request)
        await services.store.update_conversation(
            access.hotel.slug, conversation.id, mode_override=mode
        )
        services.live.notify(
            access.hotel.slug, "conversation.updated", conversation_id=conversation.id
        )
        return back_to(form, access, f"/hotels/{access.hotel.slug}/conversations/{conversation.id}")

    @post("/guests/{guest_id:str}/mode", status_code=303)
    async def guest_mode(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], guest_id: Id
    ) -> Redirect:
        """``mode`` for this guest on every channel; empty clears it (managers)."""
        access, form = await form_access(request, hotel)
        access.require(Role.MANAGER)
        mode = _mode(form)
        # NotFound (another hotel's guest, or none) answers the 404 page.
        await services_of(request).store.update_guest(
            access.hotel.slug, guest_id, mode_override=mode
        )
        return back_to(form, access, f"/hotels/{access.hotel.slug}/inbox")

    @post("/conversations/{conversation_id:str}/template", status_code=303)
    async def send_template(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], conversation_id: Id
    ) -> Redirect:
        """Send the approved template ``template`` (``name:language``) with its body
        parameters ``parameter`` (in order); 422 for one the hotel has not listed for a
        channel that sends templates, or a parameter missing."""
        access, form = await form_access(request, hotel)
        conversation = await _conversation(request, access, conversation_id)
        services = services_of(request)
        parameters = [
            value.strip()[:MAX_PARAMETER]
            for value in form.getall("parameter", [])
            if isinstance(value, str)
        ]
        chosen = template_message(
            await approved_templates(services, conversation),
            str(form.get("template", "")),
            parameters,
        )
        if chosen is None:
            raise refuse_unsendable()
        template, preview = chosen
        await queue_reply(services, conversation, preview, template=template)
        return back_to(form, access, f"/hotels/{access.hotel.slug}/conversations/{conversation.id}")
