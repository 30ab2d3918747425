"""What the suite writes to one guest socket: every frame under a deadline, and the replies shown.

A guest that stops reading (a tab frozen in the background, or a client that
does so on purpose) would otherwise hold its session, its hub subscription and
its open-socket count for ever: a send waits as long as the connection's
buffers are full. Each send gets ``BEGASIST_GUEST_SEND_TIMEOUT_SECONDS``;
past it the session ends without a close frame (which could not be written
either), and the server aborts the connection
(:mod:`begasist_suite.socket_writes`).

The replies this socket showed (history, earlier pages) or pushed are
remembered, the newest :data:`SHOWN_REPLIES` of them, so that the guest's
receipts are taken only for those (``GuestIngress.receipt_for``).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Final

import anyio
from begasist_core import Direction, GuestHistoryItem
from litestar import WebSocket

__all__ = ["SHOWN_REPLIES", "GuestSender", "SendStalled"]

SHOWN_REPLIES: Final = 1000
"""Reply ids one socket remembers (five history pages' worth); a receipt for an older one
is dropped, and widgets send receipts for their newest replies only."""


class SendStalled(Exception):
    """A frame could not be written within the deadline: the guest reads nothing."""


class GuestSender:
    """Writes frames to *socket*, each within *seconds*, and remembers the replies shown."""

    def __init__(self, socket: WebSocket[Any, Any, Any], seconds: float) -> None:
        self._socket = socket
        self._seconds = seconds
        self._shown: OrderedDict[str, None] = OrderedDict()

    async def send(self, text: str) -> None:
        """Write one text frame; :class:`SendStalled` when it is not written in time."""
        with anyio.move_on_after(self._seconds) as deadline:
            await self._socket.send_text(text)
        if deadline.cancelled_caught:
            raise SendStalled

    async def close(self, code: int, reason: str) -> None:
        """Send the close frame if it can be written in time (else the server aborts) and
        the guest is still there (uvicorn's ClientDisconnected is an OSError)."""
        with anyio.move_on_after(self._seconds), contextlib.suppress(OSError):
            await self._socket.close(code=code, reason=reason)

    def showed(self, items: Iterable[GuestHistoryItem]) -> None:
        """Remember the replies among *items* (a history or earlier page about to be sent)."""
        for item in items:
            if item.direction == Direction.OUTBOUND:
                self.pushed(item.id)

    def pushed(self, message_id: str) -> None:
        """Remember the reply *message_id* (a frame pushed for it)."""
        self._shown[message_id] = None
        self._shown.move_to_end(message_id)
        while len(self._shown) > SHOWN_REPLIES:
            self._shown.popitem(last=False)

    def was_shown(self, message_id: str) -> bool:
        """Whether this socket showed or pushed the reply *message_id*."""
        return message_id in self._shown
