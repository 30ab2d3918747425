"""A consumer's triage of entries: decode them, or bury them with why; note handler errors."""

from __future__ import annotations

import json
import logging
from typing import Final

from begasist_core.bus.dead_letters import DeadLetters
from begasist_core.bus.handling import Delivery, RejectedEvent
from begasist_core.bus.publisher import ENTRY_FIELD
from begasist_core.events.codec import EventDecodeError, decode_event
from begasist_core.events.envelope import Event
from begasist_core.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, stream_kind

__all__ = ["Ready", "Triage"]

_NO_ERROR_NOTED: Final = (
    "no error noted: a consumer took the entry and never acked it (it died or hung)"
)

Ready = tuple[Delivery, bytes, Event]
"""An entry fit to handle: its delivery, raw JSON and event."""


class Triage:
    """Decides, for one consumer's *stream* and *group*, what becomes of an entry that
    cannot be handled (now, or any more): it goes to the dead stream, with the reason."""

    def __init__(
        self,
        dead_letters: DeadLetters,
        *,
        stream: str,
        group: str,
        max_deliveries: int,
        logger: logging.Logger,
    ) -> None:
        self._dead = dead_letters
        self._stream = stream
        self._group = group
        self._max_deliveries = max_deliveries
        self._log = logger
        self._kind = stream_kind(stream)
        self._consumed = EVENTS_CONSUMED.labels(self._kind, group)

    async def decoded(
        self, entry_id: bytes, fields: dict[bytes, bytes], deliveries: int
    ) -> Ready | None:
        """The entry ready to handle; ``None`` if it was buried as unreadable."""
        raw = fields.get(ENTRY_FIELD)
        if raw is None:
            names = ", ".join(sorted(name.decode(errors="replace") for name in fields))
            error = f"entry has no {ENTRY_FIELD.decode()!r} field (fields: {names or 'none'})"
            await self.bury(entry_id, _fields_as_json(fields), "malformed", error, deliveries)
            return None
        try:
            event = decode_event(raw)
        except EventDecodeError as error:
            await self.bury(entry_id, raw, error.reason, str(error), deliveries)
            return None
        except Exception as error:  # decode_event promises otherwise; never die of an entry
            text = f"{type(error).__name__}: {error}"
            await self.bury(entry_id, raw, "malformed", text, deliveries)
            return None
        self._consumed.inc()
        return Delivery(self._stream, entry_id, deliveries), raw, event

    async def rejected(self, delivery: Delivery, raw: bytes, rejected: RejectedEvent) -> None:
        """The handler said retrying cannot help: bury it now."""
        await self.bury(delivery.entry_id, raw, rejected.reason, str(rejected), delivery.deliveries)

    async def handler_failed(self, delivery: Delivery, raw: bytes, error: Exception) -> None:
        """Note the error for a later attempt, or bury the entry after its last one."""
        text = f"{type(error).__name__}: {error}"
        last = delivery.deliveries >= self._max_deliveries
        self._log.warning(
            "%s: handler failed on entry %s (delivery %d of %d%s): %s",
            self._stream,
            delivery.entry_id.decode(),
            delivery.deliveries,
            self._max_deliveries,
            ", burying it" if last else ", will retry",
            text,
            exc_info=error,
        )
        if last:
            await self.bury(delivery.entry_id, raw, "handler_failed", text, delivery.deliveries)
        else:
            await self._dead.note_error(
                source_stream=self._stream,
                group=self._group,
                source_id=delivery.entry_id,
                error=text,
            )

    async def out_of_deliveries(
        self, entry_id: bytes, fields: dict[bytes, bytes], deliveries: int
    ) -> None:
        """Bury a reclaimed entry whose every delivery failed, with the last error noted."""
        error = await self._dead.noted_error(
            source_stream=self._stream, group=self._group, source_id=entry_id
        )
        payload = fields.get(ENTRY_FIELD) or _fields_as_json(fields)
        await self.bury(entry_id, payload, "handler_failed", error or _NO_ERROR_NOTED, deliveries)

    async def bury(
        self, entry_id: bytes, payload: bytes, reason: str, error: str, deliveries: int
    ) -> None:
        dead_id = await self._dead.bury(
            source_stream=self._stream,
            source_id=entry_id,
            group=self._group,
            payload=payload,
            reason=reason,
            error=error,
            deliveries=deliveries,
        )
        EVENTS_DEAD_LETTERED.labels(self._kind, reason).inc()
        self._log.warning(
            "%s: entry %s buried as %s (%s): %s",
            self._stream,
            entry_id.decode(),
            dead_id.decode(),
            reason,
            error,
        )


def _fields_as_json(fields: dict[bytes, bytes]) -> bytes:
    document = {
        name.decode(errors="replace"): value.decode(errors="replace")
        for name, value in fields.items()
    }
    return json.dumps(document, sort_keys=True).encode()
