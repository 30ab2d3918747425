"""The guest pane's forms: rename the guest, and record another address of theirs.

Any member may do both, as in the JSON API (``PATCH .../guests/{id}`` with
``display_name``, ``POST .../guests/{id}/identities``). Posted with the
session's form token and answered with a redirect back to the conversation.
What the form sends is checked by the same models as the API's (a name of at
most 200 characters; a channel name and an address): anything else answers
the 400 page and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from begasist_core import GuestIdentity
from litestar import Controller, Request, post
from litestar.exceptions import ClientException
from litestar.params import FromPath, PathParameter
from litestar.response import Redirect
from pydantic import ValidationError

from begasist_suite.web.callers import form_access, services_of
from begasist_suite.web.conversation_forms import back_to

__all__ = ["GuestForms"]

Id = Annotated[str, PathParameter(max_length=64)]
MAX_NAME = 200


class GuestForms(Controller):
    path = "/hotels/{hotel:str}/guests"
    include_in_schema = False

    @post("/{guest_id:str}/name", status_code=303)
    async def rename(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], guest_id: Id
    ) -> Redirect:
        """``display_name`` for the guest (empty: back to what their channel says)."""
        access, form = await form_access(request, hotel)
        name = str(form.get("display_name", "")).strip()
        if len(name) > MAX_NAME:
            raise ClientException(f"a name has at most {MAX_NAME} characters")
        # NotFound (another hotel's guest, or none) answers the 404 page.
        await services_of(request).store.update_guest(
            access.hotel.slug, guest_id, display_name=name or None
        )
        return back_to(form, access, f"/hotels/{access.hotel.slug}/inbox")

    @post("/{guest_id:str}/identities", status_code=303)
    async def link(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], guest_id: Id
    ) -> Redirect:
        """``channel`` and ``address``: the guest reaches the hotel there too."""
        access, form = await form_access(request, hotel)
        try:
            identity = GuestIdentity(
                channel=str(form.get("channel", "")).strip(),
                address=str(form.get("address", "")).strip(),
            )
        except ValidationError:
            raise ClientException("a channel and an address are needed") from None
        await services_of(request).store.link_identity(access.hotel.slug, guest_id, identity)
        return back_to(form, access, f"/hotels/{access.hotel.slug}/inbox")
