"""The dead-letter stream: entries that failed their last delivery, with the error."""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Final, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from begasist_core.bus.publisher import DEFAULT_MAXLEN, ENTRY_FIELD
from begasist_core.events.streams import StreamNames
from begasist_core.models.messages import utc_now

__all__ = ["ERROR_NOTE_TTL", "DeadLetter", "DeadLetters", "UnknownDeadLetter"]

ERROR_NOTE_TTL: Final = timedelta(days=7)
"""How long a failed delivery's error is kept for whoever buries the entry later."""

MAX_ERROR_LENGTH: Final = 4000

# Re-publish and delete in one step, and only if the dead entry still exists,
# so two people pressing "retry" at once re-publish it once.
_RETRY_SCRIPT: Final = """
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return false
end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', ARGV[4], ARGV[2])
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


class DeadLetters:
    """Buries entries in ``names.dead``, lists them, and puts them back on request.

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
        Returns the dead entry's id.
        """
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
            pipe.xadd(self.names.dead, fields, maxlen=self._maxlen, approximate=True)
            pipe.xack(source_stream, group, source_id)
            pipe.delete(self._note_key(source_stream, group, source_id))
            dead_id, _, _ = await pipe.execute()
        return cast(bytes, dead_id)

    async def list(self, *, count: int = 100) -> builtins.list[DeadLetter]:
        """The *count* most recent dead letters, newest first."""
        entries = cast(_Entries, await self._redis.xrevrange(self.names.dead, count=count))
        return [_dead_letter(entry_id, fields) for entry_id, fields in entries or []]

    async def retry(self, dead_id: str) -> bytes:
        """Re-publish the entry to its source stream and drop it from the dead stream.

        Returns the new entry id. Raises :class:`UnknownDeadLetter` if *dead_id*
        is not (or no longer) in the dead stream.
        """
        entries = cast(
            _Entries, await self._redis.xrange(self.names.dead, min=dead_id, max=dead_id, count=1)
        )
        if not entries:
            raise UnknownDeadLetter(f"no dead letter {dead_id!r} in {self.names.dead}")
        _, fields = entries[0]
        source_stream = fields[b"source_stream"]
        new_id = await self._redis.eval(
            _RETRY_SCRIPT,
            2,
            self.names.dead,
            source_stream,
            dead_id,
            fields[b"payload"],
            DEFAULT_MAXLEN,
            ENTRY_FIELD,
        )
        if new_id is None:
            raise UnknownDeadLetter(f"dead letter {dead_id!r} was retried by someone else")
        return cast(bytes, new_id)

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
