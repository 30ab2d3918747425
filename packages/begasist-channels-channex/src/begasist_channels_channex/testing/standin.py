"""A stand-in of the Channex API (the booking and messages part), as a real HTTP server.

Channex cannot be reached from CI, so tests talk to this server instead. It
serves on 127.0.0.1 and a free port, from a background thread (uvicorn), and
speaks what docs.channex.io documents for these endpoints:

- ``user-api-key`` header, else ``401 {"errors": {"code": "unauthorized", ...}}``;
- ``GET /api/v1/bookings/{id}``: the booking (JSON:API ``data``), 404
  ``resource_not_found`` for an unknown one;
- ``GET /api/v1/bookings/{id}/messages``: its thread, newest first, with ``meta``;
- ``GET /api/v1/message_threads?filter[property_id]=...``: the property's threads,
  the most recently active first (each with its ``booking`` relationship and
  ``last_message_received_at``), and ``GET /api/v1/message_threads/{id}/messages``:
  one thread's messages, newest first; every list pages with
  ``pagination[page]`` and ``pagination[limit]`` (at most 100);
- ``POST /api/v1/bookings/{id}/messages`` with ``{"message": {"message": text}}``:
  the message as sent (``sender: property``); 403 ``forbidden`` when the
  property has no Messages app, 422 ``not_supported`` when the booking's OTA
  takes no messages, 422 ``validation_error`` for a body without text.

API::

    with ChannexStandin(api_key="k") as channex:
        channex.api_url                      # the channel's api_base_url setting
        channex.add_booking(StandinBooking(id="b1", property_id="p1", ota_name="Airbnb"))
        body = channex.guest_writes("b1", "Hola")        # the message webhook's body
        channex.post_webhook(url, body, headers={...})   # as Channex delivers it
        channex.fail_next(2, status=500)                 # the next message posts fail
        channex.fail_reads(1, status=429)                # the next listings fail
        channex.hold_post_answers()  # posts are kept, their answers held until released
        channex.sent                                     # [StandinMessage], property messages
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, Self
from urllib.parse import parse_qsl

import anyio
import httpx
import uvicorn

__all__ = ["ChannexStandin", "StandinBooking", "StandinMessage"]

_BOOKING: Final = re.compile(r"^/api/v1/bookings/([^/]+)$")
_MESSAGES: Final = re.compile(r"^/api/v1/bookings/([^/]+)/messages$")
_THREADS: Final = "/api/v1/message_threads"
_THREAD_MESSAGES: Final = re.compile(r"^/api/v1/message_threads/([^/]+)/messages$")
_PAGE_LIMIT: Final = 100
_JSON: Final = [(b"content-type", b"application/json")]


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
class StandinMessage:
    id: str
    booking_id: str
    message: str
    sender: str
    inserted_at: datetime
    thread_id: str


@dataclass
class _Failure:
    status: int
    code: str
    title: str
    retry_after: float | None


@dataclass
class _State:
    bookings: dict[str, StandinBooking] = field(default_factory=dict)
    messages: list[StandinMessage] = field(default_factory=list)
    threads: dict[str, list[StandinMessage]] = field(default_factory=dict)
    """The same messages by thread: the benches list 10,000 threads page by page."""
    failures: list[_Failure] = field(default_factory=list)
    read_failures: list[_Failure] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)


class ChannexStandin:
    """The Channex API, as far as Begasist's Channex channel uses it; see the module doc."""

    def __init__(self, *, api_key: str = "channex-standin-key", host: str = "127.0.0.1") -> None:
        self.api_key = api_key
        self.host = host
        self.port = 0
        self._lock = threading.Lock()
        self._state = _State()
        self._ids = itertools.count(1)
        self._answers_released = threading.Event()
        self._answers_released.set()
        self._held_answers = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v1"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self, http="h11", ws="none", lifespan="off", log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("the Channex stand-in did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.release_post_answers()  # uvicorn waits for held requests before it stops
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting and reading back ----------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._state = _State()

    def add_booking(self, booking: StandinBooking) -> StandinBooking:
        with self._lock:
            self._state.bookings[booking.id] = booking
        return booking

    def fail_next(
        self, count: int = 1, *, status: int = 500, retry_after: float | None = None
    ) -> None:
        """Refuse the next *count* message posts with *status* (429: too many requests)."""
        failure = _failure(status, retry_after)
        with self._lock:
            self._state.failures += [failure] * count

    def fail_reads(
        self, count: int = 1, *, status: int = 500, retry_after: float | None = None
    ) -> None:
        """Refuse the next *count* listings (threads, thread messages) with *status*."""
        failure = _failure(status, retry_after)
        with self._lock:
            self._state.read_failures += [failure] * count

    def hold_post_answers(self) -> None:
        """From now on keep each message post, then hold its answer back until
        :meth:`release_post_answers`: a client killed meanwhile sent the message
        without learning its id (``held_answers`` counts them)."""
        self._answers_released.clear()

    def release_post_answers(self) -> None:
        self._answers_released.set()

    @property
    def held_answers(self) -> int:
        """Answers to message posts held back so far by :meth:`hold_post_answers`."""
        with self._lock:
            return self._held_answers

    def guest_writes(self, booking_id: str, text: str, *, at: datetime | None = None) -> bytes:
        """Put a guest's message in the booking's thread (written *at*, default now);
        the ``message`` webhook's body."""
        with self._lock:
            booking = self._state.bookings[booking_id]
            message = self._add(booking_id, text, "guest", at=at)
        payload = {
            "event": "message",
            "payload": {
                "booking_id": booking_id,
                "have_attachment": False,
                "attachments": [],
                "id": message.id,
                "message": text,
                "message_thread_id": message.thread_id,
                "ota_message_id": f"ota-{message.id}",
            },
            "property_id": booking.property_id,
            "user_id": None,
            "timestamp": message.inserted_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return json.dumps(payload).encode()

    def post_webhook(self, url: str, body: bytes, *, headers: dict[str, str]) -> int:
        """POST *body* to *url* with the webhook's custom *headers*, as Channex does."""
        sent = {"content-type": "application/json", **headers}
        return httpx.post(url, content=body, headers=sent, timeout=10).status_code

    @property
    def sent(self) -> list[StandinMessage]:
        """The property's messages (replies), oldest first."""
        with self._lock:
            return [m for m in self._state.messages if m.sender == "property"]

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request as (method, path), oldest first."""
        with self._lock:
            return list(self._state.requests)

    # -- the ASGI app ------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body", False):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        with self._lock:
            self._state.requests.append((method, path))
            if path.startswith(_THREADS):
                status, answer, extra = self._threads_answer(method, path, headers, query)
            else:
                status, answer, extra = self._answer(method, path, headers, body)
            hold = method == "POST" and status == 200 and not self._answers_released.is_set()
            if hold:
                self._held_answers += 1
        if hold:
            await anyio.to_thread.run_sync(self._answers_released.wait)
        await send({"type": "http.response.start", "status": status, "headers": _JSON + extra})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        if headers.get("user-api-key") != self.api_key:
            return _error(401, "unauthorized", "Unauthorized")
        if match := _BOOKING.match(path):
            booking = self._state.bookings.get(match.group(1))
            if method != "GET" or booking is None:
                return _error(404, "resource_not_found", "Resource Not Found")
            return 200, {"data": _booking_resource(booking)}, []
        if not (match := _MESSAGES.match(path)):
            return _error(404, "resource_not_found", "Resource Not Found")
        booking = self._state.bookings.get(match.group(1))
        if booking is None:
            return _error(404, "resource_not_found", "Resource Not Found")
        if not booking.messages_app:
            return _error(403, "forbidden", "Forbidden")
        if not booking.messages_supported:
            return _error(422, "not_supported", "Method not supported")
        if method == "GET":
            thread = [m for m in self._state.messages if m.booking_id == booking.id][::-1]
            meta = {"limit": 100, "order_by": "inserted_at", "order_direction": "desc"}
            meta |= {"page": 1, "total": len(thread)}
            return 200, {"data": [_message_resource(m) for m in thread], "meta": meta}, []
        if method != "POST":
            return _error(404, "resource_not_found", "Resource Not Found")
        if self._state.failures:
            return _failed(self._state.failures.pop(0))
        text = _text_of(body)
        if text is None:
            return _error(422, "validation_error", "Validation Error")
        return 200, {"data": _message_resource(self._add(booking.id, text, "property"))}, []

    def _threads_answer(
        self, method: str, path: str, headers: dict[str, str], query: dict[str, str]
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        if headers.get("user-api-key") != self.api_key:
            return _error(401, "unauthorized", "Unauthorized")
        if method != "GET":
            return _error(404, "resource_not_found", "Resource Not Found")
        if self._state.read_failures:
            return _failed(self._state.read_failures.pop(0))
        page, limit = _pagination(query)
        if path == _THREADS:
            wanted = query.get("filter[property_id]")
            bookings = self._state.bookings
            threads = [
                thread
                for thread in self._threads()
                if wanted is None or bookings[thread[0].booking_id].property_id == wanted
            ]
            meta = {"page": page, "limit": limit, "total": len(threads)}
            shown = threads[(page - 1) * limit : page * limit]
            items = [_thread_resource(thread, self._state.bookings) for thread in shown]
            return 200, {"data": items, "meta": meta}, []
        if not (match := _THREAD_MESSAGES.match(path)):
            return _error(404, "resource_not_found", "Resource Not Found")
        thread = self._state.threads.get(match.group(1))
        if thread is None:
            return _error(404, "resource_not_found", "Resource Not Found")
        newest_first = sorted(thread, key=lambda m: m.inserted_at, reverse=True)
        meta = {"page": page, "limit": limit, "total": len(thread)}
        messages = newest_first[(page - 1) * limit : page * limit]
        return 200, {"data": [_message_resource(m) for m in messages], "meta": meta}, []

    def _threads(self) -> list[list[StandinMessage]]:
        """Each thread's messages oldest first; the most recently active thread first."""
        ordered = [sorted(t, key=lambda m: m.inserted_at) for t in self._state.threads.values()]
        return sorted(ordered, key=lambda t: t[-1].inserted_at, reverse=True)

    def _add(
        self, booking_id: str, text: str, sender: str, *, at: datetime | None = None
    ) -> StandinMessage:
        number = next(self._ids)
        message = StandinMessage(
            id=f"00000000-0000-4000-8000-{number:012d}",
            booking_id=booking_id,
            message=text,
            sender=sender,
            inserted_at=at or datetime.now(UTC),
            thread_id=f"thread-{booking_id}",
        )
        self._state.messages.append(message)
        self._state.threads.setdefault(message.thread_id, []).append(message)
        return message


def _failure(status: int, retry_after: float | None) -> _Failure:
    code, title = (
        ("http_too_many_requests", "Too Many Requests")
        if status == 429
        else ("unauthorized", "Unauthorized")
        if status == 401
        else ("internal_server_error", "Internal Server Error")
    )
    return _Failure(status, code, title, retry_after)


def _failed(failure: _Failure) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
    extra = []
    if failure.retry_after is not None:
        extra = [(b"retry-after", f"{failure.retry_after:g}".encode())]
    status, answer, _ = _error(failure.status, failure.code, failure.title)
    return status, answer, extra


def _pagination(query: dict[str, str]) -> tuple[int, int]:
    try:
        page = max(1, int(query.get("pagination[page]", "1")))
        limit = min(_PAGE_LIMIT, max(1, int(query.get("pagination[limit]", "10"))))
    except ValueError:
        return 1, 10
    return page, limit


def _text_of(body: bytes) -> str | None:
    try:
        text = json.loads(body)["message"]["message"]
    except (ValueError, KeyError, TypeError):
        return None
    return text if isinstance(text, str) and text else None


def _error(status: int, code: str, title: str) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
    return status, {"errors": {"code": code, "title": title}}, []


def _booking_resource(booking: StandinBooking) -> dict[str, Any]:
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


def _thread_resource(
    thread: list[StandinMessage], bookings: dict[str, StandinBooking]
) -> dict[str, Any]:
    first, last = thread[0], thread[-1]
    booking = bookings[first.booking_id]
    attributes = {
        "title": f"{booking.customer_name} {booking.customer_surname}",
        "is_closed": False,
        "provider": booking.ota_name.replace(".", "").replace("com", "Com"),
        "message_count": len(thread),
        "last_message": {
            "message": last.message,
            "sender": last.sender,
            "inserted_at": _wire_time(last.inserted_at),
        },
        # As in the docs' example: the time of the last message, whoever wrote it.
        "last_message_received_at": _wire_time(last.inserted_at),
        "inserted_at": _wire_time(first.inserted_at),
        "updated_at": _wire_time(last.inserted_at),
    }
    relationships = {
        "booking": {"data": {"type": "booking", "id": booking.id}},
        "property": {"data": {"type": "property", "id": booking.property_id}},
    }
    return {
        "type": "message_thread",
        "id": first.thread_id,
        "attributes": attributes,
        "relationships": relationships,
    }


def _wire_time(at: datetime) -> str:
    # Channex writes its timestamps without a zone (UTC), microseconds included.
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def _message_resource(message: StandinMessage) -> dict[str, Any]:
    at = _wire_time(message.inserted_at)
    return {
        "type": "message",
        "id": message.id,
        "attributes": {
            "message": message.message,
            "attachments": [],
            "sender": message.sender,
            "inserted_at": at,
            "updated_at": at,
        },
        "relationships": {
            "message_thread": {"data": {"id": message.thread_id, "type": "message_thread"}}
        },
    }
