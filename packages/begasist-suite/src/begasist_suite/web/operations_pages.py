"""The Operations page (managers): the hotel's bot, its channels' states, its dead letters.

Everything comes from the API's own functions (``hotel_status``,
``hotel_dead_letters``, ``retry_hotel_dead_letter``), so the page shows what
``GET /status`` and ``GET /dead-letters`` answer, and a retry does what theirs does.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from begasist_core import DeadLetter, utc_now
from litestar import Controller, Request, get, post
from litestar.params import FromPath, PathParameter, QueryParameter
from litestar.response import Redirect, Template

from begasist_suite.api.status import (
    DEAD_ID_PATTERN,
    hotel_dead_letters,
    hotel_status,
    retry_hotel_dead_letter,
)
from begasist_suite.store.records import Role
from begasist_suite.web.callers import form_access, page_access, services_of
from begasist_suite.web.channel_views import state_view
from begasist_suite.web.i18n import N_, Language
from begasist_suite.web.pages import language_of, load_chrome, render
from begasist_suite.web.team_forms import done_message, redirect_done
from begasist_suite.web.views import channel_label

__all__ = ["OperationsPages"]

LETTERS_PER_PAGE: Final = 50
DeadId = Annotated[str, PathParameter(pattern=DEAD_ID_PATTERN)]
DONE: Final = {
    "retried": N_("The event is back on its stream: the bot or the suite takes it again.")
}


def _letter_view(letter: DeadLetter, language: Language) -> dict[str, Any]:
    """A dead letter for people: what kind of event, from which stream, why it failed."""
    try:
        document: Any = json.loads(letter.payload)
    except ValueError:
        document = None
    kind = document.get("type") if isinstance(document, dict) else None
    return {
        "id": letter.id,
        "kind": kind if isinstance(kind, str) else language.gettext("unreadable entry"),
        "stream": letter.source_stream.rsplit(":", 1)[-1],
        "reason": letter.reason,
        "error": letter.error,
        "deliveries": letter.deliveries,
        "at": letter.failed_at,
    }


class OperationsPages(Controller):
    path = "/hotels/{hotel:str}/operations"
    include_in_schema = False

    @get("/")
    async def operations(
        self,
        request: Request[Any, Any, Any],
        hotel: FromPath[str],
        done: Annotated[str | None, QueryParameter(max_length=16)] = None,
        older: Annotated[str | None, QueryParameter(pattern=DEAD_ID_PATTERN)] = None,
    ) -> Template:
        """The bot, the channels and a page of dead letters (``?older=<id>``: the next one)."""
        principal, access = await page_access(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        current = language_of(request)
        slug = access.hotel.slug
        status = await hotel_status(services, slug)
        presence = status.presence
        letters = await hotel_dead_letters(services, slug, limit=LETTERS_PER_PAGE, cursor=older)
        return render(
            request,
            "operations.html",
            chrome=await load_chrome(services, principal, access),
            hotel=access.hotel,
            bot_online=status.bot_online,
            presence=presence,
            started=None if presence is None else presence.started_at,
            heartbeat=None if presence is None else current.ago(presence.heartbeat_at, utc_now()),
            stale_config=presence is not None
            and presence.config_version is not None
            and presence.config_version != access.hotel.config_version,
            channels=[
                {
                    "name": view.channel,
                    "label": channel_label(view.channel, current),
                    "state": state_view(view, current),
                    "restarts": view.restarts,
                }
                for view in status.channels
            ],
            letters=[_letter_view(letter, current) for letter in letters.items],
            older=letters.next_cursor,
            newest=older is not None,
            done=done_message(DONE, done, current),
        )

    @post("/dead-letters/{dead_id:str}/retry", status_code=303)
    async def retry(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], dead_id: DeadId
    ) -> Redirect:
        """Put one of the hotel's dead letters back on its stream (404 for anyone else's)."""
        access, _ = await form_access(request, hotel)
        access.require(Role.MANAGER)
        await retry_hotel_dead_letter(services_of(request), access.hotel.slug, dead_id)
        return redirect_done(access, "operations", "retried")
