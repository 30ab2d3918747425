"""End-to-end inbound: signed webhook -> suite ingress -> channelbot -> events -> store -> visible.

The real pieces, each its own process: the suite under uvicorn (same flags as
``bench/webhook_ingest.py``, consumer on, SQLite in a temp dir), one
``channelbot`` serving ``--hotels`` hotels with their bot tokens, the load
generator of ``bench/webhook_ingest.py`` posting signed demo webhooks (one
guest message each, hotels in turn, the send time in the text), and this
process as the watcher. The demo channel is enabled in every hotel with a
webhook secret, simulated guests off and mode ``manual``, so no responder runs
and no draft is made: the path measured is ingest, parse and store.

A message is "visible" when the suite's live-inbox notice for it
(``message.created``, published after the store has it, the notice the admin
page refetches through the API on) reaches the watcher; in the latency run the
watcher then reads the message back through ``Store.get_message`` and takes
the send time from its text.

    hatch run python bench/inbound_e2e.py [--hotels 50] [--rate 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import redis
from webhook_ingest import (
    delete_keys,
    run_loadgen,
    seed,
    suite_environment,
    uvicorn_server,
)


async def mint_bot_tokens(sqlite_path: Path, hotels: list[str]) -> dict[str, str]:
    from begasist_suite.auth.credentials import digest
    from begasist_suite.store.records import Credential, CredentialKind
    from begasist_suite.store.sqlite import SqliteDatabase
    from begasist_suite.store.store import Store

    store = Store(SqliteDatabase(sqlite_path))
    tokens = {hotel: secrets.token_urlsafe(24) for hotel in hotels}
    try:
        for hotel, token in tokens.items():
            await store.add_credential(
                Credential(digest=digest(token), kind=CredentialKind.BOT_TOKEN, hotel=hotel)
            )
    finally:
        await store.aclose()
    return tokens


class Watcher:
    """Collects ``message.created`` notices from the suite's live-inbox pub/sub channels."""

    def __init__(self, redis_url: str, prefix: str, hotels: set[str]) -> None:
        self._client = redis.Redis.from_url(redis_url)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(f"{prefix}:inbox:*")
        self._hotels = hotels
        self.seen: list[tuple[float, str, str]] = []  # (arrival, hotel, message id)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            notice = self._pubsub.get_message(timeout=0.2)
            if notice is None:
                continue
            arrived = time.time()
            data = json.loads(notice["data"])
            if data.get("kind") == "message.created" and data.get("hotel") in self._hotels:
                self.seen.append((arrived, data["hotel"], data["message_id"]))

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._pubsub.close()
        self._client.close()


async def send_times(sqlite_path: Path, seen: list[tuple[float, str, str]]) -> list[float]:
    """Latency of each seen message: its arrival minus the send time in its stored text."""
    from begasist_suite.store.sqlite import SqliteDatabase
    from begasist_suite.store.store import Store

    store = Store(SqliteDatabase(sqlite_path))
    latencies = []
    try:
        for arrived, hotel, message_id in seen:
            message = await store.get_message(hotel, message_id)
            if message is None:
                continue  # another suite's hotel of the same name on this Redis
            latencies.append(arrived - float(message.text.removeprefix("t=")))
    finally:
        await store.aclose()
    return latencies


def run_phase(
    watcher: Watcher, port: int, hotels: list[str], loadgen_args: list[str]
) -> tuple[dict[str, Any], list[tuple[float, str, str]], float]:
    """Post messages with the load generator; wait until every 200 is visible."""
    start = len(watcher.seen)
    began = time.time()
    hotel_args = [arg for hotel in hotels for arg in ("--hotel", hotel)]
    posted = run_loadgen("--port", str(port), "--kind", "message", *hotel_args, *loadgen_args)
    accepted = posted["statuses"].get("200", 0)
    watcher.wait_for(start + accepted, timeout=120)
    return posted, watcher.seen[start:], began


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--hotels", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    hotels = [f"h{n:02d}" for n in range(1, args.hotels + 1)]
    prefix = f"bench-e2e-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sqlite_path = workdir / "suite.sqlite3"
        anyio.run(lambda: seed(sqlite_path, hotels, mode="manual"))
        tokens = anyio.run(mint_bot_tokens, sqlite_path, hotels)
        suite_env = suite_environment(workdir, args.redis_url, prefix, consumer=True)
        watcher = Watcher(args.redis_url, prefix, set(hotels))
        bot = None
        try:
            with uvicorn_server("begasist_suite.app:create_app", suite_env, factory=True) as port:
                # Query options win over redis_from_url's defaults: 50 hotels' blocking
                # reads need more than redis-py 8's default pool of 100 connections.
                bot_env = {
                    **suite_env,
                    "BEGASIST_REDIS_URL": f"{args.redis_url}?max_connections=1000",
                    "BEGASIST_SUITE_URL": f"http://127.0.0.1:{port}",
                    "BEGASIST_BOT_TOKENS": json.dumps(tokens),
                }
                hotel_args = [arg for hotel in hotels for arg in ("--hotel", hotel)]
                bot = subprocess.Popen(
                    [sys.executable, "-m", "begasist_core.channelbot.cli", *hotel_args],
                    env=bot_env,
                )
                # Warm-up: every hotel's bot up and consuming before anything is measured.
                _, seen, _ = run_phase(
                    watcher, port, hotels, ["--rate", str(len(hotels)), "--seconds", "2"]
                )
                print(f"warm-up: {len(seen)} messages visible")

                posted, seen, began = run_phase(
                    watcher, port, hotels,
                    ["--connections", str(args.connections), "--seconds", str(args.seconds)],
                )  # fmt: skip
                accepted = posted["statuses"].get("200", 0)
                last = max((arrived for arrived, _, _ in seen), default=began + 1)
                print(
                    f"max: {accepted} messages posted in {args.seconds:.0f} s "
                    f"({posted['rps']:,.0f}/s accepted, statuses {posted['statuses']}); "
                    f"{len(seen)} visible, the last {last - began:.1f} s after the first post: "
                    f"{len(seen) / (last - began):,.0f} messages/s end to end"
                )

                posted, seen, _ = run_phase(
                    watcher,
                    port,
                    hotels,
                    ["--rate", str(args.rate), "--seconds", str(args.seconds)],
                )
                latencies = anyio.run(send_times, sqlite_path, seen)
                print(
                    f"at {args.rate:.0f} messages/s over {len(hotels)} hotels: "
                    f"{len(seen)}/{posted['requests']} visible, POST -> visible "
                    f"p50 {pct(latencies, 0.5):.1f} ms  p99 {pct(latencies, 0.99):.1f} ms  "
                    f"max {max(latencies) * 1000:.1f} ms  (POST answered p50 "
                    f"{posted['p50_ms']:.1f} ms p99 {posted['p99_ms']:.1f} ms)"
                )
        finally:
            if bot is not None:
                bot.terminate()
                bot.wait(timeout=60)
            watcher.close()
            delete_keys(args.redis_url, prefix)


if __name__ == "__main__":
    main()
