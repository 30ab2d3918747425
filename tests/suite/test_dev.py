"""``begasist dev`` killed however it is killed: its bots and its embedded Valkey go too."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from tests.suite.test_cli import BEGASIST, clean_environment, free_port, read_banner

CHILDREN_GONE_SECONDS = 60
"""How long the test waits for orphans to go (a bot drains for up to 10 s); not asserted."""


def listener_on(port: int) -> psutil.Process:
    """The process listening on 127.0.0.1:*port*."""
    for connection in psutil.net_connections(kind="tcp"):
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid is not None
        ):
            return psutil.Process(connection.pid)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("stop", "whole_group"),
    [(signal.SIGKILL, False), (signal.SIGHUP, False), (signal.SIGHUP, True)],
    ids=["SIGKILL", "SIGHUP", "SIGHUP-to-the-group"],
)
def test_the_bots_and_the_engine_die_with_dev(
    tmp_path: Path, stop: signal.Signals, whole_group: bool
) -> None:
    """SIGHUP to the whole group is a closed terminal: dev still stops its bots in order."""
    # No BEGASIST_REDIS_URL: dev starts its embedded Valkey.
    with (
        (tmp_path / "dev.log").open("w") as log,
        subprocess.Popen(
            [str(BEGASIST), "dev", "--port", str(free_port()), "--data-dir", str(tmp_path / "d")],
            cwd=tmp_path,
            env=clean_environment(),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,  # a process group of its own, as a shell's job has
        ) as process,
    ):
        watched: list[psutil.Process] = []
        try:
            read_banner(process)
            bots = [
                child
                for child in psutil.Process(process.pid).children(recursive=True)
                if "begasist_core.channelbot.cli" in child.cmdline()
            ]
            assert len(bots) == 2
            redis_port = urlsplit(bots[0].environ()["BEGASIST_REDIS_URL"]).port
            assert redis_port is not None
            engine = listener_on(redis_port)
            assert "valkey" in engine.name()
            watched = [*bots, engine]
            if whole_group:
                os.killpg(process.pid, stop)
            else:
                process.send_signal(stop)
            code = process.wait(timeout=CHILDREN_GONE_SECONDS)
            assert code == (-signal.SIGKILL if stop == signal.SIGKILL else 0), (
                tmp_path / "dev.log"
            ).read_text()
            _, survivors = psutil.wait_procs(watched, timeout=CHILDREN_GONE_SECONDS)
            assert not survivors, f"orphans: {survivors}"
        finally:
            for child in watched:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_suite_and_the_bots_of_dev_log_in_one_format(tmp_path: Path) -> None:
    """``BEGASIST_LOG_FORMAT=json`` given to dev: the suite's lines and its bots' are JSON."""
    log_path = tmp_path / "dev.log"
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            [str(BEGASIST), "dev", "--port", str(free_port()), "--data-dir", str(tmp_path / "d")],
            cwd=tmp_path,
            env=clean_environment(BEGASIST_LOG_FORMAT="json"),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        ) as process,
    ):
        try:
            read_banner(process)
            deadline = time.monotonic() + 60
            while log_path.read_text().count('"ready: hotel ') < 2:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)  # the bots report readiness only in their log
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=CHILDREN_GONE_SECONDS)
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    ready = {record["hotel"] for record in records if record["message"].startswith("ready: ")}
    assert len(ready) == 2
    assert any(record["logger"].startswith("begasist.dev") for record in records)
