"""The bot's presence: a heartbeat key per hotel with its channels' states."""

from __future__ import annotations

import json
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


_CLEAR_IF_OURS = """
local record = redis.call('GET', KEYS[1])
if record and string.find(record, ARGV[1], 1, true) then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Presence:
    """Writes the presence key; it expires by itself when the bot stops beating."""

    def __init__(self, redis: Redis, names: StreamNames, hotel: str, *, ttl: timedelta) -> None:
        self._redis = redis
        self.key = names.hotel_key(hotel, "presence")
        self.ttl = ttl
        self._clear_if_ours = redis.register_script(_CLEAR_IF_OURS)

    async def beat(self, record: PresenceRecord) -> None:
        await self._redis.set(self.key, record.model_dump_json(), px=self.ttl)

    async def read(self) -> PresenceRecord | None:
        raw = await self._redis.get(self.key)
        return None if raw is None else PresenceRecord.model_validate_json(raw)

    async def clear(self, instance: str) -> None:
        """Delete the key if *instance* wrote it: never a successor's (or the active bot's)."""
        # Compare-and-delete in Lua: between a read and a delete here, a
        # successor could have written its own record.
        marker = '"instance":' + json.dumps(instance, ensure_ascii=False)
        await self._clear_if_ours(keys=[self.key], args=[marker])
