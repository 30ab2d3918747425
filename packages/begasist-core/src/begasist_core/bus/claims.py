"""A consumer's claims on pending entries: keep them, hand them back, take over stale ones."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from redis.asyncio import Redis
from redis.typing import StreamIdT

from begasist_core.metrics import EVENTS_ACKED, stream_kind

__all__ = ["HAND_BACK_IDLE_MS", "ClaimPage", "Claims", "Entry"]

HAND_BACK_IDLE_MS: Final = 365 * 24 * 3600 * 1000
"""Idle time given to handed-back entries: past any claim_idle, so they are claimable now.

Not larger: Redis computes ``now - IDLE`` and treats a negative result as "now".
"""

_PENDING_PAGE: Final = 1000

Entry = tuple[bytes, dict[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class ClaimPage:
    """One XAUTOCLAIM reply: where to go on, what was claimed, what was trimmed meanwhile."""

    cursor: bytes
    claimed: list[Entry]
    trimmed: list[bytes]

    @property
    def last(self) -> bool:
        return self.cursor in (b"0-0", "0-0")


class Claims:
    """The XCLAIM / XAUTOCLAIM / XPENDING round trips of *consumer* in *group* on *stream*.

    Touching an entry (XCLAIM ... JUSTID with min idle 0) resets its idle time
    and leaves its delivery count alone: it is how a consumer keeps the
    entries it still works on from looking abandoned.
    """

    def __init__(self, redis: Redis, *, stream: str, group: str, consumer: str) -> None:
        self._redis = redis
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._acked = EVENTS_ACKED.labels(stream_kind(stream), group)

    async def ack(self, entry_ids: Sequence[bytes]) -> None:
        """Acknowledge *entry_ids*: their effects are durable, the group is done with them."""
        await self._redis.xack(self._stream, self._group, *entry_ids)
        self._acked.inc(len(entry_ids))

    async def touch(self, entry_ids: Collection[bytes]) -> None:
        """Reset the idle time of *entry_ids* (their delivery counts stay)."""
        if entry_ids:
            await self._redis.xclaim(
                self._stream, self._group, self._consumer, 0, _ids(entry_ids), justid=True
            )

    async def make_claimable(self, entry_ids: Collection[bytes]) -> None:
        """Give *entry_ids* an idle time past any claim_idle (delivery counts unchanged),
        so the next XAUTOCLAIM anywhere takes them."""
        if entry_ids:
            await self._redis.xclaim(
                self._stream,
                self._group,
                self._consumer,
                0,
                _ids(entry_ids),
                idle=HAND_BACK_IDLE_MS,
                justid=True,
            )

    async def claim_idle(
        self, cursor: bytes, *, min_idle_ms: int, count: int, keep: Collection[bytes]
    ) -> ClaimPage:
        """XAUTOCLAIM one page of entries idle at least *min_idle_ms*, from *cursor*.

        *keep* (entries this consumer still works on) is touched in the same
        transaction, just before: however long ago it was last touched and
        however short *min_idle_ms*, the claim never takes them (nor counts a
        delivery for them).
        """
        async with self._redis.pipeline(transaction=True) as pipe:
            if keep:
                pipe.xclaim(self._stream, self._group, self._consumer, 0, _ids(keep), justid=True)
            pipe.xautoclaim(
                self._stream,
                self._group,
                self._consumer,
                min_idle_time=min_idle_ms,
                start_id=cursor,
                count=count,
            )
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        for reply in replies:
            # Raised as Redis said it (a pipeline would prefix "Command # 1 ..."),
            # so the consumer recognises NOGROUP and recreates its group.
            if isinstance(reply, Exception):
                raise reply
        reply = replies[-1]
        # Redis 7 drops entries trimmed from the stream while pending and lists their ids third.
        return ClaimPage(
            cursor=reply[0],
            claimed=[entry for entry in reply[1] if entry[1] is not None],
            trimmed=list(reply[2]) if len(reply) > 2 and reply[2] else [],
        )

    async def delivery_counts(self, entry_ids: Sequence[bytes]) -> dict[bytes, int]:
        """Times each of *entry_ids* was delivered (XPENDING's extended form, one round trip)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(self._stream, self._group, min=entry_id, max=entry_id, count=1)
            replies: list[list[dict[str, Any]]] = await pipe.execute()
        return {info["message_id"]: info["times_delivered"] for reply in replies for info in reply}

    async def hand_back(self, *, exclude: Collection[bytes]) -> int:
        """Make every entry pending for this consumer claimable at once, but *exclude*.

        Returns how many entries were handed back.
        """
        handed = 0
        start: bytes | str = "-"
        while True:
            pending = await self._redis.xpending_range(
                self._stream, self._group, start, "+", _PENDING_PAGE, self._consumer
            )
            entry_ids = [cast(bytes, info["message_id"]) for info in pending]
            mine = [entry_id for entry_id in entry_ids if entry_id not in exclude]
            await self.make_claimable(mine)
            handed += len(mine)
            if len(entry_ids) < _PENDING_PAGE:
                return handed
            start = b"(" + entry_ids[-1]


def _ids(entry_ids: Collection[bytes]) -> list[StreamIdT]:
    return cast("list[StreamIdT]", list(entry_ids))
