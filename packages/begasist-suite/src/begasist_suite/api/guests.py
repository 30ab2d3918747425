"""Guests: one person's identities across channels, and their reply-mode override."""

from __future__ import annotations

from typing import Annotated

from begasist_core import GuestIdentity, ReplyMode
from litestar import Controller, get, patch, post
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, PathParameter, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from begasist_suite.api.dependencies import AccessDep, ServicesDep
from begasist_suite.store.records import Guest, Page, Role

__all__ = ["GuestController"]

Id = Annotated[str, PathParameter(max_length=64)]


class GuestChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: Annotated[str | None, Field(max_length=200)] = None
    mode_override: ReplyMode | None = None
    """``automatic``, ``supervised`` or ``manual`` for this guest on every channel; null: none."""


class GuestController(Controller):
    path = "/api/v1/hotels/{hotel:str}/guests"
    tags = ["guests"]

    @get("/")
    async def list_guests(
        self,
        access: AccessDep,
        services: ServicesDep,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=128)] = None,
    ) -> Page[Guest]:
        return await services.store.list_guests(access.hotel.slug, limit=limit, cursor=cursor)

    @get("/{guest_id:str}")
    async def get_guest(self, guest_id: Id, access: AccessDep, services: ServicesDep) -> Guest:
        guest = await services.store.get_guest(access.hotel.slug, guest_id)
        if guest is None:
            raise NotFoundException("not found")
        return guest

    @patch("/{guest_id:str}")
    async def update_guest(
        self, guest_id: Id, data: JSONBody[GuestChanges], access: AccessDep, services: ServicesDep
    ) -> Guest:
        """Rename the guest or set their reply mode (managers set modes)."""
        changes = data.model_dump(exclude_unset=True)
        if "mode_override" in changes:
            access.require(Role.MANAGER)
        if changes:
            return await services.store.update_guest(access.hotel.slug, guest_id, **changes)
        guest = await services.store.get_guest(access.hotel.slug, guest_id)
        if guest is None:
            raise NotFoundException("not found")
        return guest

    @post("/{guest_id:str}/identities", status_code=200)
    async def link_identity(
        self, guest_id: Id, data: JSONBody[GuestIdentity], access: AccessDep, services: ServicesDep
    ) -> Guest:
        """Record that *data* (a channel address) is this guest too, merging the person."""
        return await services.store.link_identity(access.hotel.slug, guest_id, data)
