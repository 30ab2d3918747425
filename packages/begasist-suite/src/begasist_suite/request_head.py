"""uvicorn's HTTP protocol with a deadline and a size bound for each request's head.

uvicorn closes idle keep-alive connections, but a connection that opens and
sends nothing, or whose request line and headers trickle in a byte at a
time, is kept for as long as the client likes; and httptools gathers a
header block of any size (200,000 headers, megabytes) before the app can
refuse it. The protocol here closes a connection whose request head is not
complete *seconds* after the connection opened or after the request's first
bytes arrived, and answers 431 and closes once more than *max_bytes* of an
unfinished head have arrived. The app's guard then caps header counts and
sizes exactly (:mod:`begasist_suite.asgi.guard`); bodies have their own
deadline there (:mod:`begasist_suite.asgi.exchange`).

It subclasses uvicorn's httptools protocol (httptools comes with the suite's
``uvicorn[standard]``, and is what uvicorn's "auto" picks) and uses its parser
callbacks (``on_message_begin``, ``on_headers_complete``) and attributes
(``loop``, ``transport``), there since uvicorn's early releases;
``tests/suite/test_server.py`` checks the behaviour through a real server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["REQUEST_LINE_ALLOWANCE", "request_head_protocol"]

log = logging.getLogger("begasist.requests")

REQUEST_LINE_ALLOWANCE: Final = 16_384
"""Bytes a head may have beyond its headers' limit: the request line and the separators."""

_TOO_LARGE: Final = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain\r\ncontent-length: 31\r\nconnection: close\r\n\r\n"
    b"request header fields too large"
)


class _BoundedHeadProtocol(HttpToolsProtocol):
    head_seconds = 30.0
    head_max_bytes = 65_536

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is held no longer than a slow head

    # The parser's own callbacks say where a head starts and ends, so a body the app
    # never read (a 404 before the upload ended) is never taken for a head.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._arm()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.head_max_bytes:
            log.info("refused a request head of over %d bytes", self._head_bytes)
            self.transport.write(_TOO_LARGE)
            self.transport.close()
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_seconds, self._expire)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _expire(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            log.info("closing a connection whose request head did not arrive in time")
            self.transport.close()


def request_head_protocol(seconds: float, max_header_bytes: int) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol bounding each request head to *seconds* and a size.

    The size is *max_header_bytes* plus :data:`REQUEST_LINE_ALLOWANCE`.
    """
    protocol: type[asyncio.Protocol] = type(
        "BoundedHeadHttpToolsProtocol",
        (_BoundedHeadProtocol,),
        {"head_seconds": seconds, "head_max_bytes": max_header_bytes + REQUEST_LINE_ALLOWANCE},
    )
    return protocol
