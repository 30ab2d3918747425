"""Web chat guest sockets: how many one suite process holds, what each costs, reply to page latency.

Run by hand, everything on 127.0.0.1 and started by the bench:

- the suite, ``begasist serve`` (uvicorn, SQLite in a temp dir, consumer on),
  against the Redis of ``--redis-url`` under a prefix of its own (its keys are
  deleted at the end);
- one ``channelbot --hotel bench``, the hotel's web chat channel enabled with
  one allowed origin (mode manual: no responder answers the guests);
- ``--workers`` guest processes (``_webchat_guests.py``, websockets' asyncio
  client on uvloop), each holding its share of the sockets, so the client side
  is spread over processes; every process raises its file limit
  (``RLIMIT_NOFILE``) to the hard limit;
- for the replies, a staff process (``_webchat_staff.py``, raw keep-alive
  HTTP/1.1 on uvloop): httpx in this process fell behind on a busy host.

Every client shares one address (127.0.0.1), so the suite's per-address
guest limits (open sockets, connections and frames per window) are raised
for the run; the per-visitor limit stays at its default.

Phase 1: ``--sockets`` (5,000) guest sockets opened, each through the
widget's handshake (``hello``, then the suite's ``session`` and ``history``
frames); the suite process's RSS before and after (psutil); the sockets held
``--hold`` seconds, then one ``ping`` frame each (the widget's keep-alive)
and, once the suite has handled them, one WebSocket ping each, counting those
still open. Phase 2: all but ``--reply-sockets`` (1,000)
closed; each of those guests sends a message (so the conversation exists),
then staff replies go through the REST API (``POST
/api/v1/hotels/bench/conversations/{id}/messages``, a manager's bearer token)
at ``--rate`` (100) a second for ``--seconds`` (20), open loop, round-robin
over the conversations: latency from just before the API call to the frame
read at the guest's socket (``time.time``, one clock for every process of the
host); p50, p95, p99, max, and how many never arrived. Where the time goes:
the entry ids of the hotel's outbound stream (the outbox relay's publish)
and guests stream (the bot's ``deliver``) are Redis's clock, the same host's,
so each reply's path splits into API and relay, bot, and the suite's hub to
the guest's socket (``_webchat_stages.py``). Also printed: the suite's and
the bot's CPU during the replies, and how long each one's event loop waited
for a CPU while runnable (``/proc/<pid>/schedstat``), which tells a starved
suite from a slow one on a shared host. ``--py-spy DIR`` samples the suite in
each phase (collapsed stacks).

Baselines, in the same run: a bare ASGI WebSocket echo app under uvicorn with
the suite's own server config holding the same number of sockets (memory per
socket, and the round trip at the same rate over the same number of sockets),
and the reply API's own latency.

Exits 1 unless 5,000 sockets (or ``--sockets``, if more) were held, the p99 is
at most 100 ms and no reply was lost or doubled (so a quick run with fewer
sockets always exits 1).

    hatch run python bench/webchat_sockets.py                       # the issue's numbers
    hatch run python bench/webchat_sockets.py --sockets 1000 --seconds 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
from _soak_fleet import BotFleet, Children, SuiteServer, free_port, quiet_environment
from _webchat_setup import HOTEL, SECRET_KEY, GuestWorkers, Tokens, echo_app, seed
from _webchat_stages import pct, spread, stages
from begasist_core import StreamNames
from webhook_ingest import delete_keys

STAFF = Path(__file__).with_name("_webchat_staff.py")
TARGET_SOCKETS = 5_000
TARGET_P99_MS = 100.0
SETTLE_SECONDS = 15.0
"""How long after the last reply the bench waits for frames still on their way."""
RAISED_LIMIT = "1000000"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=TARGET_SOCKETS)
    parser.add_argument("--reply-sockets", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=100.0, help="staff replies a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the reply load")
    parser.add_argument("--workers", type=int, default=2, help="guest client processes")
    parser.add_argument("--concurrency", type=int, default=50, help="handshakes in flight a worker")
    parser.add_argument("--hold", type=float, default=5.0, help="seconds the sockets stay idle")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-baseline", action="store_true", help="skip the echo baseline")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this directory")
    parser.add_argument(
        "--py-spy", type=Path, help="profile the suite in each phase into this directory"
    )
    args = parser.parse_args()
    if not 0 < args.reply_sockets <= args.sockets:
        parser.error("--reply-sockets must be between 1 and --sockets")
    return args


@contextmanager
def profiling(directory: Path | None, name: str, pid: int, seconds: float) -> Iterator[None]:
    """With *directory*: py-spy samples *pid* while the block runs (collapsed stacks in
    ``<directory>/suite-<name>.txt``, non-blocking, so the suite is not paused)."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        "py-spy", "record", "--pid", str(pid), "--nonblocking", "--format", "raw",
        "--rate", "200", "--duration", str(int(seconds) + 60),
        "--output", str(directory / f"suite-{name}.txt"),
    ]  # fmt: skip
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        recorder.wait(timeout=60)


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def waited_seconds(pid: int) -> float:
    """How long *pid*'s main thread (the event loop) has waited for a CPU while runnable."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def idle(pid: int, *, most_seconds: float = 60.0) -> None:
    """Until *pid* uses under a tenth of a core over half a second (or *most_seconds*)."""
    with anyio.move_on_after(most_seconds):
        while True:
            before = cpu_seconds(pid)
            await anyio.sleep(0.5)
            if cpu_seconds(pid) - before < 0.05:
                return


async def settled_rss(pid: int) -> int:
    await anyio.sleep(1.0)
    return rss(pid)


async def open_sockets(
    workers: GuestWorkers, args: argparse.Namespace, pid: int, *, hello: bool, name: str
) -> dict[str, Any]:
    """Phase 1 against one server: open, measure its RSS, hold, check; then keep the reply set."""
    before = await settled_rss(pid)
    cpu_before = cpu_seconds(pid)
    commands = [
        {"do": "open", "count": share, "concurrency": args.concurrency, "hello": hello}
        for share in workers.shares(args.sockets)
    ]
    with profiling(args.py_spy if hello else None, "open", pid, 120):
        opened = await workers.ask_each(commands)
    held = sum(a["opened"] for a in opened)
    seconds = max(a["seconds"] for a in opened)
    failures: dict[str, int] = {}
    for answer in opened:
        for kind, times in answer["failures"].items():
            failures[kind] = failures.get(kind, 0) + times
    after = await settled_rss(pid)
    per_socket = (after - before) / held if held else 0.0
    print(
        f"{name}: {held:,}/{args.sockets:,} sockets open in {seconds:.1f} s "
        f"({held / seconds:,.0f}/s, server CPU {cpu_seconds(pid) - cpu_before:.1f} s); "
        f"RSS {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB: {per_socket / 1e3:.1f} kB a socket"
        + (f"; failures {failures}" if failures else ""),
        flush=True,
    )
    holding = cpu_seconds(pid)
    await anyio.sleep(args.hold)
    holding = (cpu_seconds(pid) - holding) / args.hold
    await workers.ask_all({"do": "pings"})
    await idle(pid)  # every ping frame handled: a socket it closed is closed by now
    checked = await workers.ask_all({"do": "alive"})
    alive = sum(a["open"] for a in checked)
    pongs = sum(a["pong"] for a in checked)
    codes: dict[str, int] = {}
    for answer in checked:
        for code, times in answer["closed_codes"].items():
            codes[code] = codes.get(code, 0) + times
    print(
        f"{name}: {args.hold:.0f} s idle (server CPU {holding:.1%} of a core), then a ping "
        f"frame and a WebSocket ping each: {alive:,} still open, "
        f"{pongs:,} pongs" + (f"; closed by the server with {codes}" if codes else ""),
        flush=True,
    )
    await workers.ask_each([{"do": "keep", "count": n} for n in workers.shares(args.reply_sockets)])
    return {
        "held": held,
        "alive": alive,
        "per_socket": per_socket,
        "before": before,
        "after": after,
        "failures": failures,
    }


async def echo_baseline(
    args: argparse.Namespace, children: Children, env: dict[str, str]
) -> dict[str, Any]:
    """The bare echo app: memory per socket and the round trip at the reply rate."""
    port = free_port()
    command = [sys.executable, __file__, "echo-server", str(port)]
    server = children.start(command, env, "echo.log")
    async with httpx.AsyncClient() as client:
        with anyio.fail_after(30):
            while True:
                try:
                    await client.get(f"http://127.0.0.1:{port}/")
                    break
                except httpx.TransportError:
                    await anyio.sleep(0.1)
    workers = GuestWorkers(args.workers, f"ws://127.0.0.1:{port}/", env)
    try:
        memory = await open_sockets(workers, args, server.pid, hello=False, name="echo baseline")
        seconds = min(args.seconds, 10.0)
        answers = await workers.ask_all(
            {"do": "echo", "rate": args.rate / workers.count, "seconds": seconds}
        )
    finally:
        workers.close()
        server.kill()
        server.wait()
    trips = [t * 1000 for a in answers for t in a["round_trips"]]
    sent = sum(a["sent"] for a in answers)
    print(
        f"echo baseline: {len(trips):,}/{sent:,} round trips at {args.rate:.0f}/s over "
        f"{args.reply_sockets:,} sockets: {spread(trips)}",
        flush=True,
    )
    return {**memory, "round_trips": trips}


async def wait_for_bot(client: httpx.AsyncClient, token: str) -> None:
    """Until the hotel's bot is online with its web chat channel running."""
    headers = {"authorization": f"Bearer {token}"}
    with anyio.fail_after(60):
        while True:
            status = (await client.get(f"/api/v1/hotels/{HOTEL}/status", headers=headers)).json()
            states = {c["channel"]: c["state"] for c in status.get("channels", [])}
            if status.get("bot_online") and states.get("webchat") == "running":
                return
            await anyio.sleep(0.2)


async def conversation_ids(client: httpx.AsyncClient, token: str, visitors: list[str]) -> list[str]:
    """The conversations of *visitors*, once the store has every one (their guests wrote)."""
    headers = {"authorization": f"Bearer {token}"}
    wanted = set(visitors)
    found: dict[str, str] = {}
    with anyio.fail_after(60):
        while len(found) < len(wanted):
            cursor = None
            while True:
                params: dict[str, Any] = {"channel": "webchat", "limit": 200}
                if cursor:
                    params["cursor"] = cursor
                answer = await client.get(
                    f"/api/v1/hotels/{HOTEL}/conversations", params=params, headers=headers
                )
                answer.raise_for_status()
                page = answer.json()
                found.update({c["key"]: c["id"] for c in page["items"] if c["key"] in wanted})
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            if len(found) < len(wanted):
                await anyio.sleep(0.5)
    return [found[v] for v in visitors]


async def post_replies(
    suite: SuiteServer, token: str, conversations: list[str], rate: float, seconds: float, tag: str
) -> dict[str, Any]:
    """Staff replies at *rate* for *seconds* from ``_webchat_staff.py`` (its JSON summary)."""
    command = [
        sys.executable, str(STAFF), str(suite.port), HOTEL, str(rate), str(seconds), tag,
    ]  # fmt: skip
    given = json.dumps({"token": token, "conversations": conversations})
    done = await anyio.run_process(command, input=given.encode(), check=False)
    if done.returncode:
        raise RuntimeError(f"the staff process failed:\n{done.stderr.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


async def arrivals_of(workers: GuestWorkers, sent: dict[str, Any]) -> dict[str, list[float]]:
    """Wait (at most SETTLE_SECONDS) for a frame of every reply in *sent*: arrivals by text."""
    arrived: dict[str, list[float]] = {}
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        for answer in await workers.ask_all({"do": "arrivals"}):
            for text, at in answer["arrivals"]:
                arrived.setdefault(text, []).append(at)
        if all(text in arrived for text in sent) or time.monotonic() > deadline:
            return arrived
        await anyio.sleep(0.5)


async def reply_phase(
    args: argparse.Namespace, workers: GuestWorkers, suite: SuiteServer, bot_pid: int, token: str
) -> dict[str, Any]:
    """Phase 2: a message from each guest, then staff replies at the rate."""
    wrote = await workers.ask_all({"do": "message", "count": 10**9})
    visitors = [v for answer in wrote for v in answer["visitors"]]
    failures = [answer["failures"] for answer in wrote if answer["failures"]]
    if failures:
        codes = [answer["closed_codes"] for answer in wrote]
        print(f"replies: guests whose message was not accepted: {failures}; closed: {codes}")
    async with httpx.AsyncClient(base_url=suite.url, timeout=30) as client:
        conversations = await conversation_ids(client, token, visitors)
    print(f"replies: {len(conversations):,} guests wrote, conversations stored", flush=True)
    warm = await post_replies(suite, token, conversations, args.rate, 2.0, "warm-up")
    await arrivals_of(workers, warm["sent"])
    assert suite.pid is not None
    cpu_before = {pid: cpu_seconds(pid) for pid in (suite.pid, bot_pid)}
    waited_before = {pid: waited_seconds(pid) for pid in (suite.pid, bot_pid)}
    began = time.monotonic()
    with profiling(args.py_spy, "replies", suite.pid, args.seconds):
        posted = await post_replies(suite, token, conversations, args.rate, args.seconds, "bench")
    elapsed = time.monotonic() - began
    used = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in cpu_before}
    waited = {pid: (waited_seconds(pid) - waited_before[pid]) / elapsed for pid in cpu_before}
    sent: dict[str, tuple[float, float]] = posted["sent"]
    statuses: dict[str, int] = posted["statuses"]
    api_ms = [(answered - at) * 1000 for at, answered in sent.values()]
    arrived = await arrivals_of(workers, sent)
    latencies = [(arrived[t][0] - at) * 1000 for t, (at, _) in sent.items() if t in arrived]
    after_api = [(arrived[t][0] - at) * 1000 for t, (_, at) in sent.items() if t in arrived]
    lost = sum(1 for text in sent if text not in arrived)
    doubled = sum(1 for text in sent if len(arrived.get(text, ())) > 1)
    print(
        f"replies: {len(sent):,} accepted of {sum(statuses.values()):,} posted at "
        f"{args.rate:.0f}/s over {len(conversations):,} sockets in {posted['seconds']:.1f} s "
        f"(statuses {statuses}, load average {os.getloadavg()[0]:.1f})\n"
        f"  CPU: suite {used[suite.pid] / elapsed:.0%} of a core "
        f"({used[suite.pid] * 1000 / max(1, len(sent)):.1f} ms a reply), "
        f"bot {used[bot_pid] / elapsed:.0%} ({used[bot_pid] * 1000 / max(1, len(sent)):.1f} ms); "
        f"runnable but waiting for a CPU: suite {waited[suite.pid] * 1000:.0f} ms a second, "
        f"bot {waited[bot_pid] * 1000:.0f} ms a second",
        flush=True,
    )
    print(f"  API call -> frame at the guest: {spread(latencies)}; lost {lost}, doubled {doubled}")
    print(f"  the API call alone (202):      {spread(api_ms)}")
    print(f"  requests left late by:         {spread(posted['late_ms'])}")
    print(f"  API answered -> frame:         {spread(after_api)}", flush=True)
    await stages(args.redis_url, StreamNames(prefix=args.prefix), HOTEL, sent, arrived)
    return {"latencies": latencies, "lost": lost, "doubled": doubled, "api_ms": api_ms}


async def run(args: argparse.Namespace, workdir: Path, children: Children, prefix: str) -> int:
    sqlite_path = workdir / "suite.sqlite3"
    tokens: Tokens = await seed(sqlite_path)
    common = {"BEGASIST_REDIS_URL": args.redis_url, "BEGASIST_PREFIX": prefix}
    baseline = None
    if not args.no_baseline:
        baseline = await echo_baseline(args, children, quiet_environment())
    suite = SuiteServer(
        children,
        quiet_environment(
            **common,
            BEGASIST_SECRET_KEY=SECRET_KEY,
            BEGASIST_SQLITE_PATH=str(sqlite_path),
            BEGASIST_MEDIA_DIR=str(workdir / "media"),
            BEGASIST_COOKIE_SECURE="false",
            BEGASIST_LOG_LEVEL="WARNING",
            # Every guest of the bench comes from 127.0.0.1.
            BEGASIST_GUEST_ADDRESS_OPEN_SOCKETS=RAISED_LIMIT,
            BEGASIST_GUEST_ADDRESS_CONNECTIONS=RAISED_LIMIT,
            BEGASIST_GUEST_ADDRESS_FRAMES=RAISED_LIMIT,
            # All of them are one replica's and one hotel's,
            BEGASIST_GUEST_OPEN_SOCKETS=RAISED_LIMIT,
            BEGASIST_GUEST_HOTEL_FRAMES=RAISED_LIMIT,
            # and every one is a first visit to the one hotel.
            BEGASIST_GUEST_ADDRESS_NEW_VISITORS=RAISED_LIMIT,
            BEGASIST_GUEST_HOTEL_NEW_VISITORS=RAISED_LIMIT,
        ),
    )
    suite.start()
    await suite.wait_ready()
    fleet = BotFleet(
        children, quiet_environment(**common, BEGASIST_SUITE_URL=suite.url), {HOTEL: tokens.bot}
    )
    bot = fleet.spawn(HOTEL)
    async with httpx.AsyncClient(base_url=suite.url, timeout=10) as client:
        await wait_for_bot(client, tokens.api)
    assert suite.pid is not None
    print(f"suite (pid {suite.pid}) and channelbot up", flush=True)
    guest_url = suite.url.replace("http://", "ws://") + f"/guest/{HOTEL}/webchat/socket"
    workers = GuestWorkers(args.workers, guest_url, quiet_environment())
    try:
        held = await open_sockets(workers, args, suite.pid, hello=True, name="suite")
        replies = await reply_phase(args, workers, suite, bot.process.pid, tokens.api)
    finally:
        workers.close()
    return report(args, held, replies, baseline)


def report(
    args: argparse.Namespace,
    held: dict[str, Any],
    replies: dict[str, Any],
    baseline: dict[str, Any] | None,
) -> int:
    latencies: list[float] = replies["latencies"]
    p99 = pct(latencies, 0.99) if latencies else float("inf")
    print(f"\nmachine: nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(
        f"sockets held: {held['alive']:,} of {args.sockets:,} (target {TARGET_SOCKETS:,}); "
        f"{held['per_socket'] / 1e3:.1f} kB a socket (suite RSS {held['before'] / 1e6:.0f} -> "
        f"{held['after'] / 1e6:.0f} MB)"
        + (f"; echo baseline {baseline['per_socket'] / 1e3:.1f} kB" if baseline else "")
    )
    print(
        f"staff reply -> guest's socket at {args.rate:.0f}/s over {args.reply_sockets:,}: "
        f"p50 {pct(latencies, 0.5) if latencies else 0:.1f} ms, p99 {p99:.1f} ms "
        f"(target {TARGET_P99_MS:.0f} ms); lost {replies['lost']}"
        + (f"; echo round trip p99 {pct(baseline['round_trips'], 0.99):.1f} ms"
           if baseline and baseline["round_trips"] else "")
    )  # fmt: skip
    problems = []
    wanted = max(args.sockets, TARGET_SOCKETS)
    if held["alive"] < wanted:
        problems.append(f"{held['alive']:,} sockets held, not {wanted:,}")
    if p99 > TARGET_P99_MS:
        problems.append(f"reply p99 {p99:.1f} ms > {TARGET_P99_MS:.0f} ms")
    if replies["lost"] or replies["doubled"]:
        problems.append(f"{replies['lost']} replies lost, {replies['doubled']} doubled")
    print("DONE: every target met" if not problems else "NOT DONE: " + "; ".join(problems))
    return 1 if problems else 0


def echo_server(port: int) -> None:
    """The echo baseline's server: :func:`echo_app` under the suite's server config."""
    import uvicorn
    from begasist_suite.config import SuiteSettings
    from begasist_suite.server import server_config

    settings = SuiteSettings(log_level="WARNING")
    config = server_config(echo_app, settings, host="127.0.0.1", port=port, access_log=False)
    uvicorn.Server(config).run()


def main() -> int:
    args = parse_args()
    # Children inherit it: the suite and the echo server hold a descriptor per socket.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    prefix = args.prefix = f"bench-webchat-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="webchat-bench-") as tmp:
        workdir = Path(tmp)
        log_dir = args.logs or workdir
        log_dir.mkdir(parents=True, exist_ok=True)
        children = Children(log_dir)
        try:
            code: int = anyio.run(run, args, workdir, children, prefix)
            return code
        finally:
            children.kill_all()
            delete_keys(args.redis_url, prefix)


if __name__ == "__main__":
    if sys.argv[1:2] == ["echo-server"]:
        echo_server(int(sys.argv[2]))
    else:
        sys.exit(main())
