"""The bot's presence: a heartbeat key per hotel with its channels' states."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from begasist_core.events.payloads import ChannelState
from begasist_core.events.streams import StreamNames
from begasist_core.models.messages import utc_now

__all__ = ["ChannelPresence", "Presence", "PresenceRecord"]


class ChannelPresence(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: ChannelState
    detail: str | None = None
    restarts: int = 0


class PresenceRecord(BaseModel):
    """What ``begasist:hotel:{hotel}:presence`` holds while a bot is alive."""

    model_config = ConfigDict(frozen=True)

    instance: str
    pid: int
    fence: int | None
    started_at: AwareDatetime
    heartbeat_at: AwareDatetime = Field(default_factory=utc_now)
    config_version: int | None = None
    channels: Annotated[dict[str, ChannelPresence], Field(default_factory=dict)]


class Presence:
    """Writes the presence key; it expires by itself when the bot stops beating."""

    def __init__(self, redis: Redis, names: StreamNames, hotel: str, *, ttl: timedelta) -> None:
        self._redis = redis
        self.key = names.hotel_key(hotel, "presence")
        self.ttl = ttl

    async def beat(self, record: PresenceRecord) -> None:
        await self._redis.set(self.key, record.model_dump_json(), px=self.ttl)

    async def read(self) -> PresenceRecord | None:
        raw = await self._redis.get(self.key)
        return None if raw is None else PresenceRecord.model_validate_json(raw)

    async def clear(self) -> None:
        await self._redis.delete(self.key)
