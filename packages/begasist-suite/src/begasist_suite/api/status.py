"""Bot and channel status (presence, state, pairing QR) and dead letters."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from begasist_core import ChannelKeys, DeadLetter, UnknownDeadLetter
from begasist_core.channelbot.presence import Presence, PresenceRecord
from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter
from pydantic import BaseModel

from begasist_suite.api.dependencies import AccessDep, ServicesDep
from begasist_suite.services import Services
from begasist_suite.store.records import ChannelStatus, Role

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
]

PAIRING_QR_KEY = "qr"
"""The channel key a pairing channel writes its QR payload to (``context.keys.set("qr", ...)``)."""

DEAD_LETTER_SCAN = 1000
DEAD_ID_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}$"
"""A dead-letter stream entry id."""


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
    async def list_dead_letters(self, access: AccessDep, services: ServicesDep) -> list[DeadLetter]:
        """This hotel's events that failed their last delivery, newest first, with the error."""
        access.require(Role.MANAGER)
        return await hotel_dead_letters(services, access.hotel.slug)

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


async def hotel_dead_letters(services: Services, hotel: str) -> list[DeadLetter]:
    """*hotel*'s dead letters among the newest of the shared dead stream, newest first."""
    letters = await services.dead_letters.list(count=DEAD_LETTER_SCAN)
    return [d for d in letters if _hotel_of(d) == hotel]


async def retry_hotel_dead_letter(services: Services, hotel: str, dead_id: str) -> str:
    """Put *hotel*'s dead letter *dead_id* back on its stream; the new entry's id.

    404 for an id that is not one of *hotel*'s dead letters, as for one that
    does not exist.
    """
    letters = await services.dead_letters.list(count=DEAD_LETTER_SCAN)
    if not any(d.id == dead_id and _hotel_of(d) == hotel for d in letters):
        raise NotFoundException("not found")
    try:
        new_id = await services.dead_letters.retry(dead_id)
    except UnknownDeadLetter:
        raise NotFoundException("not found") from None
    return new_id.decode()


def _hotel_of(letter: DeadLetter) -> str | None:
    """The hotel of an entry: from its stream's name, or its payload on the shared stream."""
    parts = letter.source_stream.split(":")
    if len(parts) >= 3 and parts[-3] == "hotel":
        return parts[-2]
    try:
        document: Any = json.loads(letter.payload)
    except ValueError:
        return None
    hotel = document.get("hotel") if isinstance(document, dict) else None
    return hotel if isinstance(hotel, str) else None


_NO_TTL = timedelta(seconds=1)  # only read here; the bot sets the real TTL
