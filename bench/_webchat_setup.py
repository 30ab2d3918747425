"""The web chat bench's set-up: the seeded store, the echo baseline's server, the guest workers.

The echo server is a bare ASGI app that accepts every WebSocket and sends each
text frame back, served by uvicorn with the suite's own ``server_config`` (the
same HTTP and WebSocket implementations, loop and limits as ``begasist
serve``): what one socket costs and how long a round trip takes with none of
the suite's work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import anyio
from begasist_channels_webchat.settings import WebchatSettings
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Credential, CredentialKind, Hotel, Membership, Role, User
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store

__all__ = ["HOTEL", "ORIGIN", "SECRET_KEY", "GuestWorkers", "Tokens", "echo_app", "seed"]

HOTEL = "bench"
ORIGIN = "http://hotel.bench.example"
"""The hotel website's origin: the only one the channel's settings allow."""
SECRET_KEY = "webchat-bench-secret-key-" + "x" * 32
_GUESTS = Path(__file__).with_name("_webchat_guests.py")


@dataclass(frozen=True)
class Tokens:
    bot: str
    api: str
    """A manager's API token: the staff replies' bearer token."""


async def seed(sqlite_path: Path) -> Tokens:
    """The hotel with the web chat enabled (mode manual: only staff reply), a manager
    with an API token, and the hotel's bot token."""
    store = Store(SqliteDatabase(sqlite_path))
    await store.migrate()
    box = SecretBox(SECRET_KEY)
    try:
        await store.create_hotel(Hotel(slug=HOTEL, name="Bench"))
        settings = {"mode": "manual", "allowed_origins": [ORIGIN]}
        config = apply_settings_update(WebchatSettings, HOTEL, "webchat", settings, None, box)
        await store.put_channel_config(config)
        manager = await store.create_user(User(email="manager@webchat.bench"))
        await store.set_membership(Membership(hotel=HOTEL, user_id=manager.id, role=Role.MANAGER))
        tokens = Tokens(bot=new_secret("bot_token"), api=new_secret("api_token"))
        await store.add_credential(
            Credential(digest=digest(tokens.bot), kind=CredentialKind.BOT_TOKEN, hotel=HOTEL)
        )
        await store.add_credential(
            Credential(digest=digest(tokens.api), kind=CredentialKind.API_TOKEN, user_id=manager.id)
        )
    finally:
        await store.aclose()
    return tokens


async def echo_app(scope: Any, receive: Any, send: Any) -> None:
    """Every WebSocket accepted, each text frame sent back; ``GET`` answers ``ok``."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    else:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})


class GuestWorkers:
    """``_webchat_guests.py`` processes, each holding its share of the sockets."""

    def __init__(self, processes: int, url: str, env: dict[str, str]) -> None:
        self._processes = [
            subprocess.Popen(
                [sys.executable, str(_GUESTS), url, ORIGIN],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(processes)
        ]

    @property
    def count(self) -> int:
        return len(self._processes)

    def shares(self, total: int) -> list[int]:
        """*total* split over the workers (the first ones take the remainder)."""
        base, extra = divmod(total, self.count)
        return [base + (1 if n < extra else 0) for n in range(self.count)]

    def _ask(self, process: subprocess.Popen[str], command: dict[str, Any]) -> dict[str, Any]:
        stdin: IO[str] | None = process.stdin
        stdout: IO[str] | None = process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"a guest worker exited ({process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def ask_each(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Command *n* to worker *n*, all at once; their answers in order."""
        answers: list[dict[str, Any]] = [{} for _ in self._processes]

        async def one(n: int) -> None:
            answers[n] = await anyio.to_thread.run_sync(self._ask, self._processes[n], commands[n])

        async with anyio.create_task_group() as tasks:
            for n in range(self.count):
                tasks.start_soon(one, n)
        return answers

    async def ask_all(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        return await self.ask_each([command] * self.count)

    def close(self) -> None:
        for process in self._processes:
            if process.poll() is None and process.stdin is not None:
                try:
                    process.stdin.write('{"do": "quit"}\n')
                    process.stdin.close()
                except OSError:
                    pass
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
