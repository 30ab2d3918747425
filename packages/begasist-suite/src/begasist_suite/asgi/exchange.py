"""One request's ASGI ``receive`` and ``send`` as the guard hands them to the app.

``receive`` gives the body a deadline: a body not wholly received within the
read timeout after the headers is answered 408 with ``Connection: close``
(uvicorn then closes the connection) and the app is told the client left.
``send`` stamps ``X-Request-ID`` on the response and notes its status; once
the guard has answered for the app (408, 500), what the app still sends is
dropped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from begasist_suite.asgi.request_id import REQUEST_ID_HEADER, RequestContext

__all__ = ["Exchange", "Message", "Receive", "Scope", "Send"]

# Plain ASGI, as uvicorn hands it over (Litestar's TypedDicts cannot follow a message
# whose type is read at run time).
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("begasist.requests")


class Exchange:
    """The wrapped ``receive``/``send`` of one request (see the module docstring)."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        context: RequestContext,
        *,
        body_timeout: float,
    ) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._context = context
        self._id_header = (REQUEST_ID_HEADER, context.id.encode("ascii"))
        # Only an HTTP request has a body to wait for; a WebSocket's receive lasts its life.
        self._body_pending = scope["type"] == "http"
        self._deadline = anyio.current_time() + body_timeout
        self._answered = False
        self.status: int | None = None

    async def receive(self) -> Message:
        if not self._body_pending:
            return await self._receive()
        with anyio.move_on_after(self._deadline - anyio.current_time()):
            message: Message = await self._receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                self._body_pending = False
            if message["type"] == "http.disconnect":
                self._context.client_gone = True
            return message
        self._body_pending = False
        self._context.client_gone = True
        log.info("request %s: the body did not arrive in time; answered 408", self._context.id)
        await self.answer(
            408, "the request body did not arrive in time", extra=[(b"connection", b"close")]
        )
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self._answered:
            return
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = [*message.get("headers", ()), self._id_header]
        elif message["type"] == "websocket.accept":
            message["headers"] = [*message.get("headers", ()), self._id_header]
        await self._send(message)

    @property
    def response_started(self) -> bool:
        return self.status is not None

    async def answer(
        self, status: int, detail: str, *, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """Answer *status* with a JSON body naming the request id; the app's sends are dropped."""
        if self.response_started or self._scope["type"] != "http":
            self._answered = True
            return
        body = json.dumps(
            {"status_code": status, "detail": detail, "request_id": self._context.id}
        ).encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            *(extra or ()),
        ]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})
        self._answered = True
