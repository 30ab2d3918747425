"""A stand-in for WhatsApp's servers behind the linked transport: the test scripts each connection.

WhatsApp Web's peer cannot be reached from CI, so the transport's plumbing is
tested against this :class:`~begasist_channels_whatsapp.linked.LinkedClient`
double: the test pushes the events a connection would see and reads back what
was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from begasist_channels_whatsapp.linked import (
    Connected,
    EventSink,
    LinkedEvent,
    LinkedNotConnected,
    LinkedSession,
    Paired,
)


@dataclass(frozen=True)
class SentText:
    to: str
    text: str
    reply_to: str | None
    provider_id: str


@dataclass
class LinkedPeer:
    """Every client the transport built, and what they sent and unlinked."""

    clients: list[DoubleClient] = field(default_factory=list)
    running: dict[int, anyio.Event] = field(default_factory=dict)
    sent: list[SentText] = field(default_factory=list)
    logouts: int = 0
    fail_next_run: Exception | None = None
    """Raised by the next client's ``run``, as a library whose connect fails."""

    def factory(self, session: LinkedSession) -> DoubleClient:
        client = DoubleClient(self, session, index=len(self.clients))
        self.clients.append(client)
        return client

    def _running(self, index: int) -> anyio.Event:
        return self.running.setdefault(index, anyio.Event())

    async def client(self, index: int) -> DoubleClient:
        """The *index*-th client once it is running (bound the wait with fail_after)."""
        await self._running(index).wait()
        return self.clients[index]


class DoubleClient:
    """One connection: ``push`` what WhatsApp would send it."""

    def __init__(self, peer: LinkedPeer, session: LinkedSession, *, index: int) -> None:
        self.peer = peer
        self.session = session
        self.index = index
        self.inbox: MemoryObjectSendStream[tuple[LinkedEvent, anyio.Event]] | None = None
        self.connected = False
        self.stopped = False

    async def push(self, *events: LinkedEvent) -> None:
        """Deliver *events* in order; returns once the transport has handled each."""
        assert self.inbox is not None
        for event in events:
            handled = anyio.Event()
            await self.inbox.send((event, handled))
            await handled.wait()

    async def run(self, deliver: EventSink) -> None:
        if self.peer.fail_next_run is not None:
            error, self.peer.fail_next_run = self.peer.fail_next_run, None
            raise error
        send, receive = anyio.create_memory_object_stream[tuple[LinkedEvent, anyio.Event]](100)
        self.inbox = send
        self.peer._running(self.index).set()
        try:
            async with receive:
                async for event, handled in receive:
                    if isinstance(event, Paired | Connected):
                        # As whatsmeow: pairing writes the device keys to the store.
                        self.session.database.write_bytes(b"device keys")
                        self.connected = isinstance(event, Connected)
                    await deliver(event)
                    handled.set()
        finally:
            send.close()
            self.connected = False
            self.stopped = True

    async def send_text(self, to: str, text: str, *, reply_to: str | None = None) -> str:
        if not self.connected:
            raise LinkedNotConnected("the double is not connected")
        provider_id = f"3EB0{len(self.peer.sent):04d}"
        self.peer.sent.append(SentText(to, text, reply_to, provider_id))
        return provider_id

    async def logout(self) -> None:
        if not self.connected:
            raise LinkedNotConnected("the double is not connected")
        self.peer.logouts += 1
