"""Bot and channel status (presence, state, pairing QR) and dead letters."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from begasist_core import ChannelKeys, DeadLetter, UnknownDeadLetter
from begasist_core.channelbot.presence import Presence, PresenceRecord
from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter, QueryParameter
from pydantic import BaseModel

from begasist_suite.api.dependencies import AccessDep, ServicesDep
from begasist_suite.services import Services
from begasist_suite.store.records import ChannelStatus, Page, Role

__all__ = [
    "DEAD_ID_PATTERN",
    "ChannelStatusView",
    "DeadLetterController",
    "OutboxView",
    "StatusAnswer",
    "StatusController",
    "hotel_dead_letters",
    "hotel_status",
    "retry_hotel_dead_letter",
    "sort_legacy_dead_letters",
]

log = logging.getLogger(__name__)

PAIRING_QR_KEY = "qr"
"""The channel key a pairing channel writes its QR payload to (``context.keys.set("qr", ...)``)."""

DEAD_ID_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}$"
"""A dead-letter stream entry id."""
DeadCursor = Annotated[str | None, QueryParameter(pattern=DEAD_ID_PATTERN)]
DeadLimit = Annotated[int, QueryParameter(ge=1, le=200)]


class ChannelStatusView(BaseModel):
    channel: str
    state: str | None
    """The last state the bot reported, or None if it never reported this channel."""
    detail: str | None = None
    restarts: int = 0
    at: str | None = None
    pairing_qr: str | None = None
    """While the channel is pairing: the QR payload to render for the phone to scan."""


class OutboxView(BaseModel):
    """What the suite accepted for the hotel's bot and has not yet put on its streams."""

    pending: int
    """Replies, commands and config changes waiting (normally 0; more while Redis is down)."""
    pending_capped: bool
    """The store counts no further (Astra: 1,000): at least ``pending`` wait."""
    oldest_age_seconds: float | None
    """How long the first waiting one has waited; None when none waits."""


class StatusAnswer(BaseModel):
    bot_online: bool
    presence: PresenceRecord | None
    """The bot's heartbeat record; None when no bot beats for this hotel."""
    channels: list[ChannelStatusView]
    outbox: OutboxView


class StatusController(Controller):
    path = "/api/v1/hotels/{hotel:str}/status"
    tags = ["status"]

    @get("/")
    async def status(self, access: AccessDep, services: ServicesDep) -> StatusAnswer:
        """Whether the hotel's bot is alive, each channel's state and pairing QR, and what
        waits in the outbox for the bot."""
        return await hotel_status(services, access.hotel.slug)


class DeadLetterController(Controller):
    path = "/api/v1/hotels/{hotel:str}/dead-letters"
    tags = ["status"]

    @get("/")
    async def list_dead_letters(
        self,
        access: AccessDep,
        services: ServicesDep,
        limit: DeadLimit = 50,
        cursor: DeadCursor = None,
    ) -> Page[DeadLetter]:
        """This hotel's events that failed their last delivery, newest first, with the error;
        pass ``next_cursor`` for older ones."""
        access.require(Role.MANAGER)
        return await hotel_dead_letters(services, access.hotel.slug, limit=limit, cursor=cursor)

    @post("/{dead_id:str}/retry", status_code=202)
    async def retry_dead_letter(
        self,
        dead_id: Annotated[str, PathParameter(pattern=DEAD_ID_PATTERN)],
        access: AccessDep,
        services: ServicesDep,
    ) -> dict[str, str]:
        """Put the event back on the stream it came from."""
        access.require(Role.MANAGER)
        return {"entry_id": await retry_hotel_dead_letter(services, access.hotel.slug, dead_id)}


async def hotel_status(services: Services, hotel: str) -> StatusAnswer:
    """The hotel's bot presence, each channel's last state and pairing QR, and its outbox
    backlog (the API's status, the web app's Channels and Operations pages)."""
    presence = await Presence(services.redis, services.names, hotel, ttl=_NO_TTL).read()
    recorded: dict[str, ChannelStatus] = {
        s.channel: s for s in await services.store.list_channel_states(hotel)
    }
    configured = {c.channel for c in await services.store.list_channel_configs(hotel)}
    views = []
    for channel in sorted(configured | set(recorded)):
        state = recorded.get(channel)
        qr = await ChannelKeys(services.redis, services.names, hotel, channel).get(PAIRING_QR_KEY)
        views.append(
            ChannelStatusView(
                channel=channel,
                state=None if state is None else state.state.value,
                detail=None if state is None else state.detail,
                restarts=0 if state is None else state.restarts,
                at=None if state is None else state.at.isoformat(),
                pairing_qr=None if qr is None else qr.decode("utf-8", "replace"),
            )
        )
    backlog = await services.store.outbox_backlog(hotel)
    return StatusAnswer(
        bot_online=presence is not None,
        presence=presence,
        channels=views,
        outbox=OutboxView(
            pending=backlog.pending,
            pending_capped=backlog.pending_capped,
            oldest_age_seconds=backlog.oldest_age_seconds,
        ),
    )


async def hotel_dead_letters(
    services: Services, hotel: str, *, limit: int = 50, cursor: str | None = None
) -> Page[DeadLetter]:
    """A page of *hotel*'s dead letters (its own stream), newest first, older than *cursor*."""
    letters = await services.dead_letters.list(hotel=hotel, count=limit + 1, before=cursor)
    more = len(letters) > limit
    return Page[DeadLetter](
        items=letters[:limit], next_cursor=letters[limit - 1].id if more else None
    )


async def retry_hotel_dead_letter(services: Services, hotel: str, dead_id: str) -> str:
    """Put *hotel*'s dead letter *dead_id* back on its stream; the new entry's id.

    Only *hotel*'s own dead stream is looked in: another hotel's id answers
    404, as one that does not exist (or was retried already) does.
    """
    try:
        new_id = await services.dead_letters.retry(dead_id, hotel=hotel)
    except UnknownDeadLetter:
        raise NotFoundException("not found") from None
    return new_id.decode()


async def sort_legacy_dead_letters(services: Services) -> None:
    """Move what older versions buried in the shared dead stream to each hotel's own (at
    start; a failure is logged and the entries wait for the next start)."""
    try:
        moved = await services.dead_letters.sort_shared()
    except Exception:  # Redis down at start: the suite serves anyway
        log.warning("could not move old dead letters to their hotels' streams", exc_info=True)
        return
    if moved:
        log.info("moved %d old dead letters to their hotels' streams", moved)


_NO_TTL = timedelta(seconds=1)  # only read here; the bot sets the real TTL
