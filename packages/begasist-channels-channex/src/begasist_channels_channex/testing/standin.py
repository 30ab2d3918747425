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
  ``last_message_received_at``), ``GET /api/v1/message_threads/{id}`` (with
  ``is_closed``), ``POST /api/v1/message_threads/{id}/close`` and ``GET
  /api/v1/message_threads/{id}/messages``: one thread's messages, newest
  first; every list pages with ``pagination[page]`` and ``pagination[limit]``
  (at most 100);
- ``POST /api/v1/bookings/{id}/messages`` with ``{"message": {"message": text}}``,
  or ``{"message": {"attachment_id": id}}`` for a file uploaded before: the
  message as sent (``sender: property``); 403 ``forbidden`` when the property
  has no Messages app, 422 ``not_supported`` when the booking's OTA takes no
  messages, 422 ``validation_error`` for a body without text or known file;
- ``POST /api/v1/attachments`` (Create Attachment) with ``{"attachment":
  {"file": base64, "file_name", "file_type"}}``: ``{"data": {"id", "type":
  "attachment"}}``;
- a message's attachments are links relative to the API root
  (``attachments/<id>/<name>``, as the docs say Channex lists them), and
  ``GET /api/v1/attachments/<id>/<name>`` serves the file's bytes with its
  content type.

Where the docs are silent the stand-in chooses, and says so: the attachment
links want the ``user-api-key`` header like every other call, and a post to a
closed thread is refused with 422 ``thread_closed`` (both UNCONFIRMED).

API::

    with ChannexStandin(api_key="k") as channex:
        channex.api_url                      # the channel's api_base_url setting
        channex.add_booking(StandinBooking(id="b1", property_id="p1", ota_name="Airbnb"))
        body = channex.guest_writes("b1", "Hola", attachments=[StandinFile(...)])
        channex.post_webhook(url, body, headers={...})   # as Channex delivers it
        channex.fail_next(2, status=500)                 # the next message posts fail
        channex.fail_reads(1, status=429)                # the next listings fail
        channex.close_thread("b1")                       # the booking's thread is closed
        channex.hold_post_answers()  # posts are kept, their answers held until released
        channex.sent, channex.uploads                    # what the property sent
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Self
from urllib.parse import parse_qsl, quote

import anyio
import httpx

from begasist_channels_channex.testing.threaded_server import ThreadedServer
from begasist_channels_channex.testing.wire import (
    Answer,
    Failure,
    Raw,
    StandinBooking,
    StandinFile,
    StandinMessage,
    booking_resource,
    error,
    failed,
    failure,
    json_field,
    message_resource,
    pagination,
    thread_id_of,
    thread_resource,
)

__all__ = ["ChannexStandin", "StandinBooking", "StandinFile", "StandinMessage"]

_BOOKING: Final = re.compile(r"^/api/v1/bookings/([^/]+)$")
_MESSAGES: Final = re.compile(r"^/api/v1/bookings/([^/]+)/messages$")
_THREADS: Final = "/api/v1/message_threads"
_THREAD: Final = re.compile(r"^/api/v1/message_threads/([^/]+)$")
_THREAD_MESSAGES: Final = re.compile(r"^/api/v1/message_threads/([^/]+)/messages$")
_THREAD_CLOSE: Final = re.compile(r"^/api/v1/message_threads/([^/]+)/close$")
_ATTACHMENTS: Final = "/api/v1/attachments"
_FILE: Final = re.compile(r"^/api/v1/(attachments/[^/]+/[^/]+)$")
_JSON: Final = [(b"content-type", b"application/json")]
_NOT_FOUND: Final = ("resource_not_found", "Resource Not Found")


@dataclass
class _State:
    bookings: dict[str, StandinBooking] = field(default_factory=dict)
    messages: list[StandinMessage] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    read_failures: list[Failure] = field(default_factory=list)
    booking_failures: list[Failure] = field(default_factory=list)
    message_read_failures: list[Failure] = field(default_factory=list)
    file_failures: list[Failure] = field(default_factory=list)
    files: dict[str, StandinFile] = field(default_factory=dict)
    """Served at ``/api/v1/<link>``, by link."""
    uploads: dict[str, StandinFile] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    threads: dict[str, list[StandinMessage]] = field(default_factory=dict)
    """The same messages by thread: the benches list 10,000 threads page by page."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)
    """The client end (host, port) of each request, in order: a port per TCP connection."""


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
        self._server: ThreadedServer | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v1"

    def start(self) -> None:
        try:
            self._server = ThreadedServer(self, self.host)
        except RuntimeError:
            raise RuntimeError("the Channex stand-in did not start") from None
        self.port = self._server.port

    def stop(self) -> None:
        self.release_post_answers()  # uvicorn waits for held requests before it stops
        server, self._server = self._server, None
        if server is not None:
            server.stop()

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
        """Refuse the next *count* posts (messages, uploads) with *status* (429: too many)."""
        with self._lock:
            self._state.failures += [failure(status, retry_after)] * count

    def fail_reads(
        self, count: int = 1, *, status: int = 500, retry_after: float | None = None
    ) -> None:
        """Refuse the next *count* thread reads (listings, one thread) with *status*."""
        with self._lock:
            self._state.read_failures += [failure(status, retry_after)] * count

    def fail_message_reads(self, count: int = 1, *, status: int = 500) -> None:
        """Refuse the next *count* reads of a thread's messages (not the listings) with *status*."""
        with self._lock:
            self._state.message_read_failures += [failure(status, None)] * count

    def fail_booking_reads(self, count: int = 1, *, status: int = 500) -> None:
        """Refuse the next *count* ``GET /bookings/{id}`` with *status*."""
        with self._lock:
            self._state.booking_failures += [failure(status, None)] * count

    def fail_file_reads(self, count: int = 1, *, status: int = 500) -> None:
        """Refuse the next *count* attachment downloads with *status*."""
        with self._lock:
            self._state.file_failures += [failure(status, None)] * count

    def close_thread(self, booking_id: str) -> None:
        """Close the booking's thread, as ``POST /message_threads/{id}/close`` does."""
        with self._lock:
            self._state.closed.add(thread_id_of(booking_id))

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

    def guest_writes(
        self,
        booking_id: str,
        text: str,
        *,
        at: datetime | None = None,
        attachments: Sequence[StandinFile] = (),
    ) -> bytes:
        """Put a guest's message in the booking's thread (written *at*, default now), with
        *attachments* served at the links it lists; the ``message`` webhook's body."""
        with self._lock:
            booking = self._state.bookings[booking_id]
            links = tuple(self._keep_file(file) for file in attachments)
            message = self._add(booking_id, text, "guest", at=at, attachments=links)
        payload = {
            "event": "message",
            "payload": {
                "booking_id": booking_id,
                "have_attachment": bool(links),
                "attachments": list(links),
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
    def uploads(self) -> dict[str, StandinFile]:
        """The files uploaded with Create Attachment, by Channex's attachment id."""
        with self._lock:
            return dict(self._state.uploads)

    def file(self, link: str) -> StandinFile:
        """The file a message's attachment *link* names."""
        with self._lock:
            return self._state.files[link]

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request as (method, path), oldest first."""
        with self._lock:
            return list(self._state.requests)

    @property
    def connections(self) -> int:
        """How many TCP connections the requests came over: their distinct client ports
        (a lower bound when thousands of connections come and go, as ports are reused)."""
        with self._lock:
            return len(set(self._state.peers))

    @property
    def peers(self) -> list[tuple[str, int]]:
        """The client end (host, port) of every request, oldest first."""
        with self._lock:
            return list(self._state.peers)

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
            if scope.get("client"):
                host, port = scope["client"]
                self._state.peers.append((host, port))
            if headers.get("user-api-key") != self.api_key:
                status, answer, extra = error(401, "unauthorized", "Unauthorized")
            elif path.startswith(_THREADS):
                status, answer, extra = self._threads_answer(method, path, query)
            elif path.startswith(_ATTACHMENTS):
                status, answer, extra = self._attachments_answer(method, path, body)
            else:
                status, answer, extra = self._answer(method, path, body)
            hold = method == "POST" and status == 200 and not self._answers_released.is_set()
            if hold:
                self._held_answers += 1
        if hold:
            await anyio.to_thread.run_sync(self._answers_released.wait)
        if isinstance(answer, Raw):
            content = [(b"content-type", answer.content_type.encode())]
            await send({"type": "http.response.start", "status": status, "headers": content})
            await send({"type": "http.response.body", "body": answer.data})
            return
        await send({"type": "http.response.start", "status": status, "headers": _JSON + extra})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    def _answer(self, method: str, path: str, body: bytes) -> Answer:
        if match := _BOOKING.match(path):
            booking = self._state.bookings.get(match.group(1))
            if method != "GET" or booking is None:
                return error(404, *_NOT_FOUND)
            if self._state.booking_failures:
                return failed(self._state.booking_failures.pop(0))
            return 200, {"data": booking_resource(booking)}, []
        if not (match := _MESSAGES.match(path)):
            return error(404, *_NOT_FOUND)
        booking = self._state.bookings.get(match.group(1))
        if booking is None:
            return error(404, *_NOT_FOUND)
        if not booking.messages_app:
            return error(403, "forbidden", "Forbidden")
        if not booking.messages_supported:
            return error(422, "not_supported", "Method not supported")
        if method == "GET":
            thread = [m for m in self._state.messages if m.booking_id == booking.id][::-1]
            meta = {"limit": 100, "order_by": "inserted_at", "order_direction": "desc"}
            meta |= {"page": 1, "total": len(thread)}
            return 200, {"data": [message_resource(m) for m in thread], "meta": meta}, []
        if method != "POST":
            return error(404, *_NOT_FOUND)
        if self._state.failures:
            return failed(self._state.failures.pop(0))
        if thread_id_of(booking.id) in self._state.closed:
            return error(422, "thread_closed", "Message Thread is closed")
        return self._post_message(booking, body)

    def _post_message(self, booking: StandinBooking, body: bytes) -> Answer:
        text = json_field(body, "message", "message")
        if isinstance(text, str) and text:
            # As documented: with a ``message`` field, an attachment_id is ignored.
            return 200, {"data": message_resource(self._add(booking.id, text, "property"))}, []
        upload = self._state.uploads.get(str(json_field(body, "message", "attachment_id")))
        if upload is None:
            return error(422, "validation_error", "Validation Error")
        link = self._keep_file(upload)
        sent = self._add(booking.id, "", "property", attachments=(link,))
        return 200, {"data": message_resource(sent)}, []

    def _attachments_answer(self, method: str, path: str, body: bytes) -> Answer:
        if method == "GET" and (match := _FILE.match(path)):
            if self._state.file_failures:
                return failed(self._state.file_failures.pop(0))
            # The path arrives decoded; the links were written quoted.
            found = self._state.files.get(quote(match.group(1)))
            if found is None:
                return error(404, *_NOT_FOUND)
            return 200, Raw(found.data, found.content_type), []
        if method != "POST" or path != _ATTACHMENTS:
            return error(404, *_NOT_FOUND)
        if self._state.failures:
            return failed(self._state.failures.pop(0))
        fields = json_field(body, "attachment")
        try:
            name, kind = str(fields["file_name"]), str(fields["file_type"])
            data = base64.b64decode(str(fields["file"]), validate=True)
        except (KeyError, TypeError, binascii.Error):
            return error(422, "validation_error", "Validation Error")
        attachment_id = str(uuid.uuid4())
        self._state.uploads[attachment_id] = StandinFile(name, kind, data)
        return 200, {"data": {"id": attachment_id, "type": "attachment"}}, []

    def _threads_answer(self, method: str, path: str, query: dict[str, str]) -> Answer:
        if self._state.read_failures and method == "GET":
            return failed(self._state.read_failures.pop(0))
        if method == "POST" and (match := _THREAD_CLOSE.match(path)):
            booking = self._booking_of_thread(match.group(1))
            if booking is None:
                return error(404, *_NOT_FOUND)
            self._state.closed.add(match.group(1))
            return 200, {"data": self._thread_of(booking)}, []
        if method != "GET":
            return error(404, *_NOT_FOUND)
        if match := _THREAD.match(path):
            booking = self._booking_of_thread(match.group(1))
            if booking is None:
                return error(404, *_NOT_FOUND)
            return 200, {"data": self._thread_of(booking)}, []
        page, limit = pagination(query)
        if path == _THREADS:
            wanted = query.get("filter[property_id]")
            bookings = self._state.bookings
            threads = [
                thread
                for thread in self._threads()
                if wanted is None or bookings[thread[0].booking_id].property_id == wanted
            ]
            # Only the page's threads are built: the benches list 10,000 of them.
            shown = threads[(page - 1) * limit : page * limit]
            items = [self._thread_of(bookings[thread[0].booking_id]) for thread in shown]
            meta = {"page": page, "limit": limit, "total": len(threads)}
            return 200, {"data": items, "meta": meta}, []
        if match := _THREAD_MESSAGES.match(path):
            if self._state.message_read_failures:
                return failed(self._state.message_read_failures.pop(0))
            thread = self._state.threads.get(match.group(1))
            if not thread:
                return error(404, *_NOT_FOUND)
            newest_first = sorted(thread, key=lambda m: m.inserted_at, reverse=True)
            shown_messages = newest_first[(page - 1) * limit : page * limit]
            meta = {"page": page, "limit": limit, "total": len(newest_first)}
            return 200, {"data": [message_resource(m) for m in shown_messages], "meta": meta}, []
        return error(404, *_NOT_FOUND)

    def _booking_of_thread(self, thread_id: str) -> StandinBooking | None:
        for booking in self._state.bookings.values():
            if thread_id_of(booking.id) == thread_id:
                return booking
        return None

    def _thread_of(self, booking: StandinBooking) -> dict[str, Any]:
        thread_id = thread_id_of(booking.id)
        messages = sorted(self._state.threads.get(thread_id, []), key=lambda m: m.inserted_at)
        return thread_resource(booking, messages, closed=thread_id in self._state.closed)

    def _threads(self) -> list[list[StandinMessage]]:
        """Each thread's messages oldest first; the most recently active thread first."""
        ordered = [sorted(t, key=lambda m: m.inserted_at) for t in self._state.threads.values()]
        return sorted(ordered, key=lambda t: t[-1].inserted_at, reverse=True)

    def _keep_file(self, file: StandinFile) -> str:
        link = f"attachments/{uuid.uuid4()}/{quote(file.name)}"
        self._state.files[link] = file
        return link

    def _add(
        self,
        booking_id: str,
        text: str,
        sender: str,
        *,
        at: datetime | None = None,
        attachments: tuple[str, ...] = (),
    ) -> StandinMessage:
        number = next(self._ids)
        message = StandinMessage(
            id=f"00000000-0000-4000-8000-{number:012d}",
            booking_id=booking_id,
            message=text,
            sender=sender,
            inserted_at=at or datetime.now(UTC),
            thread_id=thread_id_of(booking_id),
            attachments=attachments,
        )
        self._state.messages.append(message)
        self._state.threads.setdefault(message.thread_id, []).append(message)
        return message
