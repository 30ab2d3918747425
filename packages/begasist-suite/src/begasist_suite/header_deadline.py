"""uvicorn's HTTP protocols with a deadline for request headers (slow-headers clients).

uvicorn closes idle keep-alive connections, but a connection that opens and
sends nothing, or whose request headers trickle in a byte at a time, is kept
for as long as the client likes: each one is a socket and a parser held. The
protocols here close a connection whose request headers are not complete
*seconds* after it opened or after the first bytes of a request arrived.
Bodies have their own deadline in the app (:mod:`begasist_suite.asgi.exchange`).

It subclasses uvicorn's httptools protocol (httptools comes with the suite's
``uvicorn[standard]``, and is what uvicorn's "auto" picks) and uses four of
its attributes (``loop``, ``transport``, ``cycle`` and the cycle's
``response_complete``), there since uvicorn's early releases;
``tests/suite/test_server.py`` checks the behaviour through a real server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["header_deadline_protocol"]

log = logging.getLogger("begasist.requests")


class _DeadlineHttpToolsProtocol(HttpToolsProtocol):
    header_seconds = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            self._disarm()  # closed, or upgraded to a WebSocket: no more requests here
        elif self.cycle is not before:
            self._disarm()  # a request's headers are complete
        elif self.cycle is None or self.cycle.response_complete:
            self._arm()  # bytes of a request whose headers are still to come

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_seconds, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.info("closing a connection whose request headers did not arrive in time")
            self.transport.close()


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, closing connections whose headers take over *seconds*."""
    name = "HeaderDeadlineHttpToolsProtocol"
    protocol: type[asyncio.Protocol] = type(
        name, (_DeadlineHttpToolsProtocol,), {"header_seconds": seconds}
    )
    return protocol
