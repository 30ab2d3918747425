"""The web chat bench's guests: one process holding many guest sockets, driven over stdin/stdout.

``bench/webchat_sockets.py`` starts a few of these (so the client side is
spread over processes and never the bottleneck) and sends each one JSON
command a line on stdin; each answers one JSON line on stdout:

- ``{"do": "open", "count": N, "concurrency": C, "hello": true}``: open N
  sockets, C at a time; with ``hello`` each sends the widget's first frame and
  reads the suite's ``session`` and ``history`` frames (without: a bare socket,
  for the echo baseline). Answers how many opened, the failures by kind, and
  the seconds it took.
- ``{"do": "pings"}``: a ``ping`` frame of the widget's protocol on every
  open socket (what a widget sends to keep its socket open).
- ``{"do": "alive"}``: a WebSocket ping on every open socket; answers how
  many answered their pong, how many are still open, and the codes of those
  the server closed.
- ``{"do": "keep", "count": K}``: close every socket but the first K.
- ``{"do": "message", "count": K}``: the first K sockets each send a message
  and wait for the suite's ``accepted``; answers their visitor ids.
- ``{"do": "arrivals"}``: the reply frames seen since the last ask, as
  ``[text, time.time()]``, taken as the frame is read, before it is decoded
  (the wall clock: the one this host's processes and Redis's entry ids share).
- ``{"do": "echo", "rate": R, "seconds": S}``: against the echo server, R
  frames a second round-robin over the open sockets; answers the round trips.
- ``{"do": "quit"}``.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HELLO = json.dumps({"type": "hello", "visitor": None, "token": None, "language": "en"})
PING = '{"type":"ping"}'
OPEN_TIMEOUT = 60.0


@dataclass
class Guest:
    ws: ClientConnection
    visitor: str = ""
    accepted: anyio.Event = field(default_factory=anyio.Event)
    reading: bool = True
    """False once the server closed the socket (or it broke)."""


@dataclass
class Guests:
    url: str
    origin: str
    tasks: TaskGroup
    open: list[Guest] = field(default_factory=list)
    arrivals: list[tuple[str, float]] = field(default_factory=list)
    round_trips: list[float] = field(default_factory=list)
    closed_codes: Counter[str] = field(default_factory=Counter)

    async def read(self, guest: Guest) -> None:
        """Every frame after the handshake: replies timed as they are read."""
        try:
            async for frame in guest.ws:
                now = time.time()
                data = json.loads(frame)
                kind = data.get("type")
                if kind == "message":
                    self.arrivals.append((data["message"]["text"], now))
                elif kind == "accepted":
                    guest.accepted.set()
                elif kind == "echo":
                    self.round_trips.append(now - data["t"])
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else "none"
            self.closed_codes[str(code)] += 1
        finally:
            guest.reading = False

    async def open_one(self, hello: bool) -> Guest:
        ws = await connect(
            self.url,
            origin=self.origin,  # type: ignore[arg-type]  # websockets' Origin is a NewType of str
            compression=None,
            ping_interval=None,
            open_timeout=OPEN_TIMEOUT,
            close_timeout=5,
            user_agent_header=None,
        )
        guest = Guest(ws)
        if hello:
            await ws.send(HELLO)
            with anyio.fail_after(OPEN_TIMEOUT):
                session = json.loads(await ws.recv())
                if session.get("type") != "session":
                    raise RuntimeError(f"expected session, got {session.get('type')}")
                guest.visitor = session["visitor"]
                await ws.recv()  # the history frame
        self.tasks.start_soon(self.read, guest)
        return guest

    async def open_many(self, count: int, concurrency: int, hello: bool) -> dict[str, Any]:
        gate = anyio.Semaphore(concurrency)
        failures: Counter[str] = Counter()
        began = time.monotonic()

        async def one() -> None:
            async with gate:
                try:
                    self.open.append(await self.open_one(hello))
                except ConnectionClosed as closed:
                    code = closed.rcvd.code if closed.rcvd is not None else "none"
                    failures[f"closed {code}"] += 1
                except Exception as error:  # counted and reported, not raised: the bench decides
                    failures[type(error).__name__ + ": " + str(error)[:80]] += 1

        async with anyio.create_task_group() as tasks:
            for _ in range(count):
                tasks.start_soon(one)
        return {
            "opened": len(self.open),
            "failures": dict(failures),
            "seconds": time.monotonic() - began,
        }

    async def pings(self) -> dict[str, Any]:
        async def ping(guest: Guest) -> None:
            with contextlib.suppress(ConnectionClosed):  # counted by its reader
                await guest.ws.send(PING)

        async with anyio.create_task_group() as tasks:
            for guest in self.open:
                tasks.start_soon(ping, guest)
        return {"sent": len(self.open)}

    async def alive(self) -> dict[str, Any]:
        pongs = 0

        async def check(guest: Guest) -> None:
            nonlocal pongs
            try:
                pong = await guest.ws.ping()
                with anyio.fail_after(30):
                    await pong
            except (ConnectionClosed, TimeoutError):
                return
            pongs += 1

        async with anyio.create_task_group() as tasks:
            for guest in self.open:
                tasks.start_soon(check, guest)
        still_open = sum(1 for g in self.open if g.reading)
        return {
            "pong": pongs,
            "open": still_open,
            "closed_codes": dict(self.closed_codes),
        }

    async def keep(self, count: int) -> dict[str, Any]:
        closing, self.open = self.open[count:], self.open[:count]
        async with anyio.create_task_group() as tasks:
            for guest in closing:
                tasks.start_soon(guest.ws.close)
        return {"open": len(self.open)}

    async def message(self, count: int) -> dict[str, Any]:
        visitors: list[str] = []
        failures: Counter[str] = Counter()

        async def one(guest: Guest) -> None:
            frame = {"type": "message", "id": uuid.uuid4().hex, "text": "hello from the bench"}
            try:
                await guest.ws.send(json.dumps(frame))
                with anyio.fail_after(30):
                    await guest.accepted.wait()
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else "none"
                failures[f"closed {code}"] += 1
            except TimeoutError:
                failures["closed" if not guest.reading else "no accepted in 30 s"] += 1
            else:
                visitors.append(guest.visitor)

        async with anyio.create_task_group() as tasks:
            for guest in self.open[:count]:
                tasks.start_soon(one, guest)
        return {
            "visitors": visitors,
            "failures": dict(failures),
            "closed_codes": dict(self.closed_codes),
        }

    async def echo(self, rate: float, seconds: float) -> dict[str, Any]:
        self.round_trips.clear()
        total = int(rate * seconds)
        began = time.monotonic()
        for n in range(total):
            delay = began + n / rate - time.monotonic()
            if delay > 0:
                await anyio.sleep(delay)
            guest = self.open[n % len(self.open)]
            await guest.ws.send(json.dumps({"type": "echo", "t": time.time()}))
        deadline = time.monotonic() + 10
        while len(self.round_trips) < total and time.monotonic() < deadline:  # noqa: ASYNC110 (polled: the readers count)
            await anyio.sleep(0.05)
        return {"sent": total, "round_trips": self.round_trips}


async def serve(url: str, origin: str) -> None:
    async with anyio.create_task_group() as tasks:
        await answer_commands(Guests(url, origin, tasks))
        tasks.cancel_scope.cancel()


async def answer_commands(guests: Guests) -> None:
    while True:
        line = await anyio.to_thread.run_sync(sys.stdin.readline)
        if not line:
            break
        command = json.loads(line)
        answer: dict[str, Any]
        match command["do"]:
            case "open":
                answer = await guests.open_many(
                    command["count"], command["concurrency"], command["hello"]
                )
            case "pings":
                answer = await guests.pings()
            case "alive":
                answer = await guests.alive()
            case "keep":
                answer = await guests.keep(command["count"])
            case "message":
                answer = await guests.message(command["count"])
            case "arrivals":
                arrivals, guests.arrivals = guests.arrivals, []
                answer = {"arrivals": arrivals}
            case "echo":
                answer = await guests.echo(command["rate"], command["seconds"])
            case "quit":
                await guests.keep(0)
                answer = {"quit": True}
            case other:
                answer = {"error": f"unknown command {other!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        if command["do"] == "quit":
            break


def main() -> None:
    url, origin = sys.argv[1], sys.argv[2]
    # A socket is a file descriptor: thousands need more than the usual soft limit of 1,024.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    anyio.run(serve, url, origin, backend_options={"use_uvloop": True})


if __name__ == "__main__":
    main()
