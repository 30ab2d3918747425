"""WhatsApp outbound pacing: a real channelbot sending through the Graph API stand-in.

Three processes besides Redis: the Graph API stand-in (``GraphStandin`` serving
in a process of its own, ``whatsapp_send.py standin``: a throughput limit of
``--limit`` messages per sliding second per number, answered with Meta's
130429, a pair limit answered with 131056, ``--latency`` added to every
answer as Graph's round trip); one ``channelbot --hotel bench`` whose settings
file points the whatsapp channel's ``graph_api_url`` at the stand-in; and this
process, which opens the 24-hour window of ``--recipients`` guests and
publishes ``message.send`` events to the hotel's outbound stream, round-robin
over the guests: ``--rate`` per second for ``--seconds`` (open loop, at fixed
times), or ``--burst N`` messages in one call.

Figures: accepted messages per second at the stand-in (over the steady part:
from 2 s after the first publish to the last publish) and the most accepted in
any sliding second (must not exceed the limit); the stand-in's 130429 and
131056 refusals (must be 0: those are 429s caused by us); the send-queue
latency of each message, stand-in accept time minus publish time (both
``time.time()`` on this host); and published vs accepted, checked by the text
at the stand-in (each text unique) and by the bot's ``sent`` statuses on the
events stream (one wamid per message id, the same the stand-in answered).
Exits 1 if the stand-in refused anything or a message was lost or doubled.

    hatch run python bench/whatsapp_send.py [--rate 80] [--seconds 30] [--recipients 500]
    hatch run python bench/whatsapp_send.py --burst 400
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, cast

import anyio
import psutil
import redis
from begasist_channels_whatsapp.testing import GraphStandin, StatusCallback
from begasist_channels_whatsapp.window import CustomerServiceWindow
from begasist_core import (
    ChannelKeys,
    Direction,
    GuestIdentity,
    Message,
    MessageSend,
    Publisher,
    StreamNames,
    decode_event,
    make_event,
    redis_from_url,
    utc_now,
)

HOTEL = "bench"
TOKEN = "bench-graph-token"
PHONE_NUMBER_ID = "106540352242922"
STEADY_SKIP = 2.0
"""Seconds after the first publish left out of the steady rate (connections, first batch)."""


# -- the stand-in's process --------------------------------------------------------------


def standin_main(argv: list[str]) -> None:
    """Serve a GraphStandin; answer ``count`` / ``report`` / ``reset`` lines on stdin with JSON.

    ``statuses {"<phone_number_id>": {"url": ..., "app_secret": ...}}`` makes it post a
    signed ``sent`` status webhook for each message accepted from then on.
    """
    parser = argparse.ArgumentParser(prog="whatsapp_send.py standin")
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("--latency", type=float, default=0.15)
    options = parser.parse_args(argv)
    standin = GraphStandin(token=TOKEN, messages_per_second=options.limit, latency=options.latency)
    standin.start()
    print(json.dumps({"url": standin.base_url}), flush=True)
    # The stand-in stamps time.monotonic(); the bench compares with time.time().
    wall_offset = time.time() - time.monotonic()
    try:
        for line in sys.stdin:
            command = line.strip()
            answer: dict[str, Any] = {
                "accepted": len(standin.accepted),
                "throttled": standin.throttled,
                "pair_limited": standin.pair_limited,
                "requests": len(standin.requests),
            }
            if command == "report":
                answer["messages"] = [
                    (message.text, message.to, message.wamid, message.at + wall_offset)
                    for message in standin.accepted
                ]
            elif command == "reset":
                standin.reset()
            elif command.startswith("statuses "):
                callbacks = json.loads(command.removeprefix("statuses "))
                standin.send_statuses(
                    {number: StatusCallback(**target) for number, target in callbacks.items()}
                )
            print(json.dumps(answer), flush=True)
    finally:
        standin.stop()


class StandinProcess:
    """The stand-in in a child process, and the line protocol to read it back."""

    def __init__(self, limit: int, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "standin", "--limit", str(limit), "--latency", str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the bench, which stops its children
        )
        self.url: str = self._answer()["url"]

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the stand-in exited with {self.process.wait()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        stop(self.process)


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- Redis, the bot ----------------------------------------------------------------------


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.05)
    client.close()
    return server, url


def delete_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


def start_bot(
    workdir: Path, args: argparse.Namespace, redis_url: str, prefix: str, graph_url: str
) -> subprocess.Popen[str]:
    settings = workdir / "hotels.toml"
    settings.write_text(
        f"[hotels.{HOTEL}]\nversion = 1\n"
        f"[hotels.{HOTEL}.channels.whatsapp]\n"
        f'phone_number_id = "{PHONE_NUMBER_ID}"\nwaba_id = "102290129340398"\n'
        f'access_token = "{TOKEN}"\napp_secret = "bench-app-secret"\n'
        f'verify_token = "bench-verify-token"\ngraph_api_url = "{graph_url}"\n'
        f"messages_per_second = {args.messages_per_second}\n"
        f"per_recipient_interval_seconds = {args.per_recipient_interval}\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "BEGASIST_REDIS_URL": redis_url,
        "BEGASIST_PREFIX": prefix,
        "BEGASIST_SETTINGS_FILE": str(settings),
        "BEGASIST_LOAD_PLUGINS": "whatsapp",
        "BEGASIST_MEDIA_DIR": str(workdir / "media"),
    }
    if args.concurrency is not None:
        env["BEGASIST_OUTBOUND_CONCURRENCY"] = str(args.concurrency)
    return subprocess.Popen(
        [sys.executable, "-m", "begasist_core.channelbot.cli", "--hotel", HOTEL],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_ready(bot: subprocess.Popen[str]) -> None:
    """Until the bot logs that it serves the hotel with the whatsapp channel running."""
    assert bot.stderr is not None
    for line in bot.stderr:
        if f"ready: hotel {HOTEL}" in line:
            if "whatsapp=running" not in line:
                raise SystemExit(f"the whatsapp channel is not running: {line.strip()}")
            break
    else:
        raise SystemExit(f"channelbot exited with {bot.wait()} before it was ready")
    # Keep draining its log so the pipe never fills; show what is not routine.
    threading.Thread(target=_echo_unusual, args=(bot.stderr,), daemon=True).start()


def _echo_unusual(stream: Any) -> None:
    for line in stream:
        if " INFO " not in line:
            sys.stderr.write(f"  [bot] {line}")


# -- load ------------------------------------------------------------------------------


def recipient(n: int) -> str:
    return f"3460{n:07d}"


def outbound(address: str, text: str) -> Message:
    return Message(
        hotel=HOTEL,
        channel="whatsapp",
        conversation_key=address,
        direction=Direction.OUTBOUND,
        guest=GuestIdentity(channel="whatsapp", address=address),
        text=text,
    )


async def open_windows(redis_url: str, prefix: str, addresses: list[str]) -> None:
    client = redis_from_url(redis_url)
    try:
        window = CustomerServiceWindow(ChannelKeys(client, StreamNames(prefix), HOTEL, "whatsapp"))
        now = utc_now()
        for address in addresses:
            await window.record(address, now)
    finally:
        await client.aclose()


async def publish(
    redis_url: str, prefix: str, run: str, count: int, recipients: int, rate: float | None
) -> dict[str, tuple[str, float]]:
    """Publish *count* sends, at *rate* per second or (None) in one call; text -> (id, time)."""
    client = redis_from_url(redis_url)
    publisher, stream = Publisher(client), StreamNames(prefix).outbound(HOTEL)
    messages = [
        outbound(recipient(n % recipients), f"{run} #{n}: your room is ready") for n in range(count)
    ]
    events = [make_event(HOTEL, MessageSend(message=message)) for message in messages]
    published: dict[str, tuple[str, float]] = {}
    try:
        if rate is None:
            at = time.time()
            await publisher.publish_many(stream, events)
            published = {message.text: (message.id, at) for message in messages}
        else:
            began = time.monotonic()
            for n, (message, event) in enumerate(zip(messages, events, strict=True)):
                delay = began + n / rate - time.monotonic()
                if delay > 0:
                    await anyio.sleep(delay)
                published[message.text] = (message.id, time.time())
                await publisher.publish(stream, event)
    finally:
        await client.aclose()
    return published


def wait_accepted(standin: StandinProcess, expected: int, idle_timeout: float) -> None:
    """Until the stand-in accepted *expected* messages, or nothing moved for *idle_timeout*."""
    last, moved = -1, time.monotonic()
    while True:
        accepted = standin.ask("count")["accepted"]
        if accepted >= expected:
            return
        if accepted != last:
            last, moved = accepted, time.monotonic()
        elif time.monotonic() - moved > idle_timeout:
            return
        time.sleep(0.2)


def sent_statuses(redis_url: str, prefix: str) -> tuple[dict[str, set[str]], int, int]:
    """Wamids per message id from the bot's ``sent`` statuses; failed statuses; dead entries."""
    names = StreamNames(prefix)
    client = redis.Redis.from_url(redis_url)
    wamids: dict[str, set[str]] = defaultdict(set)
    failed = 0
    try:
        start = "-"
        while entries := cast(
            "list[tuple[bytes, dict[bytes, bytes]]]",
            client.xrange(names.events, min=start, count=1000),
        ):
            for _, fields in entries:
                event = decode_event(fields[b"e"])
                if event.type != "message.status":
                    continue
                status = event.data
                if status.failed:
                    failed += 1
                elif status.message_id is not None:
                    wamids[status.message_id].add(status.provider_message_id)
            start = "(" + entries[-1][0].decode()
        dead = client.xlen(names.dead) if client.exists(names.dead) else 0
    finally:
        client.close()
    return wamids, failed, dead


# -- figures ---------------------------------------------------------------------------


def max_in_a_second(times: list[float]) -> int:
    """The most accepts in any sliding second (the stand-in's window: ``(t - 1, t]``)."""
    best, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def measure(
    args: argparse.Namespace,
    standin: StandinProcess,
    bot: subprocess.Popen[str],
    redis_url: str,
    prefix: str,
) -> bool:
    """One measured run; prints its figures; True if nothing was refused, lost or doubled."""
    run = f"run-{uuid.uuid4().hex[:6]}"
    count = args.burst if args.burst else int(args.rate * args.seconds)
    rate = None if args.burst else args.rate
    bot_cpu, standin_cpu = psutil.Process(bot.pid), psutil.Process(standin.process.pid)
    cpu_before = (sum(bot_cpu.cpu_times()[:2]), sum(standin_cpu.cpu_times()[:2]))
    began = time.time()
    published = anyio.run(publish, redis_url, prefix, run, count, args.recipients, rate)
    publish_end = max(at for _, at in published.values())
    wait_accepted(standin, count, idle_timeout=30)
    elapsed = time.time() - began
    bot_share = (sum(bot_cpu.cpu_times()[:2]) - cpu_before[0]) / elapsed
    standin_share = (sum(standin_cpu.cpu_times()[:2]) - cpu_before[1]) / elapsed
    time.sleep(0.5)  # the last statuses reach the events stream
    report = standin.ask("report")
    wamids, failed, dead = sent_statuses(redis_url, prefix)

    messages = [row for row in report["messages"] if row[0].startswith(run)]
    texts = Counter(text for text, _, _, _ in messages)
    lost = [text for text in published if text not in texts]
    doubled = [text for text, seen in texts.items() if seen > 1]
    standin_wamid = {text: wamid for text, _, wamid, _ in messages}
    status_mismatch = sum(
        1
        for text, (message_id, _) in published.items()
        if wamids.get(message_id, set()) != ({standin_wamid[text]} if text in texts else set())
    )
    times = sorted(at for _, _, _, at in messages)
    latencies = [at - published[text][1] for text, _, _, at in messages]
    steady = [at for at in times if began + STEADY_SKIP <= at <= publish_end]
    longest_pause = max((b - a for a, b in itertools.pairwise(steady)), default=0.0)
    steady_span = publish_end - began - STEADY_SKIP

    what = f"burst of {count}" if args.burst else f"{args.rate:g}/s for {args.seconds:g} s"
    print(f"\n{what} over {args.recipients} guests (limit {args.limit}/s, "
          f"Graph latency {args.latency * 1000:.0f} ms):")  # fmt: skip
    rows = [
        ("published / accepted", f"{len(published)} / {len(messages)}"
         f" (lost {len(lost)}, doubled {len(doubled)})"),
        ("sent statuses not matching the stand-in", str(status_mismatch)),
        ("failed statuses / dead-lettered", f"{failed} / {dead}"),
        ("refused 130429 / 131056", f"{report['throttled']} / {report['pair_limited']}"),
        ("max accepted in a sliding second", str(max_in_a_second(times))),
    ]  # fmt: skip
    if times:
        span = max(times[-1] - times[0], 1e-9)
        rows.append(("accepted/s, first to last accept", f"{(len(times) - 1) / span:.1f}"))
    if rate is not None and steady_span > 0:
        rows.append(("accepted/s, steady part", f"{len(steady) / steady_span:.1f}"))
        rows.append(("longest pause between accepts, steady", f"{longest_pause * 1000:.0f} ms"))
    if latencies:
        rows.append((
            "send-queue latency p50 / p95 / p99 / max",
            " / ".join(f"{pct(latencies, p) * 1000:.0f}" for p in (0.5, 0.95, 0.99))
            + f" / {max(latencies) * 1000:.0f} ms",
        ))  # fmt: skip
    rows.append(("CPU (one core = 100%): bot / stand-in",
                 f"{bot_share * 100:.0f}% / {standin_share * 100:.0f}%"))  # fmt: skip
    rows.append(("load average (1 min)", f"{os.getloadavg()[0]:.2f}"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    ok = not (report["throttled"] or report["pair_limited"] or lost or doubled or status_mismatch)
    if rate is not None and latencies:
        p99 = pct(latencies, 0.99)
        print(f"  target p99 <= 1 s: {'met' if p99 <= 1.0 else 'NOT met'}; "
              f"<= {args.limit}/s in every second: "
              f"{'met' if max_in_a_second(times) <= args.limit else 'NOT met'}")  # fmt: skip
    return ok


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--start-redis", action="store_true", help="a private redis-server")
    parser.add_argument("--rate", type=float, default=80.0, help="offered messages per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--burst", type=int, default=0, help="N messages at once instead")
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--limit", type=int, default=80, help="the stand-in's limit per second")
    parser.add_argument("--latency", type=float, default=0.15, help="Graph round trip, s")
    parser.add_argument("--messages-per-second", type=float, default=80, help="the bot's pacing")
    parser.add_argument("--per-recipient-interval", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, help="BEGASIST_OUTBOUND_CONCURRENCY")
    parser.add_argument("--warmup", type=int, default=40, help="messages sent before measuring")
    args = parser.parse_args()
    # Ctrl-C and SIGTERM leave through the finally below (SIGINT is set explicitly:
    # a shell's background job starts with it ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    prefix = f"bench-wasend-{uuid.uuid4().hex[:8]}"
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    ok = False
    redis_url = args.redis_url
    server: subprocess.Popen[bytes] | None = None
    bot: subprocess.Popen[str] | None = None
    standin: StandinProcess | None = None
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        try:
            if args.start_redis:
                server, redis_url = start_redis(workdir)
            with redis.Redis.from_url(redis_url) as client:
                version = client.info("server")["redis_version"]
            print(f"Redis {version} at {redis_url}, prefix {prefix}")
            standin = StandinProcess(args.limit, args.latency)
            bot = start_bot(workdir, args, redis_url, prefix, standin.url)
            wait_ready(bot)
            addresses = [recipient(n) for n in range(max(args.recipients, args.warmup))]
            anyio.run(open_windows, redis_url, prefix, addresses)
            if args.warmup:
                anyio.run(publish, redis_url, prefix, "warmup", args.warmup, args.recipients, 40.0)
                wait_accepted(standin, args.warmup, idle_timeout=10)
                time.sleep(1.5)  # past the per-recipient interval and the stand-in's second
                standin.ask("reset")
            ok = measure(args, standin, bot, redis_url, prefix)
        except KeyboardInterrupt:
            print("interrupted; cleaning up", file=sys.stderr)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup runs to its end
            if bot is not None:
                stop(bot)
            if standin is not None:
                standin.close()
            if server is not None:
                stop(server)  # a private server: its keys go with it
            else:
                delete_keys(redis_url, prefix)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["standin"]:
        standin_main(sys.argv[2:])
    else:
        main()
