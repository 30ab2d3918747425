"""channelbot cold start (process spawn to "ready") and resident memory with two channels.

Spawns ``python -m begasist_core.channelbot.cli --hotel plaza`` with two idle
channels discovered by entry point (a throwaway dist-info), against
BEGASIST_REDIS_URL (default redis://127.0.0.1:6379/0), waits for its "ready"
log line, then reads its RSS with psutil after it settles.

    hatch run python bench/channelbot_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import redis


def environment(workdir: Path, url: str) -> dict[str, str]:
    site = workdir / "site"
    site.mkdir()
    shutil.copy(Path(__file__).with_name("_idle_channels.py"), site / "bench_idle_channels.py")
    dist_info = site / "bench_idle_channels-0.0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: bench-idle-channels\nVersion: 0.0.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[begasist.channels]\nidle = bench_idle_channels\n", encoding="utf-8"
    )
    settings = workdir / "hotels.toml"
    settings.write_text(
        "[hotels.plaza]\nversion = 1\n"
        "[hotels.plaza.channels.idle]\n[hotels.plaza.channels.other_idle]\n",
        encoding="utf-8",
    )
    return {
        **os.environ,
        "PYTHONPATH": str(site),
        "BEGASIST_REDIS_URL": url,
        "BEGASIST_PREFIX": f"bench-start-{uuid.uuid4().hex[:8]}",
        "BEGASIST_SETTINGS_FILE": str(settings),
        "BEGASIST_LOAD_PLUGINS": "idle",
    }


def delete_keys(url: str, prefix: str) -> None:
    """Leave the server as it was: the runs' streams, presence and lease keys go."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def one_run(env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "begasist_core.channelbot.cli", "--hotel", "plaza"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "ready: hotel plaza" in line:
                ready = time.perf_counter() - started
                break
        else:
            raise SystemExit(f"channelbot exited with {process.wait()} before it was ready")
        time.sleep(1.0)  # let it settle: heartbeats, consumers blocked in XREADGROUP
        rss = psutil.Process(process.pid).memory_info().rss / 2**20
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    return ready, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    url = os.environ.get("BEGASIST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with tempfile.TemporaryDirectory() as workdir:
        env = environment(Path(workdir), url)
        try:
            results = [one_run(env) for _ in range(args.runs)]
        finally:
            delete_keys(url, env["BEGASIST_PREFIX"])
    starts = [ready for ready, _ in results]
    rss = [memory for _, memory in results]
    print(f"channelbot cold start over {args.runs} runs (two channels) against {url}")
    print(
        f"  start to ready: median {statistics.median(starts):.3f} s, max {max(starts):.3f} s"
        f"  (target <= 1.0 s: {'met' if max(starts) <= 1.0 else 'NOT met'})"
    )
    print(
        f"  RSS: median {statistics.median(rss):.1f} MB, max {max(rss):.1f} MB"
        f"  (target <= 80 MB: {'met' if max(rss) <= 80 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
