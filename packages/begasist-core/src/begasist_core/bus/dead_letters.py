"""The dead-letter streams: entries that failed their last delivery, with the error.

Each hotel's go to its own stream (``names.hotel_dead``), so one hotel's
failures never push another's out of view; entries of no hotel (undecodable
ones) go to the shared ``names.dead``, where entries buried by older versions
also wait until :meth:`DeadLetters.sort_shared` moves them to their hotel's.
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime, timedelta
from typing import Any, Final, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from begasist_core.bus.publisher import DEFAULT_MAXLEN, ENTRY_FIELD
from begasist_core.events.streams import StreamNames
from begasist_core.models.messages import utc_now
from begasist_core.models.names import validate_hotel_slug

__all__ = ["ERROR_NOTE_TTL", "DeadLetter", "DeadLetters", "UnknownDeadLetter", "hotel_of_entry"]

ERROR_NOTE_TTL: Final = timedelta(days=7)
"""How long a failed delivery's error is kept for whoever buries the entry later."""

MAX_ERROR_LENGTH: Final = 4000

# Re-publish and delete in one step, and only if the dead entry still exists,
# so two people pressing "retry" at once re-publish it once. Untrimmed, as every event
# stream is: its consumers trim what they have acknowledged (bus/trimming.py).
_RETRY_SCRIPT: Final = """
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return false
end
return redis.call('XADD', KEYS[2], '*', ARGV[3], ARGV[2])
"""

# Move one shared entry to its hotel's stream: deleted from one and added to the other in
# one step. It keeps its id while that is newer than the hotel stream's last (the move
# runs oldest first, before or while few new burials arrive), so links stay valid.
_MOVE_SCRIPT: Final = """
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return false
end
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local id = ARGV[1]
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then
  local lms, lseq = parts(last[1][1])
  local ms, seq = parts(id)
  if ms < lms or (ms == lms and seq <= lseq) then id = '*' end
end
return redis.call('XADD', KEYS[2], id, unpack(ARGV, 2))
"""


# The bus's clients never decode responses (see ``redis_from_url``): ids and fields are bytes.
_Entries = list[tuple[bytes, dict[bytes, bytes]]]


class UnknownDeadLetter(LookupError):
    """No dead letter has this id (never buried, already retried, or trimmed)."""


class DeadLetter(BaseModel):
    """One buried entry as the admin shows it."""

    model_config = ConfigDict(frozen=True)

    id: str
    """Its id in the dead-letter stream (what :meth:`DeadLetters.retry` takes)."""
    source_stream: str
    source_id: str
    group: str
    reason: str
    """``handler_failed``, or the decode error's reason (``malformed``, ``invalid`` ...)."""
    error: str
    deliveries: int
    """How many times a consumer was handed the entry before it was buried."""
    payload: str
    """The entry's ``e`` field as text (undecodable bytes replaced)."""
    failed_at: AwareDatetime


def hotel_of_entry(source_stream: str, payload: bytes | str) -> str | None:
    """The hotel a failed entry belongs to: from its stream's name (a hotel's stream), else
    its envelope's ``hotel`` (the shared events stream); None when neither says."""
    parts = source_stream.split(":")
    if len(parts) >= 3 and parts[-3] == "hotel":
        return _slug(parts[-2])
    try:
        document: Any = json.loads(payload)
    except (ValueError, RecursionError):  # what failed may be any bytes at all
        return None
    hotel = document.get("hotel") if isinstance(document, dict) else None
    return _slug(hotel) if isinstance(hotel, str) else None


def _slug(value: str) -> str | None:
    try:
        return validate_hotel_slug(value)
    except ValueError:
        return None


class DeadLetters:
    """Buries entries in their hotel's dead stream, lists them, puts them back on request.

    It also keeps the last error of each failed delivery (a key with a TTL), so
    the consumer that reclaims an entry past its last delivery can bury it with
    the error that another, possibly dead, consumer saw.
    """

    def __init__(self, redis: Redis, names: StreamNames, *, maxlen: int = DEFAULT_MAXLEN) -> None:
        self.names = names
        self._redis = redis
        self._maxlen = maxlen

    async def bury(
        self,
        *,
        source_stream: str,
        source_id: bytes,
        group: str,
        payload: bytes,
        reason: str,
        error: str,
        deliveries: int,
    ) -> bytes:
        """Add the entry to the dead stream and ack it in its group, atomically.

        One MULTI: either the entry is in the dead stream and no longer pending,
        or neither (a crash in between cannot lose it or bury it twice).
        The entry goes to its hotel's dead stream (:func:`hotel_of_entry`), or
        the shared one when it names no hotel. Returns the dead entry's id.
        """
        hotel = hotel_of_entry(source_stream, payload)
        dead = self.names.dead if hotel is None else self.names.hotel_dead(hotel)
        fields: dict[FieldT, EncodableT] = {
            b"source_stream": source_stream,
            b"source_id": source_id,
            b"group": group,
            b"reason": reason,
            b"error": error[:MAX_ERROR_LENGTH],
            b"deliveries": deliveries,
            b"payload": payload,
            b"failed_at": utc_now().isoformat(),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(dead, fields, maxlen=self._maxlen, approximate=True)
            pipe.xack(source_stream, group, source_id)
            pipe.delete(self._note_key(source_stream, group, source_id))
            dead_id, _, _ = await pipe.execute()
        return cast(bytes, dead_id)

    async def list(
        self, *, hotel: str | None = None, count: int = 100, before: str | None = None
    ) -> builtins.list[DeadLetter]:
        """The *count* most recent dead letters of *hotel* (of no hotel: the shared stream),
        newest first; with *before* (an id), only older ones: the next page."""
        newest = "+" if before is None else f"({before}"
        entries = cast(
            _Entries, await self._redis.xrevrange(self._stream(hotel), newest, "-", count=count)
        )
        return [_dead_letter(entry_id, fields) for entry_id, fields in entries or []]

    async def retry(self, dead_id: str, *, hotel: str | None = None) -> bytes:
        """Re-publish the entry to its source stream and drop it from the dead stream.

        Looks in *hotel*'s dead stream only (the shared one when None), so a
        hotel's id never reaches another's entry. Returns the new entry id.
        Raises :class:`UnknownDeadLetter` if *dead_id* is not (or no longer) there.
        """
        dead = self._stream(hotel)
        entries = cast(_Entries, await self._redis.xrange(dead, min=dead_id, max=dead_id, count=1))
        if not entries:
            raise UnknownDeadLetter(f"no dead letter {dead_id!r} in {dead}")
        _, fields = entries[0]
        source_stream = fields[b"source_stream"]
        new_id = await self._redis.eval(
            _RETRY_SCRIPT,
            2,
            dead,
            source_stream,
            dead_id,
            fields[b"payload"],
            ENTRY_FIELD,
        )
        if new_id is None:
            raise UnknownDeadLetter(f"dead letter {dead_id!r} was retried by someone else")
        return cast(bytes, new_id)

    async def sort_shared(self, *, batch: int = 500) -> int:
        """Move the shared stream's entries that name a hotel to that hotel's stream, oldest
        first (what older versions buried there); returns how many moved.

        Safe to run on every start and from several processes at once: each
        entry moves in one script that first deletes it, so it moves once.
        """
        moved = 0
        after = "-"
        while True:
            entries = cast(
                _Entries, await self._redis.xrange(self.names.dead, after, "+", count=batch)
            )
            if not entries:
                return moved
            for entry_id, fields in entries:
                hotel = hotel_of_entry(
                    _text(fields.get(b"source_stream", b"")), fields.get(b"payload", b"")
                )
                if hotel is None:
                    continue
                flat = [part for pair in fields.items() for part in pair]
                done = await self._redis.eval(
                    _MOVE_SCRIPT, 2, self.names.dead, self.names.hotel_dead(hotel), entry_id, *flat
                )
                moved += done is not None
            after = f"({entries[-1][0].decode()}"

    def _stream(self, hotel: str | None) -> str:
        return self.names.dead if hotel is None else self.names.hotel_dead(hotel)

    async def note_error(
        self, *, source_stream: str, group: str, source_id: bytes, error: str
    ) -> None:
        """Remember the error of a failed delivery until the entry is buried or expires."""
        await self._redis.set(
            self._note_key(source_stream, group, source_id),
            error[:MAX_ERROR_LENGTH],
            ex=ERROR_NOTE_TTL,
        )

    async def noted_error(self, *, source_stream: str, group: str, source_id: bytes) -> str | None:
        """The last error noted for the entry, if any."""
        raw = await self._redis.get(self._note_key(source_stream, group, source_id))
        return None if raw is None else _text(raw)

    def _note_key(self, source_stream: str, group: str, source_id: bytes) -> str:
        return self.names.key("bus", "error", group, source_stream, source_id.decode())


def _dead_letter(entry_id: bytes, fields: dict[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        id=entry_id.decode(),
        source_stream=_text(fields.get(b"source_stream", b"")),
        source_id=_text(fields.get(b"source_id", b"")),
        group=_text(fields.get(b"group", b"")),
        reason=_text(fields.get(b"reason", b"")),
        error=_text(fields.get(b"error", b"")),
        deliveries=int(fields.get(b"deliveries", b"0")),
        payload=_text(fields.get(b"payload", b"")),
        failed_at=datetime.fromisoformat(_text(fields[b"failed_at"])),
    )


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
