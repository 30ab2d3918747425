"""What ``BEGASIST_REDIS_WAIT_REPLICAS=1`` costs a webhook: ingest with and without ``WAIT``.

Starts a ``redis-server`` master and its replica (our own processes, on free
ports, no persistence), then two suites under uvicorn with the same flags as
``bench/webhook_ingest.py`` against that master: the baseline (no wait) and one
with ``BEGASIST_REDIS_WAIT_REPLICAS=1``. Each run measures both, interleaved, with
``webhook_ingest.py``'s load generator in its own process: the closed loop
(``--connections`` for ``--seconds``) and the open loop at ``--rate``.

    hatch run python bench/redis_wait.py [--runs 3] [--rate 300]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
import redis
from webhook_ingest import (
    _line,
    free_port,
    run_loadgen,
    seed,
    suite_environment,
    uvicorn_server,
)


@contextmanager
def redis_server(directory: Path, port: int, *, replica_of: int | None = None) -> Iterator[None]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed")
    command = [
        executable,
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        *("--dir", str(directory), "--dbfilename", f"dump-{port}.rdb"),
    ]
    if replica_of is not None:
        command += ["--replicaof", "127.0.0.1", str(replica_of)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield
    finally:
        process.kill()
        process.wait()


def wait_until_replicated(master_port: int) -> None:
    client = redis.Redis(port=master_port)
    deadline = time.monotonic() + 30
    while int(client.info("replication").get("connected_slaves", 0)) < 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the replica did not connect")
        time.sleep(0.05)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--wait-timeout-ms", type=int, default=1000)
    args = parser.parse_args()
    closed = ["--connections", str(args.connections), "--seconds", str(args.seconds)]
    opened = ["--rate", str(args.rate), "--seconds", str(args.seconds)]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        master, replica = free_port(), free_port()
        stack.enter_context(redis_server(workdir, master))
        stack.enter_context(redis_server(workdir, replica, replica_of=master))
        wait_until_replicated(master)
        url = f"redis://127.0.0.1:{master}/0"
        anyio.run(seed, workdir / "suite.sqlite3", ["bench"])
        prefix = f"bench-wait-{uuid.uuid4().hex[:8]}"
        baseline_env = suite_environment(workdir, url, prefix, consumer=False)
        wait_env = {
            **baseline_env,
            "BEGASIST_REDIS_WAIT_REPLICAS": "1",
            "BEGASIST_REDIS_WAIT_TIMEOUT_MS": str(args.wait_timeout_ms),
        }
        target = "begasist_suite.app:create_app"
        baseline = stack.enter_context(uvicorn_server(target, baseline_env, factory=True))
        waiting = stack.enter_context(uvicorn_server(target, wait_env, factory=True))
        print(f"master 127.0.0.1:{master}, replica 127.0.0.1:{replica} (redis-server, no disk)")
        for run in range(1, args.runs + 1):
            for name, port in (("no wait", baseline), ("WAIT 1 ", waiting)):
                result = run_loadgen("--port", str(port), "--kind", "webhook", *closed)
                print(f"run {run} {name} closed loop {args.connections} conns: {_line(result)}")
            for name, port in (("no wait", baseline), ("WAIT 1 ", waiting)):
                result = run_loadgen("--port", str(port), "--kind", "webhook", *opened)
                print(f"run {run} {name} open loop {args.rate:.0f} req/s:  {_line(result)}")


if __name__ == "__main__":
    main()
