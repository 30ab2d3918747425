"""Chaos soak: WhatsApp webhooks and staff replies while bots, Redis and the suite are killed.

Run by hand, bounded in time, everything on 127.0.0.1 and started by the soak:

- its own ``redis-server`` on a free port with ``--appendonly yes
  --appendfsync always`` in a temp dir (``always``, not ``everysec``: a
  ``kill -9`` of Redis then loses no acknowledged write, so a loss counted
  here is Begasist's, not Redis's one-second durability trade-off);
- the suite, ``begasist serve`` (uvicorn, SQLite in the temp dir, consumer on);
- ``--hotels`` hotels (5), each with an active and a standby ``channelbot``
  (separate processes, ``--instance`` names; the lease picks the active one);
- the Graph API stand-in (``GraphStandin`` in a process of its own, as in
  ``bench/whatsapp_send.py``, with 150 ms of Graph latency by default) that
  every hotel's WhatsApp channel sends to, and which posts a signed ``sent``
  status webhook for each accepted reply to the hotel's webhook URL (as Meta
  does): a bot killed while a reply was in flight leaves its successor the
  status to learn the reply went, instead of sending it again.

Why WhatsApp and not the demo channel: the webhooks are then real signed Meta
payloads through the suite's real verification, and every send reaches the
stand-in, which records the text it accepted. Each staff reply carries a unique
token in its text, so the stand-in's records say exactly how many times each
reply reached "Meta"; the demo channel's sends leave no such record outside
the bot.

The run: bots up, a warm-up message from each guest (opening the 24-hour
window and the conversations the replies go to), then for ``--seconds`` (100)
``--webhooks`` (10,000) webhooks at a steady rate over the hotels and
``--replies`` (500) staff replies through the API (``POST
/api/v1/hotels/{hotel}/conversations/{id}/messages`` with the manager's bearer
token and an ``Idempotency-Key``), both retried as their senders would (see
``_soak_load.py``). Meanwhile (``_soak_chaos.py``): ``kill -9`` of the active
bot of the next hotel every ``--kill-every`` (5) seconds, with a new standby
started at once; Redis killed and restarted ``--redis-kills`` (2) times, the
suite ``--suite-kills`` (1) time, each down for a few seconds. Then the soak
waits up to ``--settle`` (60) seconds for every accepted message to be stored
and sent, nothing pending and nothing unread in any consumer group, and counts
(``_soak_count.py``).

Done (exit 0) when: 0 inbound lost (answered 200 at least once, never
stored), 0 duplicated (stored twice), every accepted reply sent to the stand-in
exactly once and stored once, 0 dead letters, 0 pending at the end, the
takeover p50 and max measured; and, so that a run where little got through
cannot pass, every webhook and reply accepted within its retry budget. Exit 1
otherwise. ``--no-chaos`` runs the same load without kills.

    hatch run python bench/chaos_soak.py                       # the issue's numbers
    hatch run python bench/chaos_soak.py --webhooks 500 --replies 30 --seconds 20
    hatch run python bench/chaos_soak.py --no-chaos --webhooks 500 --replies 30 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import anyio
import httpx
from _soak_chaos import Chaos, schedule
from _soak_count import Figures, StoreRows, count, dead_letters, group_backlogs
from _soak_fleet import (
    READY_SECONDS,
    BotFleet,
    Children,
    RedisServer,
    SuiteServer,
    quiet_environment,
)
from _soak_load import APP_SECRET, Ledger, phone_number_id
from _soak_report import failures, print_summary
from begasist_channels_whatsapp.settings import WhatsAppSettings
from begasist_core import StreamNames
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Credential, CredentialKind, Hotel, Membership, Role, User
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store
from redis.asyncio import Redis
from redis.exceptions import RedisError
from whatsapp_send import TOKEN as GRAPH_TOKEN
from whatsapp_send import StandinProcess

SECRET_KEY = "chaos-soak-secret-key-" + "x" * 32
NAMES = StreamNames()
MAX_GUESTS = 200
"""Guests per hotel: one page of the conversation list."""
STARTUP_SECONDS = 120.0
"""Bound on everything before the load (bots up, warm-up stored) and after it (counting)."""
WARM_UP_SECONDS = 60.0
"""How long the warm-up messages may take to be stored (within STARTUP_SECONDS)."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--webhooks", type=int, default=10_000)
    parser.add_argument("--replies", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=100.0, help="length of the load")
    parser.add_argument("--hotels", type=int, default=5)
    parser.add_argument("--guests", type=int, default=20, help="guests per hotel")
    parser.add_argument("--kill-every", type=float, default=5.0, help="seconds between bot kills")
    parser.add_argument("--redis-kills", type=int, default=2)
    parser.add_argument("--redis-down", type=float, default=2.0, help="seconds Redis stays down")
    parser.add_argument("--suite-kills", type=int, default=1)
    parser.add_argument("--suite-down", type=float, default=2.0, help="seconds the suite is down")
    parser.add_argument("--no-chaos", action="store_true", help="the same load, nothing killed")
    parser.add_argument("--lease-ttl", type=float, help="BEGASIST_LEASE_TTL_SECONDS of the bots")
    parser.add_argument("--retry-seconds", type=float, default=60.0, help="each sender's budget")
    parser.add_argument("--settle", type=float, default=60.0, help="most seconds to wait after")
    parser.add_argument("--graph-latency", type=float, default=0.15)
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this directory")
    args = parser.parse_args()
    if min(args.webhooks, args.seconds, args.hotels, args.guests) <= 0 or args.replies < 0:
        parser.error("--webhooks, --seconds, --hotels and --guests must be positive")
    if args.guests > MAX_GUESTS:
        parser.error(f"--guests: at most {MAX_GUESTS}")
    return args


async def seed(sqlite_path: Path, hotels: list[str], graph_url: str) -> tuple[dict[str, str], str]:
    """Hotels with WhatsApp at the stand-in (mode manual: only staff reply), a manager and
    their API token, a bot token per hotel; returns (bot tokens, API token)."""
    store = Store(SqliteDatabase(sqlite_path))
    await store.migrate()
    box = SecretBox(SECRET_KEY)
    bot_tokens = {}
    try:
        manager = await store.create_user(User(email="manager@soak.test"))
        for index, hotel in enumerate(hotels):
            await store.create_hotel(Hotel(slug=hotel, name=hotel.title()))
            settings = {
                "mode": "manual",
                "phone_number_id": phone_number_id(index),
                "waba_id": "102290129340398",
                "access_token": GRAPH_TOKEN,
                "app_secret": APP_SECRET,
                "verify_token": "soak-verify-token",
                "graph_api_url": graph_url,
            }
            config = apply_settings_update(WhatsAppSettings, hotel, "whatsapp", settings, None, box)
            await store.put_channel_config(config)
            await store.set_membership(
                Membership(hotel=hotel, user_id=manager.id, role=Role.MANAGER)
            )
            bot_tokens[hotel] = new_secret("bot_token")
            await store.add_credential(
                Credential(
                    digest=digest(bot_tokens[hotel]), kind=CredentialKind.BOT_TOKEN, hotel=hotel
                )
            )
        api_token = new_secret("api_token")
        await store.add_credential(
            Credential(digest=digest(api_token), kind=CredentialKind.API_TOKEN, user_id=manager.id)
        )
    finally:
        await store.aclose()
    return bot_tokens, api_token


async def api_get(client: httpx.AsyncClient, token: str, path: str) -> Any:
    answer = await client.get(path, headers={"authorization": f"Bearer {token}"})
    answer.raise_for_status()
    return answer.json()


async def wait_for_bots(client: httpx.AsyncClient, token: str, hotels: list[str]) -> None:
    """Until every hotel's bot is online with its WhatsApp channel running."""
    for hotel in hotels:
        while True:
            status = await api_get(client, token, f"/api/v1/hotels/{hotel}/status")
            states = {c["channel"]: c["state"] for c in status["channels"]}
            if status["bot_online"] and states.get("whatsapp") == "running":
                break
            await anyio.sleep(0.2)


async def outstanding(system: System, ledger: Ledger) -> dict[str, int]:
    """What is not done yet: accepted but unstored or unsent, queued, pending, unread."""
    rows = await anyio.to_thread.run_sync(StoreRows.read, system.sqlite_path)
    texts = await anyio.to_thread.run_sync(sent_texts, system.standin)
    figures = count(ledger.inbound, ledger.replies, rows, texts)
    left = {
        "inbound not stored": figures.inbound_lost,
        "replies not sent": figures.replies_never,
        "replies queued": figures.reply_statuses["queued"],
    }
    try:
        backlogs = await group_backlogs(system.redis, NAMES.prefix)
        left["pending"] = sum(b.pending for b in backlogs)
        left["unread"] = sum(b.lag or 0 for b in backlogs)
    except RedisError:
        left["Redis unreachable"] = 1
    return left


async def settle(system: System, ledger: Ledger, seconds: float) -> tuple[float, dict[str, int]]:
    """Wait until nothing is outstanding, at most *seconds*; (seconds waited, what was left)."""
    began = time.monotonic()
    while True:
        left = await outstanding(system, ledger)
        waited = time.monotonic() - began
        if not any(left.values()) or waited >= seconds:
            return waited, {k: v for k, v in left.items() if v}
        await anyio.sleep(1.0)


def sent_texts(standin: StandinProcess) -> list[str]:
    return [text for text, *_ in standin.ask("report")["messages"]]


@dataclass
class System:
    """What the soak started and talks to."""

    hotels: list[str]
    sqlite_path: Path
    redis_server: RedisServer
    suite: SuiteServer
    fleet: BotFleet
    redis: Redis
    api_token: str
    standin: StandinProcess


async def start_system(
    args: argparse.Namespace, workdir: Path, children: Children, standin: StandinProcess
) -> System:
    """Redis, the seeded store, the suite and two bots per hotel, all running."""
    hotels = [f"hotel{n}" for n in range(1, args.hotels + 1)]
    sqlite_path = workdir / "suite.sqlite3"
    redis_server = RedisServer(children, workdir / "redis")
    redis_server.start()
    await redis_server.wait_ready()
    bot_tokens, api_token = await seed(sqlite_path, hotels, standin.url)
    common = {"BEGASIST_REDIS_URL": redis_server.url, "BEGASIST_MEDIA_DIR": str(workdir / "media")}
    suite_env = quiet_environment(
        **common,
        BEGASIST_SECRET_KEY=SECRET_KEY,
        BEGASIST_SQLITE_PATH=str(sqlite_path),
        BEGASIST_COOKIE_SECURE="false",
        BEGASIST_LOG_LEVEL="WARNING",
    )
    suite = SuiteServer(children, suite_env)
    suite.start()
    await suite.wait_ready()
    # Meta's status webhooks for every accepted reply, to each hotel's own webhook URL: what
    # lets a successor learn that a reply in flight when its bot was killed was accepted.
    callbacks = {
        phone_number_id(index): {
            "url": f"{suite.url}/webhooks/{hotel}/whatsapp",
            "app_secret": APP_SECRET,
        }
        for index, hotel in enumerate(hotels)
    }
    await anyio.to_thread.run_sync(standin.ask, f"statuses {json.dumps(callbacks)}")
    bot_env = quiet_environment(**common, BEGASIST_SUITE_URL=suite.url)
    if args.lease_ttl is not None:
        bot_env["BEGASIST_LEASE_TTL_SECONDS"] = str(args.lease_ttl)
    fleet = BotFleet(children, bot_env, bot_tokens)
    fleet.replace_exited(hotels, per_hotel=2)
    redis = Redis.from_url(redis_server.url, socket_timeout=5, socket_connect_timeout=1)
    return System(hotels, sqlite_path, redis_server, suite, fleet, redis, api_token, standin)


async def warm_up(system: System, ledger: Ledger, guests: int) -> list[tuple[str, str]]:
    """A message from each guest, stored; the (hotel, conversation id) the replies go to."""
    await wait_for_bots(ledger.client, system.api_token, system.hotels)
    print(f"{len(system.hotels)} hotels, 2 bots each, up; warm-up: a message per guest", flush=True)
    async with anyio.create_task_group() as ledger.group:
        for guest in range(guests):
            for index in range(len(system.hotels)):
                ledger.webhook(index, guest, "warm-up")
    _, left = await settle(system, ledger, WARM_UP_SECONDS)
    if left:
        raise RuntimeError(f"the warm-up did not settle: {left}")
    conversations = []
    for hotel in system.hotels:
        path = f"/api/v1/hotels/{hotel}/conversations?limit={MAX_GUESTS}"
        page = await api_get(ledger.client, system.api_token, path)
        conversations += [(hotel, conversation["id"]) for conversation in page["items"]]
    return sorted(conversations, key=lambda c: (c[1], c[0]))  # the hotels interleaved


async def run_load(
    args: argparse.Namespace,
    system: System,
    ledger: Ledger,
    chaos: Chaos,
    conversations: list[tuple[str, str]],
) -> tuple[float, dict[str, int]]:
    """The load and the chaos, then the settling; (seconds settling, what was left)."""
    plan = [] if args.no_chaos else chaos_plan(args)
    print(
        f"load: {args.webhooks:,} webhooks and {args.replies} replies over {args.seconds:.0f} s"
        + ("" if plan else ", no chaos"),
        flush=True,
    )
    started = time.monotonic()
    # Senders stop retrying after their budget and every restart is bounded, so the
    # load ends by itself; the deadline guards against a hang of the soak's own.
    load_deadline = args.seconds + args.retry_seconds + 2 * READY_SECONDS
    async with anyio.create_task_group() as background:
        background.start_soon(chaos.keep_bots)
        background.start_soon(chaos.watch_leases)
        background.start_soon(chaos.watch_events)
        background.start_soon(progress, ledger, chaos, started)
        with anyio.move_on_after(load_deadline) as load_scope:
            async with anyio.create_task_group() as ledger.group:
                ledger.group.start_soon(chaos.conduct, plan, started)
                ledger.group.start_soon(
                    ledger.post_steadily,
                    args.webhooks, args.guests, args.replies, conversations, args.seconds, started,
                )  # fmt: skip
        if load_scope.cancelled_caught:
            print(f"the load was cut at its deadline ({load_deadline:.0f} s)", flush=True)
        print(f"load done after {time.monotonic() - started:.0f} s; settling", flush=True)
        settled = await settle(system, ledger, args.settle)
        background.cancel_scope.cancel()
    chaos.mark_overlaps()
    return settled


def chaos_plan(args: argparse.Namespace) -> list[tuple[float, str]]:
    return schedule(args.seconds, args.kill_every, args.redis_kills, args.suite_kills)


async def final_figures(system: System, ledger: Ledger) -> Figures:
    rows = await anyio.to_thread.run_sync(StoreRows.read, system.sqlite_path)
    texts = await anyio.to_thread.run_sync(sent_texts, system.standin)
    figures = count(ledger.inbound, ledger.replies, rows, texts)
    figures.dead = await dead_letters(system.redis, NAMES.dead, NAMES.prefix)
    figures.backlogs = await group_backlogs(system.redis, NAMES.prefix)
    return figures


async def progress(ledger: Ledger, chaos: Chaos, started: float) -> None:
    while True:
        await anyio.sleep(10)
        print(
            f"  t={time.monotonic() - started:4.0f} s: {ledger.progress()}, "
            f"bot kills {len(chaos.takeovers)}, outages {len(chaos.outages)}",
            flush=True,
        )


async def soak(
    args: argparse.Namespace, workdir: Path, children: Children, standin: StandinProcess
) -> int:
    """The whole run, under a global deadline (TimeoutError past it); the exit code."""
    deadline = 3 * STARTUP_SECONDS + 2 * READY_SECONDS
    with anyio.fail_after(deadline + args.seconds + args.retry_seconds + args.settle):
        system = await start_system(args, workdir, children, standin)
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        client = httpx.AsyncClient(base_url=system.suite.url, timeout=10, limits=limits)
        async with client, system.redis:
            ledger = Ledger(
                system.hotels, client, system.api_token, args.retry_seconds, secrets.token_hex(4)
            )
            chaos = Chaos(
                system.redis_server, system.suite, system.fleet, system.redis, NAMES,
                system.hotels, ledger.marker, redis_down=args.redis_down,
                suite_down=args.suite_down,
            )  # fmt: skip
            with anyio.fail_after(STARTUP_SECONDS):
                conversations = await warm_up(system, ledger, args.guests)
            waited, left = await run_load(args, system, ledger, chaos, conversations)
            with anyio.fail_after(STARTUP_SECONDS):
                figures = await final_figures(system, ledger)
    chaos_on = not args.no_chaos
    print_summary(
        figures, chaos, system.fleet, standin.ask("count"), waited, left, chaos_on=chaos_on
    )
    problems = failures(figures, chaos, chaos_on=chaos_on)
    print("DONE: every figure met" if not problems else "NOT DONE: " + "; ".join(problems))
    return 1 if problems else 0


def _interrupted(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _interrupted)
    with tempfile.TemporaryDirectory(prefix="chaos-soak-") as tmp:
        workdir = Path(tmp)
        log_dir = args.logs or workdir
        log_dir.mkdir(parents=True, exist_ok=True)
        children = Children(log_dir)
        standin: StandinProcess | None = None
        try:
            standin = StandinProcess(limit=80, latency=args.graph_latency)
            code: int = anyio.run(soak, args, workdir, children, standin)
            return code
        except TimeoutError:
            traceback.print_exc()
            print(
                "NOT DONE: a step of the soak timed out (above); nothing counted", file=sys.stderr
            )
            return 2
        except KeyboardInterrupt:
            print("interrupted; stopping every process the soak started", file=sys.stderr)
            return 130
        finally:
            children.kill_all()
            if standin is not None:
                standin.close()


if __name__ == "__main__":
    sys.exit(main())
