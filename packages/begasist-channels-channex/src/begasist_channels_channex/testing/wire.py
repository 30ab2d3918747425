"""The Channex stand-in's records and how they look on the wire (JSON:API resources, errors)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

__all__ = [
    "Answer",
    "Failure",
    "Raw",
    "StandinBooking",
    "StandinFile",
    "StandinMessage",
    "booking_resource",
    "error",
    "failed",
    "failure",
    "message_resource",
    "pagination",
    "thread_id_of",
    "thread_resource",
]

PAGE_LIMIT: Final = 100


@dataclass
class StandinBooking:
    """A booking the stand-in knows, with the attributes Channex answers."""

    id: str
    property_id: str
    ota_name: str = "Booking.com"
    ota_reservation_code: str = "4001234567"
    arrival_date: date = date(2026, 12, 20)
    departure_date: date = date(2026, 12, 23)
    customer_name: str = "Ana"
    customer_surname: str = "García"
    messages_app: bool = True
    """The property has Channex's Messages app (else 403)."""
    messages_supported: bool = True
    """The booking's OTA takes messages through Channex (else 422 not_supported)."""


@dataclass(frozen=True)
class StandinFile:
    """A file the stand-in serves (a guest's attachment) or was sent (an upload)."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class StandinMessage:
    id: str
    booking_id: str
    message: str
    sender: str
    inserted_at: datetime
    thread_id: str
    attachments: tuple[str, ...] = ()
    """Links as Channex lists them: relative to the API root (``attachments/<id>/<name>``)."""


@dataclass(frozen=True)
class Failure:
    status: int
    code: str
    title: str
    retry_after: float | None


@dataclass(frozen=True)
class Raw:
    """A non-JSON answer: a file's bytes."""

    data: bytes
    content_type: str


Answer = tuple[int, Any, list[tuple[bytes, bytes]]]
"""Status, JSON body (or :class:`Raw`), extra headers."""


def thread_id_of(booking_id: str) -> str:
    """The stand-in's thread of a booking: one per booking, as in Channex."""
    return f"thread-{booking_id}"


def failure(status: int, retry_after: float | None) -> Failure:
    code, title = (
        ("http_too_many_requests", "Too Many Requests")
        if status == 429
        else ("unauthorized", "Unauthorized")
        if status == 401
        else ("internal_server_error", "Internal Server Error")
    )
    return Failure(status, code, title, retry_after)


def failed(scripted: Failure) -> Answer:
    extra = []
    if scripted.retry_after is not None:
        extra = [(b"retry-after", f"{scripted.retry_after:g}".encode())]
    status, answer, _ = error(scripted.status, scripted.code, scripted.title)
    return status, answer, extra


def error(status: int, code: str, title: str) -> Answer:
    return status, {"errors": {"code": code, "title": title}}, []


def pagination(query: dict[str, str]) -> tuple[int, int]:
    try:
        page = max(1, int(query.get("pagination[page]", "1")))
        limit = min(PAGE_LIMIT, max(1, int(query.get("pagination[limit]", "10"))))
    except ValueError:
        return 1, 10
    return page, limit


def json_field(body: bytes, *path: str) -> Any:
    """``body[path[0]][path[1]]...`` of a JSON body, or None."""
    try:
        found: Any = json.loads(body)
        for name in path:
            found = found[name]
    except (ValueError, KeyError, TypeError):
        return None
    return found


def booking_resource(booking: StandinBooking) -> dict[str, Any]:
    attributes = {
        "id": booking.id,
        "property_id": booking.property_id,
        "ota_name": booking.ota_name,
        "ota_reservation_code": booking.ota_reservation_code,
        "unique_id": f"OTA-{booking.ota_reservation_code}",
        "status": "new",
        "arrival_date": booking.arrival_date.isoformat(),
        "departure_date": booking.departure_date.isoformat(),
        "customer": {"name": booking.customer_name, "surname": booking.customer_surname},
    }
    return {"type": "booking", "id": booking.id, "attributes": attributes}


def thread_resource(
    booking: StandinBooking, thread: list[StandinMessage], *, closed: bool
) -> dict[str, Any]:
    """The booking's thread; *thread* its messages, oldest first (maybe none yet)."""
    attributes: dict[str, Any] = {
        "title": f"{booking.customer_name} {booking.customer_surname}",
        "is_closed": closed,
        "provider": booking.ota_name.replace(".", "").replace("com", "Com"),
        "message_count": len(thread),
    }
    if thread:
        first, last = thread[0], thread[-1]
        attributes |= {
            "last_message": {
                "message": last.message,
                "sender": last.sender,
                "attachments": list(last.attachments),
                "inserted_at": wire_time(last.inserted_at),
            },
            # As in the docs' example: the time of the last message, whoever wrote it.
            "last_message_received_at": wire_time(last.inserted_at),
            "inserted_at": wire_time(first.inserted_at),
            "updated_at": wire_time(last.inserted_at),
        }
    relationships = {
        "booking": {"data": {"type": "booking", "id": booking.id}},
        "property": {"data": {"type": "property", "id": booking.property_id}},
    }
    return {
        "type": "message_thread",
        "id": thread_id_of(booking.id),
        "attributes": attributes,
        "relationships": relationships,
    }


def wire_time(at: datetime) -> str:
    # Channex writes its timestamps without a zone (UTC), microseconds included.
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def message_resource(message: StandinMessage) -> dict[str, Any]:
    at = wire_time(message.inserted_at)
    return {
        "type": "message",
        "id": message.id,
        "attributes": {
            "message": message.message,
            "attachments": list(message.attachments),
            "sender": message.sender,
            "inserted_at": at,
            "updated_at": at,
        },
        "relationships": {
            "message_thread": {"data": {"id": message.thread_id, "type": "message_thread"}}
        },
    }
