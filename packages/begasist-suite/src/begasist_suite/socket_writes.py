"""uvicorn's WebSocket protocol with a deadline on writes: a client that reads nothing is cut off.

A WebSocket client that stops reading (on purpose, or a frozen tab) fills the
connection's buffers; uvicorn then holds every send of the app, and closing
the connection waits for the buffer to drain, which it never does: the
socket, its buffers and its file descriptor stay for as long as the client
keeps the TCP connection. The protocol here aborts the connection (a reset, no
waiting) once its writes have been paused for *seconds* in a row
(``BEGASIST_GUEST_SEND_TIMEOUT_SECONDS``); the app's blocked send then fails as
for any client that left. The guest socket bounds each send with the same
deadline itself (:mod:`begasist_suite.guest.sending`).

It subclasses uvicorn's sans-I/O ``websockets`` protocol (what uvicorn's
"auto" picks with the ``websockets`` package, which the suite depends on) and
uses its flow-control callbacks (``pause_writing``, ``resume_writing``,
``connection_lost``) and attributes (``loop``, ``transport``);
``tests/suite/guest/test_socket_stalls.py`` checks the behaviour through a
real server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["write_deadline_protocol"]

log = logging.getLogger("begasist.sockets")


class _WriteDeadlineProtocol(WebSocketsSansIOProtocol):
    write_seconds = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_timer: asyncio.TimerHandle | None = None

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.write_seconds, self._stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _stalled(self) -> None:
        self._write_timer = None
        log.info(
            "a WebSocket client read nothing in %.0f s: connection aborted", self.write_seconds
        )
        self.transport.abort()


def write_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """The WebSocket protocol class whose writes may stall *seconds* at most."""
    return type("WriteDeadlineProtocol", (_WriteDeadlineProtocol,), {"write_seconds": seconds})
