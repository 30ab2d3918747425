"""What a sharded channelbot reads with a fleet token: the list of hotels, a page at a time."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import QueryParameter
from pydantic import BaseModel

from begasist_suite.api.dependencies import PrincipalDep, ServicesDep
from begasist_suite.store.records import Page

__all__ = ["FleetBotController"]

Cursor = Annotated[str | None, QueryParameter(max_length=128)]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]


class FleetHotel(BaseModel):
    slug: str
    config_version: int
    """The hotel's settings version, as ``.../bot/settings/version`` answers it."""


class FleetBotController(Controller):
    """The hotel list for sharded bots: a fleet token only (a hotel's bot token is refused)."""

    path = "/api/v1/bot"
    tags = ["bot"]

    @get("/hotels")
    async def list_hotels(
        self,
        principal: PrincipalDep,
        services: ServicesDep,
        limit: Limit = 200,
        cursor: Cursor = None,
    ) -> Page[FleetHotel]:
        """Every hotel by slug; pass ``next_cursor`` for more. Each bot picks its shard's own."""
        if not principal.fleet_bot:
            raise PermissionDeniedException("use a fleet token (begasist tokens create-fleet)")
        page = await services.store.page_hotels(limit=limit, cursor=cursor)
        return Page[FleetHotel](
            items=[FleetHotel(slug=h.slug, config_version=h.config_version) for h in page.items],
            next_cursor=page.next_cursor,
        )
