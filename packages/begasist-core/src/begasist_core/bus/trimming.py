"""Trimming a stream of what every consumer group is done with, and of nothing else.

Streams used to be trimmed to a length on every ``XADD`` (``MAXLEN ~ n``), which
does not wait for the consumers: a group more than *n* entries behind (a bot down
for a while, a suite consumer stopped during a flood) lost the oldest entries it
had not read, although each had been accepted (a webhook answered 200, a staff
reply answered 202). Now events are appended untrimmed and each consumer, every
reclaim interval, trims its stream below the oldest entry that some group still
needs: for each group the oldest entry delivered but not acknowledged (its
pending list), else its last delivered entry; the minimum over the groups.

So nothing unread and nothing unacknowledged is ever trimmed, and a stream stays
about as long as its slowest group's backlog plus one trimming interval. A
stream with no group at all (a hotel whose bot never ran) is not trimmed: its
entries wait for the bot; the suite bounds that wait by refusing webhooks above
a backlog (``BEGASIST_INGRESS_BACKLOG_LIMIT``). A group that nobody will ever
read again (one left by an old deployment) holds the stream back: remove it with
``XGROUP DESTROY`` (docs/channelbot.md, "What it does", "Streams").

Trimming is approximate (``MINID ~``): Redis frees only whole internal nodes,
which is cheap and only ever keeps a few entries more than asked.
"""

from __future__ import annotations

from typing import Final, cast

from redis.asyncio import Redis

__all__ = ["StreamTrimmer"]

# XINFO GROUPS and XPENDING's summary per group, all inside Redis: one round trip,
# and no entry is acknowledged or delivered between the look and the trim.
# Entry ids compare as (milliseconds, sequence) pairs; both fit a Lua number
# exactly (milliseconds are 13 digits, far below 2^53).
_TRIM_SCRIPT: Final = """
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if type(groups) ~= 'table' or groups.err or #groups == 0 then
  return 0
end
local function before(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, bms = tonumber(ams), tonumber(bms)
  if ams ~= bms then
    return ams < bms
  end
  return tonumber(aseq) < tonumber(bseq)
end
local boundary = nil
for _, group in ipairs(groups) do
  local name, needed = nil, nil
  for i = 1, #group, 2 do
    if group[i] == 'name' then
      name = group[i + 1]
    elseif group[i] == 'last-delivered-id' then
      needed = group[i + 1]
    end
  end
  local pending = redis.call('XPENDING', KEYS[1], name)
  if pending[1] > 0 and before(pending[2], needed) then
    needed = pending[2]
  end
  if boundary == nil or before(needed, boundary) then
    boundary = needed
  end
end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', boundary)
"""


class StreamTrimmer:
    """Trims streams of the entries every consumer group has finished with (module docstring)."""

    def __init__(self, redis: Redis) -> None:
        self._trim = redis.register_script(_TRIM_SCRIPT)

    async def trim(self, stream: str) -> int:
        """Remove the entries of *stream* below the oldest one some group still needs.

        Returns how many were removed (0 for a stream with no group, or no such
        stream). Never removes an entry a group has not read or not acknowledged.
        """
        return cast(int, await self._trim(keys=[stream]))
