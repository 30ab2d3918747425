"""The web chat bench's staff: replies through the REST API at a fixed rate, in their own process.

httpx in the bench's own process could not keep up on a busy two-core host
(replies were read back from the guest's socket before httpx had read the
API's answer), so the replies go out here, over raw keep-alive HTTP/1.1
connections on uvloop (``webhook_ingest.py``'s load generator's connection),
open loop: each reply at its scheduled time whether earlier ones answered or
not, on an idle connection or a new one.

    python bench/_webchat_staff.py PORT HOTEL RATE SECONDS TAG < {"token", "conversations"} (JSON)

Prints one JSON line: ``sent`` (text -> [time.time() just before the request
was written, when its answer was read], for 202s), ``statuses``, and
``late_ms`` (how late each request left against its schedule). The wall clock,
because the guests' processes and Redis's entry ids are compared with it.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import anyio
from webhook_ingest import _connect, _Connection

HOST = "127.0.0.1"


def request(port: int, token: str, path: str, text: str) -> bytes:
    body = json.dumps({"text": text}).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def replies(
    port: int,
    hotel: str,
    token: str,
    conversations: list[str],
    rate: float,
    seconds: float,
    tag: str,
) -> dict[str, Any]:
    sent: dict[str, tuple[float, float]] = {}
    statuses: dict[int, int] = {}
    late_ms: list[float] = []
    idle: list[_Connection] = [await _connect(HOST, port) for _ in range(16)]

    async def one(n: int, scheduled: float) -> None:
        while idle and idle[-1].transport.is_closing():
            idle.pop()  # uvicorn closes connections idle for 5 s
        connection = idle.pop() if idle else await _connect(HOST, port)
        text = f"{tag} reply {n}"
        conversation = conversations[n % len(conversations)]
        path = f"/api/v1/hotels/{hotel}/conversations/{conversation}/messages"
        raw = request(port, token, path, text)
        late_ms.append((time.monotonic() - scheduled) * 1000)
        began = time.time()
        try:
            status = await connection.request(raw)
        except ConnectionError:
            status = 0
        else:
            idle.append(connection)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 202:
            sent[text] = (began, time.time())

    started = time.monotonic()
    async with anyio.create_task_group() as tasks:
        for n in range(int(rate * seconds)):
            scheduled = started + n / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await anyio.sleep(delay)
            tasks.start_soon(one, n, scheduled)
    for connection in idle:
        connection.transport.close()
    return {
        "sent": sent,
        "statuses": {str(k): v for k, v in statuses.items()},
        "late_ms": late_ms,
        "seconds": time.monotonic() - started,
    }


def main() -> None:
    port, hotel = int(sys.argv[1]), sys.argv[2]
    rate, seconds, tag = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    given = json.load(sys.stdin)  # the token stays out of the command line
    token, conversations = given["token"], given["conversations"]
    result = anyio.run(
        replies,
        port, hotel, token, conversations, rate, seconds, tag,
        backend_options={"use_uvloop": True},
    )  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
