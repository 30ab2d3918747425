"""A fleet of idle hotels: one bot process serving 1,000 of them, then 4 sharded bots with one
killed (kill -9) until its hotels are served again by the standby shards.

Real ``channelbot`` processes against the Redis given (default
redis://127.0.0.1:6379/0, a private key prefix), the example ``demo``
channel idle (no simulated guests) in every hotel, settings and the hotel
list from a stand-in for the suite's bot endpoints (bench/_fleet_suite.py)
read with one fleet token. Measured:

* baseline, in the same run: one bot for one hotel (``--hotel``, the
  container-per-hotel model): start-up, RSS, CPU at idle;
* ``--shard 0/1`` over all the hotels: start-up until every hotel is served
  (lease held and presence written), RSS, CPU at idle over ``--idle``
  seconds, Redis's CPU and commands meanwhile, Redis memory per hotel (the
  hotels' keys by MEMORY USAGE, and INFO memory's used_memory before/after);
* ``--shard K/4`` x 4: start-up, RSS and idle CPU of each; then ``--kills``
  times a shard killed with SIGKILL and the time until each of its hotels is
  served again (by its second-choice shard), and, once the shard is back,
  until they are handed back.

    hatch run python bench/fleet_1000.py [--hotels 1000] [--idle 60] [--kills 3] [--ttl 10]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis
from _fleet_suite import hotel_names

POLL_SECONDS = 0.05


@dataclass
class Run:
    """Processes of one measurement, their logs, and the keys they write."""

    env: dict[str, str]
    logs: Path
    prefix: str
    client: redis.Redis
    processes: dict[str, subprocess.Popen[bytes]]

    def start(self, instance: str, *options: str) -> float:
        log = (self.logs / f"{instance}.log").open("ab")
        command = [sys.executable, "-m", "begasist_core.channelbot.cli", "--instance", instance]
        self.processes[instance] = subprocess.Popen(
            [*command, *options], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return time.monotonic()

    def holders(self, hotels: Sequence[str]) -> list[str | None]:
        """Each hotel's serving instance: lease holder whose presence is written, else None."""
        keys = [f"{self.prefix}:hotel:{h}:{what}" for h in hotels for what in ("lease", "presence")]
        values = self.client.mget(keys)
        served: list[str | None] = []
        for lease, presence in zip(values[::2], values[1::2], strict=True):
            holder = None if lease is None else lease.decode().split(":", 1)[1]
            wrote = presence is not None and json.loads(presence)["instance"] == holder
            served.append(holder if wrote else None)
        return served

    def wait(self, check: Callable[[], bool], within: float, what: str) -> float:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise SystemExit(f"fleet bench: {what} did not happen within {within:g} s")
            time.sleep(POLL_SECONDS)
        return time.monotonic()

    def stop(self, instance: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(instance)
        process.send_signal(sig)
        process.wait(timeout=60)

    def stop_all(self) -> None:
        for instance in list(self.processes):
            self.stop(instance)

    def delete_keys(self) -> None:
        keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            self.client.delete(*keys[start : start + 1000])


def cpu_seconds(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def redis_counters(client: redis.Redis) -> tuple[float, int]:
    """Redis's own CPU seconds and commands processed so far."""
    cpu = client.info("cpu")
    stats = client.info("stats")
    return cpu["used_cpu_sys"] + cpu["used_cpu_user"], stats["total_commands_processed"]


def idle_figures(run: Run, seconds: float) -> tuple[float, float, float]:
    """CPU % of one core of the run's bots, Redis's CPU % and commands/s over *seconds*."""
    pids = [process.pid for process in run.processes.values()]
    bots_before, (redis_before, commands_before) = cpu_seconds(pids), redis_counters(run.client)
    time.sleep(seconds)
    bots_after, (redis_after, commands_after) = cpu_seconds(pids), redis_counters(run.client)
    return (
        100 * (bots_after - bots_before) / seconds,
        100 * (redis_after - redis_before) / seconds,
        (commands_after - commands_before) / seconds,
    )


def rss_mb(run: Run) -> list[float]:
    return [psutil.Process(p.pid).memory_info().rss / 2**20 for p in run.processes.values()]


def key_memory(run: Run) -> tuple[int, int, dict[str, int]]:
    """Keys under the run's prefix, their MEMORY USAGE in bytes, and bytes by key kind."""
    keys = list(run.client.scan_iter(match=f"{run.prefix}:*", count=1000))
    pipe = run.client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    sizes = pipe.execute()
    by_kind: dict[str, int] = {}
    for key, size in zip(keys, sizes, strict=True):
        parts = key.decode().split(":")
        kind = ":".join(parts[3:]) if parts[1] == "hotel" else ":".join(parts[1:2])
        by_kind[kind] = by_kind.get(kind, 0) + int(size or 0)
    return len(keys), sum(int(size or 0) for size in sizes), by_kind


def baseline(run: Run, hotel: str, idle: float) -> None:
    started = run.start("single", "--hotel", hotel)
    ready = run.wait(lambda: run.holders([hotel]) == ["single"], 60, "the single hotel served")
    time.sleep(3)
    cpu, _, _ = idle_figures(run, idle)
    (rss,) = rss_mb(run)
    print(
        f"  baseline, one bot for one hotel (--hotel): start-up {ready - started:.2f} s, "
        f"RSS {rss:.1f} MB, CPU at idle {cpu:.2f} % of a core"
    )
    run.stop_all()
    run.delete_keys()


def served_within(run: Run, hotels: list[str], instance: str, within: float) -> tuple[int, float]:
    """Wait up to *within* s for every hotel served by *instance*; (how many, when)."""
    deadline = time.monotonic() + within
    while True:
        served = sum(holder == instance for holder in run.holders(hotels))
        now = time.monotonic()
        if served == len(hotels) or now > deadline:
            return served, now
        time.sleep(POLL_SECONDS)


def lease_losses(run: Run, instance: str) -> int:
    log = (run.logs / f"{instance}.log").read_text(encoding="utf-8", errors="replace")
    return log.count("returning to standby")


def one_process(run: Run, hotels: list[str], idle: float, within: float) -> None:
    memory_before = run.client.info("memory")
    clients_before = run.client.info("clients")["connected_clients"]
    instance = f"all-{len(hotels)}"
    started = run.start(instance, "--shard", "0/1")
    first = run.wait(lambda: any(run.holders(hotels)), 120, "a first hotel served")
    served, ready = served_within(run, hotels, instance, within)
    n = len(hotels)
    print(f"  one bot, --shard 0/1, {n} hotels:")
    if served == n:
        print(
            f"    start-up: first hotel served {first - started:.2f} s, "
            f"all {n} served {ready - started:.2f} s; leases lost meanwhile: "
            f"{lease_losses(run, instance)}"
        )
    else:
        print(
            f"    start-up: first hotel served {first - started:.2f} s; NOT all served: "
            f"{served} of {n} after {ready - started:.0f} s, "
            f"{lease_losses(run, instance)} leases lost (the event loop fell behind its renewals)"
        )
    time.sleep(5)  # settle: every consumer blocked in XREADGROUP, heartbeats going
    losses_before = lease_losses(run, instance)
    cpu, redis_cpu, commands = idle_figures(run, idle)
    losses = lease_losses(run, instance) - losses_before
    (rss,) = rss_mb(run)
    memory_after = run.client.info("memory")
    clients = run.client.info("clients")["connected_clients"] - clients_before
    count, key_bytes, by_kind = key_memory(run)
    used = memory_after["used_memory"] - memory_before["used_memory"]
    client_bytes = memory_after["mem_clients_normal"] - memory_before["mem_clients_normal"]
    print(f"    RSS {rss:.1f} MB ({rss / n * 1024:.0f} KB per hotel)")
    print(
        f"    CPU over {idle:g} s after start-up: bot {cpu:.1f} % of a core, "
        f"Redis {redis_cpu:.1f} %, {commands:.0f} commands/s ({commands / n:.2f} per hotel); "
        f"leases lost meanwhile: {losses}"
    )
    print(f"    Redis connections opened: {clients} ({clients / n:.2f} per hotel)")
    print(
        f"    Redis keys: {count} ({count / n:.1f} per hotel), MEMORY USAGE "
        f"{key_bytes / 2**20:.2f} MB ({key_bytes / n / 1024:.2f} KB per hotel)"
    )
    print(
        "      by kind, per hotel: "
        + ", ".join(f"{kind} {size / n:.0f} B" for kind, size in sorted(by_kind.items()))
    )
    print(
        f"    INFO used_memory +{used / 2**20:.1f} MB ({used / n / 1024:.1f} KB per hotel), of "
        f"which client buffers +{client_bytes / 2**20:.1f} MB (other users of this Redis "
        "add noise)"
    )
    stop_started = time.monotonic()
    run.stop_all()
    print(f"    SIGTERM to exit (every hotel drained): {time.monotonic() - stop_started:.2f} s")
    run.delete_keys()


def served_again(
    run: Run, hotels: list[str], expected: list[str], since: float, *, within: float
) -> list[float]:
    """Seconds from *since* until each hotel was served by its *expected* instance, sorted."""
    served_at: dict[str, float] = {}
    deadline = since + within
    while len(served_at) < len(hotels):
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(f"fleet bench: hotels not served again within {within:g} s")
        for hotel, holder, wanted in zip(hotels, run.holders(hotels), expected, strict=True):
            if holder == wanted and hotel not in served_at:
                served_at[hotel] = now - since
        time.sleep(POLL_SECONDS)
    return sorted(served_at.values())


def sharded(run: Run, hotels: list[str], shards: int, idle: float, kills: int) -> None:
    from begasist_core.channelbot.shards import shard_ranking

    ranking = {hotel: shard_ranking(hotel, shards) for hotel in hotels}
    first_choice = [f"shard-{ranking[h][0]}" for h in hotels]
    started = time.monotonic()
    for index in range(shards):
        run.start(f"shard-{index}", "--shard", f"{index}/{shards}")
    ready = run.wait(lambda: run.holders(hotels) == first_choice, 600, "every hotel served")
    counts = [first_choice.count(f"shard-{index}") for index in range(shards)]
    print(f"  {shards} bots, --shard K/{shards}, {len(hotels)} hotels (per shard: {counts}):")
    print(f"    start-up until all served by their first choice: {ready - started:.2f} s")
    ttl = float(run.env["BEGASIST_LEASE_TTL_SECONDS"])
    time.sleep(ttl + 3)  # past the start-up grace
    cpu, redis_cpu, commands = idle_figures(run, idle)
    rss = rss_mb(run)
    print(
        f"    RSS per bot {min(rss):.1f} to {max(rss):.1f} MB; CPU at idle over {idle:g} s: "
        f"{cpu / shards:.1f} % of a core per bot; Redis {redis_cpu:.1f} %, {commands:.0f} cmd/s"
    )
    takeovers: list[float] = []
    lasts: list[float] = []
    handbacks: list[float] = []
    for kill in range(kills):
        victim = f"shard-{kill % shards}"
        theirs = [h for h, owner in zip(hotels, first_choice, strict=True) if owner == victim]
        seconds = [f"shard-{ranking[h][1]}" for h in theirs]
        run.stop(victim, signal.SIGKILL)
        killed = time.monotonic()
        times = served_again(run, theirs, seconds, killed, within=4 * ttl + 60)
        takeovers.extend(times)
        lasts.append(times[-1])
        print(
            f"    kill -9 {victim} ({len(theirs)} hotels): served again by their second choice "
            f"after {times[0]:.2f} s (first), {statistics.median(times):.2f} s (median), "
            f"{times[-1]:.2f} s (last)"
        )
        back = run.start(victim, "--shard", f"{victim.split('-')[1]}/{shards}")
        done = run.wait(
            lambda: run.holders(hotels) == first_choice, 4 * ttl + 120, "the hotels handed back"
        )
        handbacks.append(done - back)
        print(f"      {victim} restarted: all its hotels handed back after {done - back:.2f} s")
    if takeovers:
        print(
            f"    over {kills} kills (lease TTL {ttl:g} s): "
            f"median {statistics.median(takeovers):.2f} s, last hotel {max(lasts):.2f} s "
            f"at worst; hand-back {max(handbacks):.2f} s at worst"
        )
    run.stop_all()
    run.delete_keys()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("BEGASIST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--hotels", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=4, help="0: no sharded run")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle measured")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument(
        "--single-sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[250, 1000],
        help="hotels in the one-process runs (default 250,1000)",
    )
    parser.add_argument(
        "--start-within", type=float, default=240.0, help="seconds allowed for a start-up"
    )
    parser.add_argument("--ttl", type=float, default=10.0, help="BEGASIST_LEASE_TTL_SECONDS")
    args = parser.parse_args()
    token = "bgf_" + secrets.token_urlsafe(16)
    hotels = hotel_names(args.hotels)
    with tempfile.TemporaryDirectory() as workdir:
        prefix = f"bench-fleet-{uuid.uuid4().hex[:8]}"
        # Three blocking consumers per hotel: the pool must exceed 3 x hotels.
        pool = f"max_connections={4 * args.hotels + 100}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BEGASIST_")},
            "BEGASIST_REDIS_URL": args.redis_url + ("&" if "?" in args.redis_url else "?") + pool,
            "BEGASIST_PREFIX": prefix,
            "BEGASIST_FLEET_TOKEN": token,
            "BEGASIST_BOT_TOKEN": token,
            "BEGASIST_LOAD_PLUGINS": "demo",
            "BEGASIST_LEASE_TTL_SECONDS": f"{args.ttl:g}",
        }
        run = Run(env, Path(workdir), prefix, redis.Redis.from_url(args.redis_url), {})
        print(
            f"fleet of idle hotels against {args.redis_url} (demo channel idle, stand-in "
            f"suite), {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
            f"load average {os.getloadavg()[0]:.1f} at the start"
        )
        try:
            with stand_in_suite(run, args.hotels, token):
                baseline(run, hotels[0], args.idle)
            for size in args.single_sizes:
                with stand_in_suite(run, size, token):
                    one_process(run, hotels[:size], args.idle, args.start_within)
            if args.shards:
                with stand_in_suite(run, args.hotels, token):
                    sharded(run, hotels, args.shards, args.idle, args.kills)
        finally:
            for process in run.processes.values():
                process.kill()
            run.delete_keys()
        print(f"  load average {os.getloadavg()[0]:.1f} at the end (2 cores, shared)")


@contextmanager
def stand_in_suite(run: Run, hotels: int, token: str) -> Iterator[None]:
    """The stand-in suite with *hotels* hotels, its URL in the run's environment."""
    port_file = run.logs / f"port-{hotels}"
    port_file.unlink(missing_ok=True)
    script = str(Path(__file__).with_name("_fleet_suite.py"))
    options = ["--hotels", str(hotels), "--token", token, "--port-file", str(port_file)]
    suite = subprocess.Popen([sys.executable, script, *options])
    try:
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        run.env["BEGASIST_SUITE_URL"] = f"http://127.0.0.1:{port_file.read_text()}"
        yield
    finally:
        suite.kill()
        suite.wait()


if __name__ == "__main__":
    main()
