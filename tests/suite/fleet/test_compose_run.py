"""The set-up ``init`` + ``fleet compose`` writes, run outside Docker: each service's command.

There is no Docker engine here, so the compose file is read as Docker would and each
Begasist service's image entry point + command is run as a process with the service's
environment (``${...}`` filled from the ``.env`` the commands wrote). What only Docker
provides is mapped, and only that: the service names ``redis`` and ``suite`` become
the test's Redis and the suite's loopback port, the volumes ``/data`` and ``/media``
become directories here, and each bot's health port a free one (in Docker each
container has its own). Then each service's own healthcheck command must pass, as
Docker's ``service_healthy`` requires before it starts the next. Redis is the test's
real server; the proxy (Caddy) is checked by tests/images/test_caddyfile.py.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import redis
import yaml
from begasist_suite.fleet.env_file import EnvFile

from tests.suite.fleet.conftest import Begasist, create_hotels
from tests.suite.test_cli import clean_environment

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::(?P<op>[?-])(?P<word>[^}]*))?\}")


def entry_point(dockerfile: str) -> list[str]:
    """The image's ENTRYPOINT (exec form), from its Dockerfile."""
    text = (REPO / "images" / dockerfile).read_text(encoding="utf-8")
    found = re.findall(r"^ENTRYPOINT (\[.*\])$", text, re.MULTILINE)
    assert found, dockerfile
    return list(yaml.safe_load(found[-1]))


def image_environment(dockerfile: str) -> dict[str, str]:
    """The BEGASIST_* values the image's last stage sets with ENV."""
    text = (REPO / "images" / dockerfile).read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", text, re.MULTILINE):
        for pair in line.split():
            name, _, value = pair.partition("=")
            if name.startswith("BEGASIST_"):
                found[name] = value
    return found


def interpolate(value: str, env: EnvFile) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``, from .env."""

    def one(match: re.Match[str]) -> str:
        found = env.get(match["name"])
        if found:
            return found
        if match["op"] == "?":
            pytest.fail(f"compose would refuse to start: {match['word']}")
        return match["word"] or ""

    return VARIABLE.sub(one, value)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Outside:
    """How one host stands in for the compose network and volumes."""

    def __init__(self, root: Path, redis_url: str, suite_port: int) -> None:
        self.root = root
        self.redis_url = redis_url
        self.suite_port = suite_port

    def value(self, text: str) -> str:
        text = text.replace("redis://redis:6379/0", self.redis_url)
        text = text.replace("http://suite:8000", f"http://127.0.0.1:{self.suite_port}")
        text = text.replace("http://127.0.0.1:8000/", f"http://127.0.0.1:{self.suite_port}/")
        if text.startswith("/data"):
            return str(self.root / "data") + text[len("/data") :]
        if text.startswith("/media"):
            return str(self.root / "media") + text[len("/media") :]
        return text

    def environment(self, service: dict[str, Any], dockerfile: str, env: EnvFile) -> dict[str, str]:
        values = {**image_environment(dockerfile)}
        for name, raw in (service.get("environment") or {}).items():
            values[name] = interpolate(str(raw), env)
        mapped = {name: self.value(value) for name, value in values.items()}
        if "BEGASIST_BOT_HEALTH_PORT" in mapped:
            mapped["BEGASIST_BOT_HEALTH_PORT"] = str(free_port())
        if dockerfile == "suite.Dockerfile":
            mapped["BEGASIST_HOST"] = "127.0.0.1"
            mapped["BEGASIST_PORT"] = str(self.suite_port)
        return clean_environment(**mapped)


def command_of(service: dict[str, Any], dockerfile: str, outside: Outside) -> list[str]:
    executable, *rest = entry_point(dockerfile)
    arguments = [*rest, *service.get("command", [])]
    return [str(BIN / executable), *[outside.value(a) for a in arguments]]


def healthcheck(service: dict[str, Any], outside: Outside) -> list[str]:
    test = list(service["healthcheck"]["test"])
    assert test[0] == "CMD", test
    executable, *arguments = test[1:]
    program = sys.executable if executable == "python" else str(BIN / executable)
    return [program, *[outside.value(a) for a in arguments]]


def wait_healthy(name: str, check: list[str], env: dict[str, str], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = subprocess.run(check, env=env, capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return
        time.sleep(1)
    pytest.fail(
        f"{name} never became healthy ({check}): {done.stdout}{done.stderr}\n"
        f"its log:\n{log.read_text(errors='replace')[-4000:]}"
    )


@contextmanager
def service_process(command: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        # Docker stops a container with SIGTERM; uvicorn shuts down gracefully, then
        # raises the signal it caught again, so the suite ends "killed" by it (-15).
        assert code in (0, -signal.SIGTERM), (
            f"{command} exited {code}:\n" + log.read_text(errors="replace")[-4000:]
        )
        if code:
            assert "Application shutdown complete" in log.read_text(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def prefix(begasist_redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, its keys deleted afterwards."""
    name = f"begasist-test-{uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(begasist_redis_url)
    try:
        keys = list(client.scan_iter(match=f"{name}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_init_fleet_compose_and_each_service_up_is_the_whole_set_up(
    initialised: Begasist, tmp_path: Path, begasist_redis_url: str, prefix: str
) -> None:
    create_hotels(tmp_path, "plaza", "sol")
    initialised("fleet", "compose", "--out", "compose.yaml")
    compose = yaml.safe_load((tmp_path / "compose.yaml").read_text(encoding="utf-8"))
    env = EnvFile.read(tmp_path / ".env")
    services: dict[str, dict[str, Any]] = compose["services"]
    (tmp_path / "media").mkdir(exist_ok=True)
    outside = Outside(tmp_path, begasist_redis_url, free_port())

    suite = services["suite"]
    assert suite["image"].startswith("begasist/suite:")
    bots = {n: s for n, s in services.items() if s["image"].startswith("begasist/channelbot:")}
    assert set(bots) == {"bot-plaza", "bot-sol"}
    with ExitStack() as running:
        suite_env = outside.environment(suite, "suite.Dockerfile", env)
        suite_env["BEGASIST_PREFIX"] = prefix
        suite_log = tmp_path / "suite.log"
        running.enter_context(
            service_process(command_of(suite, "suite.Dockerfile", outside), suite_env, suite_log)
        )
        wait_healthy("suite", healthcheck(suite, outside), suite_env, suite_log)
        for name, bot in sorted(bots.items()):
            assert "suite" in bot["depends_on"]
            assert bot["depends_on"]["suite"]["condition"] == "service_healthy"
            bot_env = outside.environment(bot, "channelbot.Dockerfile", env)
            bot_env["BEGASIST_PREFIX"] = prefix
            log = tmp_path / f"{name}.log"
            running.enter_context(
                service_process(command_of(bot, "channelbot.Dockerfile", outside), bot_env, log)
            )
            wait_healthy(name, healthcheck(bot, outside), bot_env, log)
