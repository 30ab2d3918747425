"""A stand-in for Meta's Graph API (the Cloud API part Begasist uses), as a real HTTP server.

Meta's Graph API cannot be reached from CI, so tests, benches and demos talk to
this server instead. It speaks the Cloud API wire format on 127.0.0.1 and a
free port, from a background thread (uvicorn), and records what it was sent.

API::

    with GraphStandin(token="t", messages_per_second=80) as graph:
        graph.base_url                   # "http://127.0.0.1:<port>": the graph_api_url setting
        graph.fail_next(2, status=500, code=131000, title="Something went wrong")
        graph.add_media("123", b"...", "image/jpeg")
        graph.accepted                   # [AcceptedMessage(...)], oldest first
        graph.requests                   # [RecordedRequest(...)], every request, token removed
        graph.throttled, graph.pair_limited   # refusals for 130429 / 131056
        graph.send_statuses({"106540352242922": StatusCallback(url, app_secret)})

Endpoints:

- ``POST /{version}/{phone_number_id}/messages``: ``Authorization: Bearer
  <token>`` or 401 with code 190; the payload is checked roughly (400 with
  131008/131009/100); answered as Meta does, with a unique ``wamid.``.
- Throughput: more than ``messages_per_second`` accepted messages for one
  ``phone_number_id`` in a sliding second is refused with code 130429; more
  than ``pair_limit`` to one recipient within ``pair_window_seconds`` with
  131056. Meta answers both with HTTP 400 (its error-code table lists them as
  ``400 Bad Request``); ``rate_limit_status`` changes that.
- ``GET /{version}/{media_id}``: the media's metadata with a download ``url``;
  ``GET /media-download/{media_id}``: its bytes (bearer required), as Meta's
  two-step media download.

``send_statuses`` posts a signed ``sent`` status webhook for each message
accepted afterwards (``status_webhooks.py``). ``fail_next`` scripts failures
of the next message posts (after ``after`` successful ones); ``latency``
delays every answer. Runnable for benches:
``python -m begasist_channels_whatsapp.testing.graph_standin --port 8765 --token T``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final, Self

import anyio
import uvicorn

from begasist_channels_whatsapp.testing.graph_payloads import (
    Refused,
    ScriptedFailure,
    check_payload,
    error_body,
    invalid,
)
from begasist_channels_whatsapp.testing.status_webhooks import StatusCallback, StatusWebhooks

__all__ = ["AcceptedMessage", "GraphStandin", "RecordedRequest", "ScriptedFailure", "main"]

_MESSAGES_PATH: Final = re.compile(r"^/(v[0-9]+\.[0-9]+)/([0-9A-Za-z_-]+)/messages$")
_MEDIA_PATH: Final = re.compile(r"^/(v[0-9]+\.[0-9]+)/([0-9A-Za-z_.-]+)$")
_DOWNLOAD_PATH: Final = re.compile(r"^/media-download/([0-9A-Za-z_.-]+)$")


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request as the stand-in saw it; the ``authorization`` header is left out."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any
    at: float
    """``time.monotonic()`` on arrival."""
    authorized: bool


@dataclass(frozen=True, slots=True)
class AcceptedMessage:
    """A message the stand-in accepted, with the wamid it answered."""

    phone_number_id: str
    to: str
    type: str
    payload: Mapping[str, Any]
    wamid: str
    at: float

    @property
    def text(self) -> str:
        """The text a guest would read: the body, a caption, or the template's name."""
        body = self.payload.get(self.type)
        if not isinstance(body, dict):
            return ""
        if self.type == "text":
            return str(body.get("body", ""))
        if self.type == "template":
            return str(body.get("name", ""))
        return str(body.get("caption", ""))


@dataclass(slots=True)
class _Media:
    data: bytes
    mime_type: str
    # Misbehaviour scripted by add_media (media download tests).
    announce: Mapping[str, Any] = field(default_factory=dict)
    content_type: str | None = None
    download_status: int = 200
    failures: int = 0


@dataclass(slots=True)
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    accepted: list[AcceptedMessage] = field(default_factory=list)
    failures: deque[ScriptedFailure | None] = field(default_factory=deque)
    per_number: defaultdict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    per_pair: defaultdict[tuple[str, str], deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    media: dict[str, _Media] = field(default_factory=dict)
    throttled: int = 0
    pair_limited: int = 0


class GraphStandin:
    """Meta's Graph API, as far as Begasist's WhatsApp channel uses it; see the module doc."""

    def __init__(
        self,
        *,
        token: str = "graph-standin-token",
        messages_per_second: int = 80,
        pair_limit: int = 45,
        pair_window_seconds: float = 6.0,
        rate_limit_status: int = 400,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.messages_per_second = messages_per_second
        self.pair_limit = pair_limit
        self.pair_window_seconds = pair_window_seconds
        self.rate_limit_status = rate_limit_status
        self.latency = latency
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._state = _State()
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.statuses: StatusWebhooks | None = None

    # -- life ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Listen on ``host`` (a free port unless ``port`` was given) and serve in a thread."""
        if self._server is not None:
            raise RuntimeError("the stand-in is already running")
        sock = self._bind()
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"graph-standin-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("the Graph API stand-in did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the thread (open connections are closed)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        statuses, self.statuses = self.statuses, None
        if statuses is not None:
            statuses.stop()
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        """A socket on ``host`` and ``port`` (0: a free one), given to uvicorn to serve."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        return sock

    def _make_server(self) -> uvicorn.Server:
        config = uvicorn.Config(
            self,
            http="h11",
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        return uvicorn.Server(config)

    # -- scripting and reading back ----------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        code: int = 131000,
        title: str = "Something went wrong",
        subcode: int | None = None,
        retry_after: float | None = None,
        details: str | None = None,
        body: bytes | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next *count* message posts (once *after* more were let through) with an error.

        A scripted failure is answered after the token check and before any
        other check; the message is not accepted. With *body*, that is the
        answer (as ``text/html``) instead of Meta's error JSON.
        """
        failure = ScriptedFailure(status, code, title, subcode, retry_after, details, body)
        with self._lock:
            self._state.failures.extend([None] * after + [failure] * count)

    def send_statuses(self, callbacks: Mapping[str, StatusCallback], delay: float = 0.05) -> None:
        """From now on, post a ``sent`` status for each message accepted for a number in
        *callbacks* (``phone_number_id`` -> URL and app secret), *delay* seconds after."""
        if self.statuses is not None:
            self.statuses.stop()
        self.statuses = StatusWebhooks(callbacks, delay=delay)

    def add_media(
        self,
        media_id: str,
        data: bytes,
        mime_type: str,
        *,
        announce: Mapping[str, Any] | None = None,
        content_type: str | None = None,
        download_status: int = 200,
        failures: int = 0,
    ) -> None:
        """Serve *data* as media *media_id* on the two media endpoints.

        To script a misbehaving Meta: *announce* overrides fields of the
        metadata answer (a lying ``file_size`` or ``sha256``); *content_type*
        is the download's ``Content-Type`` instead of *mime_type*;
        *download_status* other than 200 answers the download with that status
        and no bytes (an expired URL: 404); the first *failures* metadata
        requests answer 500.
        """
        media = _Media(
            data, mime_type, dict(announce or {}), content_type, download_status, failures
        )
        with self._lock:
            self._state.media[media_id] = media

    @property
    def accepted(self) -> list[AcceptedMessage]:
        with self._lock:
            return list(self._state.accepted)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    @property
    def throttled(self) -> int:
        """How many posts were refused for the number's throughput (code 130429)."""
        with self._lock:
            return self._state.throttled

    @property
    def pair_limited(self) -> int:
        """How many posts were refused for the pair rate (code 131056)."""
        with self._lock:
            return self._state.pair_limited

    def reset(self) -> None:
        """Forget every request, message, failure, media and counter."""
        with self._lock:
            self._state = _State()

    # -- the ASGI app ------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body", False):
                break
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", [])
        }
        authorized = headers.pop("authorization", None) == f"Bearer {self.token}"
        method, path = scope["method"], scope["path"]
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            self._state.requests.append(
                RecordedRequest(method, path, headers, parsed, time.monotonic(), authorized)
            )
        status, content_type, answer = self._answer(method, path, authorized, body, parsed)
        if self.latency:
            await anyio.sleep(self.latency)
        extra: list[tuple[bytes, bytes]] = []
        if isinstance(answer, ScriptedFailure):
            if answer.retry_after is not None:
                extra.append((b"retry-after", f"{answer.retry_after:g}".encode()))
            if answer.body is not None:
                content_type = "text/html"
            answer = answer.body if answer.body is not None else error_body(answer)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode()), *extra],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _answer(
        self, method: str, path: str, authorized: bool, body: bytes, parsed: Any
    ) -> tuple[int, str, bytes | ScriptedFailure]:
        json_type = "application/json"
        if not authorized:
            failure = ScriptedFailure(
                401, 190, "Invalid OAuth access token - Cannot parse access token"
            )
            return 401, json_type, failure
        if method == "POST" and (match := _MESSAGES_PATH.match(path)):
            try:
                return 200, json_type, self._accept(match.group(2), body, parsed)
            except Refused as refused:
                return refused.failure.status, json_type, refused.failure
        if method == "GET" and (match := _DOWNLOAD_PATH.match(path)):
            media = self._media(match.group(1))
            if media is None:
                return 404, "text/plain", b"not found"
            if media.download_status != 200:
                return media.download_status, "text/plain", b"gone"
            return 200, media.content_type or media.mime_type, media.data
        if method == "GET" and (match := _MEDIA_PATH.match(path)):
            media_id = match.group(2)
            media = self._media(media_id)
            if media is None:
                return 400, json_type, ScriptedFailure(400, 100, "Invalid parameter")
            with self._lock:
                failing, media.failures = media.failures > 0, max(media.failures - 1, 0)
            if failing:
                return 500, json_type, ScriptedFailure(500, 1, "An unknown error occurred")
            return 200, json_type, self._media_metadata(media_id, media)
        return 404, json_type, ScriptedFailure(404, 100, "Unknown path components")

    def _media(self, media_id: str) -> _Media | None:
        with self._lock:
            return self._state.media.get(media_id)

    def _media_metadata(self, media_id: str, media: _Media) -> bytes:
        return json.dumps(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/media-download/{media_id}",
                "mime_type": media.mime_type,
                "sha256": hashlib.sha256(media.data).hexdigest(),
                "file_size": len(media.data),
                "id": media_id,
                **media.announce,
            }
        ).encode()

    def _accept(self, phone_number_id: str, body: bytes, payload: Any) -> bytes:
        with self._lock:
            scripted = self._state.failures.popleft() if self._state.failures else None
        if scripted is not None:
            raise Refused(scripted)
        if payload is None and body:
            raise invalid(100, "Invalid parameter", "the body is not JSON")
        to, kind = check_payload(payload)
        now = time.monotonic()
        with self._lock:
            sent = _recent(self._state.per_number[phone_number_id], now, 1.0)
            if len(sent) >= self.messages_per_second:
                self._state.throttled += 1
                raise Refused(
                    ScriptedFailure(
                        self.rate_limit_status,
                        130429,
                        "Rate limit hit",
                        details="Cloud API message throughput has been reached.",
                    )
                )
            pair = _recent(self._state.per_pair[phone_number_id, to], now, self.pair_window_seconds)
            if len(pair) >= self.pair_limit:
                self._state.pair_limited += 1
                raise Refused(
                    ScriptedFailure(
                        self.rate_limit_status,
                        131056,
                        "(Business Account, Consumer Account) pair rate limit hit",
                        details="Message failed to send because there were too many messages "
                        "sent from this phone number to the same phone number in a short period.",
                    )
                )
            sent.append(now)
            pair.append(now)
            wamid = f"wamid.STANDIN{next(self._ids):08d}{phone_number_id[-4:]}"
            self._state.accepted.append(
                AcceptedMessage(phone_number_id, to, kind, payload, wamid, now)
            )
        if self.statuses is not None:
            self.statuses.accepted(
                phone_number_id=phone_number_id, wamid=wamid, recipient=to, payload=payload
            )
        answer: dict[str, Any] = {"id": wamid}
        if kind == "template":
            answer["message_status"] = "accepted"
        return json.dumps(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": re.sub(r"[^0-9]", "", to)}],
                "messages": [answer],
            }
        ).encode()


def _recent(times: deque[float], now: float, window: float) -> deque[float]:
    """*times* without the entries older than *window* seconds (a sliding window)."""
    while times and times[0] <= now - window:
        times.popleft()
    return times


def main(argv: list[str] | None = None) -> None:
    """Serve the stand-in in the foreground until interrupted (benches, demos)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="graph-standin-token")
    parser.add_argument("--messages-per-second", type=int, default=80)
    parser.add_argument("--latency", type=float, default=0.0)
    options = parser.parse_args(argv)
    standin = GraphStandin(
        token=options.token,
        messages_per_second=options.messages_per_second,
        latency=options.latency,
        host=options.host,
        port=options.port,
    )
    sock = standin._bind()  # uvicorn's own host and port would be its defaults
    print(f"Graph API stand-in on {standin.base_url} (token {options.token!r})", flush=True)
    standin._make_server().run(sockets=[sock])


if __name__ == "__main__":
    main()
