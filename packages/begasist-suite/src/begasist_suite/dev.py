"""``begasist dev``: the one-command demo: engine, SQLite, demo data, the suite, a bot per hotel."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import anyio
import uvicorn
from anyio.abc import Process
from begasist_core import PluginManager, UnknownChannel
from pydantic import SecretStr

from begasist_suite.app import create_app, load_plugins
from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings
from begasist_suite.dev_children import dies_with_us, embedded_valkey
from begasist_suite.guest.demo_site import demo_site_app, demo_site_page, seed_demo_webchat
from begasist_suite.secret_box import SecretBox
from begasist_suite.seed import DEMO_CHANNEL, DEMO_HOTELS, DemoLogins, seed_demo
from begasist_suite.server import server_config
from begasist_suite.store.factory import open_store
from begasist_suite.store.store import Store

__all__ = ["DevState", "run_dev"]

log = logging.getLogger("begasist.dev")

STATE_FILE: Final = "dev-secrets.json"
SITE_HOTEL: Final = "plaza"
"""The demo hotel whose website (another port, another origin) embeds the web chat."""
SQLITE_FILE: Final = "begasist.sqlite3"
BOT_STOP_SECONDS: Final = 20.0
"""How long bots may drain after SIGTERM before they are killed (their default drain is 10 s)."""
STARTUP_SECONDS: Final = 30.0
REPEAT_IGNORED_SECONDS: Final = 2.0
"""A second signal this soon is the same stop (a terminal and a process group both sent it)."""
_BOT_VARIABLES: Final = (
    "BEGASIST_SUITE_URL",
    "BEGASIST_BOT_TOKEN",
    "BEGASIST_BOT_TOKENS",
    "BEGASIST_SETTINGS_FILE",
)


@dataclass
class DevState:
    """What the demo generates once and keeps in its data dir (mode 0600): key and passwords."""

    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    passwords: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> DevState:
        """The state kept in *data_dir*, or a new one (saved at once) when there is none."""
        path = data_dir / STATE_FILE
        if not path.exists():
            state = cls()
            state.save(data_dir)
            return state
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(secret_key=str(raw["secret_key"]), passwords=dict(raw.get("passwords", {})))
        except (ValueError, KeyError, TypeError):
            raise UsageError(
                f"{path} is not a begasist dev state file; remove {data_dir} to start afresh"
            ) from None

    def save(self, data_dir: Path) -> None:
        text = json.dumps({"secret_key": self.secret_key, "passwords": self.passwords}, indent=2)
        descriptor = os.open(data_dir / STATE_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)  # also when the file existed with a wider mode
            file.write(text + "\n")


def run_dev(settings: SuiteSettings, *, port: int, data_dir: Path) -> int:
    """Run the demo until SIGINT, SIGTERM or SIGHUP; 0 after a clean stop, 1 if a part failed.

    The bots and the embedded engine die with this process however it ends
    (:mod:`begasist_suite.dev_children`), SIGKILL included.
    """
    with contextlib.redirect_stdout(sys.stderr):
        plugins = load_plugins()
    if DEMO_CHANNEL not in plugins.channels:
        raise UsageError(
            "the demo channel is not installed: "
            "pip install ./docs/examples/begasist-channel-demo (hatch run demo has it)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    state = DevState.load(data_dir)
    with ExitStack() as stack:
        listener = stack.enter_context(_bind("127.0.0.1", port))
        site_listener = stack.enter_context(_bind_site(port + 1))
        redis_url = settings.redis_url
        if not settings.redis_configured:
            redis_url = stack.enter_context(embedded_valkey())
            log.info("embedded Valkey engine listening at %s", redis_url)
        bound_port = listener.getsockname()[1]
        dev_settings = settings.model_copy(
            update={
                "redis_url": redis_url,
                "secret_key": SecretStr(state.secret_key),
                "store": "sqlite",
                "sqlite_path": data_dir / SQLITE_FILE,
                "host": "127.0.0.1",
                "port": bound_port,
                "public_url": f"http://127.0.0.1:{bound_port}",
                "cookie_secure": False,
            }
        )
        return anyio.run(_run, dev_settings, state, plugins, (listener, site_listener), data_dir)


@contextlib.contextmanager
def _bind_site(port: int) -> Iterator[socket.socket]:
    """The demo hotel site's socket: the port after the suite's, else any free one."""
    binding = _bind("127.0.0.1", port)
    try:
        listener = binding.__enter__()
    except UsageError:
        binding = _bind("127.0.0.1", 0)
        listener = binding.__enter__()
    with contextlib.closing(listener):
        yield listener


@contextlib.contextmanager
def _bind(host: str, port: int) -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise UsageError(
            f"cannot listen on {host}:{port} ({error.strerror}); pick another --port"
        ) from None
    with listener:
        yield listener


async def _run(
    settings: SuiteSettings,
    state: DevState,
    plugins: PluginManager,
    listeners: tuple[socket.socket, socket.socket],
    data_dir: Path,
) -> int:
    listener, site_listener = listeners
    store = open_store(settings)
    try:
        await store.migrate()
        try:
            logins = await seed_demo(
                store, SecretBox(state.secret_key), plugins=plugins, passwords=state.passwords
            )
        except UnknownChannel as missing:
            raise UsageError(str(missing)) from None
        state.passwords = logins.passwords
        state.save(data_dir)
        site = await _demo_site(settings, state, plugins, store, site_listener)
        app = create_app(settings, store=store, plugins=plugins)
        host, port = listener.getsockname()[:2]
        config = server_config(app, settings, host=host, port=port, access_log=False)
        supervisor = _Supervisor(_Server(config), settings, logins, data_dir, site=site)
        return await supervisor.run(listener)
    finally:
        with anyio.CancelScope(shield=True):
            await store.aclose()


async def _demo_site(
    settings: SuiteSettings,
    state: DevState,
    plugins: PluginManager,
    store: Store,
    listener: socket.socket,
) -> tuple[_Server, socket.socket, str] | None:
    """The demo hotel's website with the web chat, its socket and URL; None without webchat."""
    suite_url = settings.public_url or f"http://127.0.0.1:{settings.port}"
    site_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    if not await seed_demo_webchat(
        store, SecretBox(state.secret_key), plugins, SITE_HOTEL, site_url
    ):
        return None
    hotel = await store.get_hotel(SITE_HOTEL)
    page = demo_site_page(suite_url, SITE_HOTEL, hotel.name if hotel else SITE_HOTEL)
    # No log set-up of uvicorn's own (log_config=None): its default one would take
    # uvicorn's loggers, the suite's too, away from the process's one format.
    config = uvicorn.Config(
        demo_site_app(suite_url, page),
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
    )
    return _Server(config), listener, site_url


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the supervisor stops it, after the bots."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Supervisor:
    """Serves the suite, runs the bots, and stops everything on a signal or a failure."""

    def __init__(
        self,
        server: uvicorn.Server,
        settings: SuiteSettings,
        logins: DemoLogins,
        data_dir: Path,
        *,
        site: tuple[uvicorn.Server, socket.socket, str] | None = None,
    ) -> None:
        self.server = server
        self.site = site
        self.settings = settings
        self.logins = logins
        self.data_dir = data_dir
        self.bots: dict[str, Process] = {}
        self.failures: list[str] = []
        self.stopping = False
        self.stop = anyio.Event()
        self.served = anyio.Event()

    def fail(self, reason: str) -> None:
        if not self.stopping:
            log.error("%s: stopping the demo", reason)
            self.failures.append(reason)
        self.stop.set()

    async def run(self, listener: socket.socket) -> int:
        # SIGHUP (the terminal closed) stops the demo as SIGTERM does.
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._serve, listener)
                if self.site is not None:
                    site_server, site_listener, _ = self.site
                    tasks.start_soon(self._serve_site, site_server, site_listener)
                tasks.start_soon(self._watch_signals, signals)
                with anyio.move_on_after(STARTUP_SECONDS):
                    # uvicorn reports startup as a flag, not an event: poll it.
                    while not self.server.started and not self.stop.is_set():  # noqa: ASYNC110
                        await anyio.sleep(0.05)
                if not self.server.started:
                    self.fail("the suite did not start")
                else:
                    for hotel, token in self.logins.bot_tokens.items():
                        process = await anyio.open_process(
                            _bot_command(hotel),
                            env=self._bot_environment(token),
                            stdin=subprocess.DEVNULL,
                            stdout=None,
                            stderr=None,
                        )
                        self.bots[hotel] = process
                        tasks.start_soon(self._watch_bot, hotel, process)
                    print(self._banner(), flush=True)
                await self.stop.wait()
                self.stopping = True
                await self._stop_bots()
                self.server.should_exit = True
                if self.site is not None:
                    self.site[0].should_exit = True
                await self.served.wait()
                tasks.cancel_scope.cancel()
        return 1 if self.failures else 0

    async def _serve(self, listener: socket.socket) -> None:
        try:
            await self.server.serve(sockets=[listener])
        finally:
            self.served.set()
        self.fail("the suite stopped")

    async def _serve_site(self, server: uvicorn.Server, listener: socket.socket) -> None:
        await server.serve(sockets=[listener])
        self.fail("the demo hotel site stopped")

    async def _watch_signals(self, signals: AsyncIterator[signal.Signals]) -> None:
        first_at: float | None = None
        async for received in signals:
            now = anyio.current_time()
            if first_at is not None and now - first_at < REPEAT_IGNORED_SECONDS:
                continue
            if first_at is not None:
                log.warning("%s again: killing the bots", received.name)
                for process in self.bots.values():
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            else:
                first_at = now
                log.info("%s: stopping the bots, then the suite", received.name)
                self.stop.set()

    async def _watch_bot(self, hotel: str, process: Process) -> None:
        code = await process.wait()
        self.fail(f"the bot for {hotel} exited with code {code}")

    async def _stop_bots(self) -> None:
        for process in self.bots.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        with anyio.move_on_after(BOT_STOP_SECONDS):
            for process in self.bots.values():
                await process.wait()
        for hotel, process in self.bots.items():
            if process.returncode is None:
                log.warning(
                    "the bot for %s did not stop in %.0f s: killed", hotel, BOT_STOP_SECONDS
                )
                process.kill()
                await process.wait()

    def _bot_environment(self, token: str) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if k not in _BOT_VARIABLES}
        environment.update(
            BEGASIST_SUITE_URL=f"http://127.0.0.1:{self.settings.port}",
            BEGASIST_BOT_TOKEN=token,
            BEGASIST_REDIS_URL=self.settings.redis_url or "",
            BEGASIST_PREFIX=self.settings.prefix,
            BEGASIST_LOG_FORMAT=self.settings.log_format,
        )
        return environment

    def _banner(self) -> str:
        url = f"http://127.0.0.1:{self.settings.port}"
        modes = {hotel.slug: hotel.mode.value for hotel in DEMO_HOTELS}
        lines = [
            "",
            f"Begasist demo running at {url}  (open it and sign in below)",
            f"API docs: {url}/schema/swagger",
            *(
                [
                    f"Demo hotel website with the web chat: {self.site[2]}  "
                    f"(write there, answer in {SITE_HOTEL}'s inbox)"
                ]
                if self.site is not None
                else []
            ),
            f"Logins (demo only; passwords kept in {self.data_dir / STATE_FILE}):",
            *(
                f"  login: {login.email}  password: {login.password}  ({login.description})"
                for login in self.logins.users
            ),
            "Hotels: "
            + ", ".join(f"{slug} (demo channel, {mode})" for slug, mode in modes.items())
            + "; simulated guests write every few seconds.",
            "Bots: "
            + ", ".join(f"channelbot --hotel {h} (pid {p.pid})" for h, p in self.bots.items()),
            f"Try: curl -c /tmp/begasist.cookies -H 'content-type: application/json' "
            f'-d \'{{"email": "{self.logins.users[0].email}", "password": "..."}}\' '
            f"{url}/api/v1/auth/login",
            f"     curl -b /tmp/begasist.cookies {url}/api/v1/hotels/plaza/conversations",
            "Stop with Ctrl-C (bots drain, then the suite and the engine stop).",
            "",
        ]
        return "\n".join(lines)


def _bot_command(hotel: str) -> list[str]:
    # The interpreter running us, not whatever `channelbot` is first on PATH.
    return dies_with_us([sys.executable, "-m", "begasist_core.channelbot.cli", "--hotel", hotel])
