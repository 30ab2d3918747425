"""Channex catch-up after downtime: guests' messages whose webhooks never came, until stored.

The real pieces: the suite under uvicorn (consumer on, SQLite in a temp dir,
the flags of ``bench/webhook_ingest.py``), one ``channelbot`` for the hotel
``plaza`` with its Channex channel (mode ``manual``: no responder runs), Redis
at ``--redis-url``, and the package's Channex stand-in (a real local HTTP
server speaking Channex's wire format, not Channex) in this process. The bot
runs once so the channel's catch-up has a cursor, then is stopped (SIGTERM):
the downtime. Meanwhile ``--bookings`` guests write ``--per-booking``
messages each (10,000 by default) and no webhook reaches the suite. The bot
is started again, and the clock runs from its start until the suite has
stored every message (the rows of its SQLite store, counted every 0.1 s
through a read-only connection: the live-inbox notices ``bench/inbound_e2e.py``
watches are not all delivered to a subscriber in a burst of 10,000). The
catch-up interval is longer than the run, so one pass does it all.

With ``--before REVISION`` the same downtime and catch-up is run first with the
channel package as of that git revision (its source extracted and put first on
the bot's ``PYTHONPATH``), then with this tree's: before and after in one run,
on the same suite, stand-in and Redis (the later one on the fuller store).

The baseline, in the same run and on the same suite: the same number of
``message.received`` events, built by the channel's own ``received`` (same
booking context), published straight onto the events stream (1,000 per
script call): what the suite's consumer and store take, without reading
Channex.

    hatch run python bench/channex_catchup.py [--bookings 1000] [--per-booking 10]
        [--before REVISION]
"""

from __future__ import annotations

import argparse
import collections
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import anyio
from begasist_channels_channex import ChannexSettings
from begasist_channels_channex.api import ChannexBooking
from begasist_channels_channex.inbound import received
from begasist_channels_channex.testing import ChannexStandin, StandinBooking
from begasist_channels_channex.webhook import ChannexMessagePayload
from begasist_core import Publisher, StreamNames, make_event
from inbound_e2e import mint_bot_tokens
from webhook_ingest import SECRET_KEY, delete_keys, suite_environment, uvicorn_server

HOTEL = "plaza"
API_KEY = "bench-channex-api-key"
PROPERTY_ID = "716305c4-561a-4561-a187-7f5b8aeb5920"
OTAS = ("Booking.com", "Airbnb", "Expedia")
PACKAGE_SRC = "packages/begasist-channels-channex/src"


async def seed(sqlite_path: Path, api_url: str) -> None:
    """The hotel with its Channex channel on the stand-in; a catch-up slower than the run."""
    from begasist_suite.channel_settings import apply_settings_update
    from begasist_suite.secret_box import SecretBox
    from begasist_suite.store.records import Hotel
    from begasist_suite.store.sqlite import SqliteDatabase
    from begasist_suite.store.store import Store

    store = Store(SqliteDatabase(sqlite_path))
    await store.migrate()
    body = {
        "mode": "manual",
        "api_key": API_KEY,
        "property_id": PROPERTY_ID,
        "api_base_url": api_url,
        "webhook_secret": "bench-channex-webhook-secret",
        "catch_up_interval_seconds": 3600,
    }
    try:
        await store.create_hotel(Hotel(slug=HOTEL, name="Plaza"))
        box = SecretBox(SECRET_KEY)
        config = apply_settings_update(ChannexSettings, HOTEL, "channex", body, None, box)
        await store.put_channel_config(config)
    finally:
        await store.aclose()


def bookings(count: int) -> list[StandinBooking]:
    return [
        StandinBooking(
            id=f"bench-booking-{n:06d}",
            property_id=PROPERTY_ID,
            ota_name=OTAS[n % len(OTAS)],
            ota_reservation_code=f"R{n:09d}",
            arrival_date=date(2027, 1, 1 + n % 28),
            departure_date=date(2027, 2, 1 + n % 28),
        )
        for n in range(count)
    ]


def start_bot(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "begasist_core.channelbot.cli", "--hotel", HOTEL]
    with log.open("ab") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=output)


def stop_bot(bot: subprocess.Popen[bytes]) -> None:
    bot.terminate()
    bot.wait(timeout=60)


def stored_by(sqlite_path: Path, count: int, what: str, log: Path, timeout: float) -> float:
    """The time the suite's store first held *count* messages (polled every 0.1 s)."""
    deadline = time.monotonic() + timeout
    with sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True) as store:
        while time.monotonic() < deadline:
            (stored,) = store.execute("SELECT count(*) FROM messages").fetchone()
            if stored >= count:
                return time.time()
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise SystemExit(f"{what}: {stored}/{count} stored; bot log:\n{tail}")


async def publish_baseline(
    redis_url: str, names: StreamNames, standin_bookings: list[StandinBooking], total: int
) -> float:
    """The baseline's events, built first, then published; the time publishing began."""
    from redis.asyncio import Redis

    events = []
    for n in range(total):
        booking = standin_bookings[n % len(standin_bookings)]
        channex_booking = ChannexBooking.model_validate(
            {
                "id": booking.id,
                "property_id": booking.property_id,
                "ota_name": booking.ota_name,
                "ota_reservation_code": booking.ota_reservation_code,
                "arrival_date": booking.arrival_date,
                "departure_date": booking.departure_date,
                "customer": {"name": booking.customer_name, "surname": booking.customer_surname},
            }
        )
        item = ChannexMessagePayload(
            id=f"baseline-{n:06d}", booking_id=booking.id, message=f"baseline message {n}"
        )
        at = datetime.now(UTC)
        events.append(
            make_event(
                HOTEL, received(item, channex_booking, hotel=HOTEL, channel="channex", at=at)
            )
        )
    redis = Redis.from_url(redis_url)
    try:
        publisher = Publisher(redis)
        began = time.time()
        for start in range(0, len(events), 1000):
            await publisher.publish_many(names.events, events[start : start + 1000])
    finally:
        await redis.aclose()
    return began


def first_listing(
    channex: ChannexStandin, before: collections.Counter[str], began: float, timeout: float
) -> float:
    """Seconds from *began* until the restarted bot's catch-up first lists the threads."""
    listed_before = before["/api/v1/message_threads"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = sum(1 for _, path in channex.requests if path == "/api/v1/message_threads")
        if listed > listed_before:
            return time.time() - began
        time.sleep(0.01)
    raise SystemExit("the restarted bot never listed the threads")


def channel_source(revision: str, workdir: Path) -> Path:
    """The channel package's ``src`` at git *revision*, extracted under *workdir*."""
    root = Path(__file__).resolve().parent.parent
    target = workdir / f"src-{revision}"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", revision, f"{PACKAGE_SRC}/begasist_channels_channex"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / PACKAGE_SRC


def imported_from(env: dict[str, str]) -> str:
    """Where the bot's interpreter, with *env*, imports the channel package from."""
    command = [sys.executable, "-c", "import begasist_channels_channex as m; print(m.__file__)"]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def catch_up(run: CatchUpRun, label: str, bot_env: dict[str, str], stored: int) -> int:
    """A downtime's messages written, the bot restarted, timed until stored; the rows after."""
    channex, args, log = run.channex, run.args, run.log
    total = args.bookings * args.per_booking
    # Downtime: the guests write, no webhook reaches the suite.
    for n in range(args.per_booking):
        for booking in run.bookings:
            channex.guest_writes(booking.id, f"{label}: message {n} of {booking.id}")
    before = collections.Counter(path for _, path in channex.requests)
    requests_before = len(channex.peers)
    load = os.getloadavg()[0]
    began = time.time()
    bot = start_bot(bot_env, log)
    try:
        first_read = first_listing(channex, before, began, args.timeout)
        last = stored_by(run.sqlite_path, stored + total, f"catch-up ({label})", log, args.timeout)
    finally:
        stop_bot(bot)
    seconds = last - began
    after = collections.Counter(path for _, path in channex.requests)
    reads = after - before
    ports = len(set(channex.peers[requests_before:]))
    threads = reads["/api/v1/message_threads"]
    booking_reads = sum(v for k, v in reads.items() if k.count("/") == 4)
    thread_reads = sum(v for k, v in reads.items() if k.endswith("/messages"))
    print(
        f"catch-up ({label}, load {load:.1f}):  {total:,} stored {seconds:.1f} s after the "
        f"bot's start: {total / seconds:,.0f} messages/s; its first listing of threads came "
        f"{first_read:.1f} s after the start, {total / (seconds - first_read):,.0f} "
        "messages/s from there "
        f"(Channex reads: {threads} thread pages, {thread_reads} thread message "
        f"pages, {booking_reads} bookings, from {ports} client ports: the connections, "
        "or fewer when ports were reused)"
    )
    return stored + total


@dataclass(frozen=True)
class CatchUpRun:
    args: argparse.Namespace
    channex: ChannexStandin
    bookings: list[StandinBooking]
    sqlite_path: Path
    log: Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--per-booking", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--before",
        metavar="REVISION",
        help="also catch up with the channel package as of this git revision, first",
    )
    args = parser.parse_args()
    total = args.bookings * args.per_booking
    prefix = f"bench-channex-{uuid.uuid4().hex[:8]}"
    print(
        f"{total:,} messages: {args.bookings:,} bookings x {args.per_booking}; "
        f"{os.cpu_count()} cores on the machine, load {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp, ChannexStandin(api_key=API_KEY) as channex:
        workdir = Path(tmp)
        log = workdir / "bot.log"
        sqlite_path = workdir / "suite.sqlite3"
        standin_bookings = [channex.add_booking(b) for b in bookings(args.bookings)]
        run = CatchUpRun(args, channex, standin_bookings, sqlite_path, log)
        anyio.run(seed, sqlite_path, channex.api_url)
        tokens = anyio.run(mint_bot_tokens, sqlite_path, [HOTEL])
        suite_env = suite_environment(workdir, args.redis_url, prefix, consumer=True)
        try:
            with uvicorn_server("begasist_suite.app:create_app", suite_env, factory=True) as port:
                bot_env = {
                    **suite_env,
                    "BEGASIST_SUITE_URL": f"http://127.0.0.1:{port}",
                    "BEGASIST_BOT_TOKEN": tokens[HOTEL],
                    "BEGASIST_MEDIA_DIR": str(workdir / "media"),
                }
                # Warm-up: one message caught up gives the channel its cursor.
                channex.guest_writes(standin_bookings[0].id, "warm-up")
                bot = start_bot(bot_env, log)
                stored_by(sqlite_path, 1, "warm-up", log, timeout=60)
                stop_bot(bot)
                stored = 1

                if args.before:
                    # The older code first: the newer one then works on the fuller store.
                    old_src = channel_source(args.before, workdir)
                    old_env = {
                        **bot_env,
                        "PYTHONPATH": os.pathsep.join(
                            p for p in (str(old_src), bot_env.get("PYTHONPATH")) if p
                        ),
                    }
                    where = imported_from(old_env)
                    if not where.startswith(str(old_src)):
                        raise SystemExit(f"the bot would import the channel from {where}")
                    stored = catch_up(run, args.before, old_env, stored)
                stored = catch_up(run, "this tree", bot_env, stored)

                names = StreamNames(prefix=prefix)
                began = anyio.run(publish_baseline, args.redis_url, names, standin_bookings, total)
                last = stored_by(sqlite_path, stored + total, "baseline", log, args.timeout)
                baseline = last - began
                print(
                    f"baseline:  {total:,} events published straight to the events stream, "
                    f"stored in {baseline:.1f} s: {total / baseline:,.0f} messages/s"
                )
        finally:
            delete_keys(args.redis_url, prefix)


if __name__ == "__main__":
    main()
