"""Email inbound latency: IMAP APPEND on the server to ``message.received`` on the stream.

A real Dovecot (started as the tests start it: ``tests/channels/email/dovecot.py``,
Debian's dovecot-imapd on free ports, TLS from a throwaway CA), the real
``EmailChannel`` with IDLE on a real Redis, and this process appending one
message at a time over its own persistent IMAP connection (as an MTA's
delivery lands in the mailbox). Latency = from just before the APPEND command
is sent (so the APPEND round trip is included) to the moment the event is read
from the events stream (a blocking XREAD). ``--messages`` are measured after
``--warmup`` ones, with ``--gap`` seconds between them so IDLE is entered again
each time, as for mail arriving one by one.

    hatch run python bench/email_latency.py [--messages 200] [--gap 0.05]
"""

from __future__ import annotations

import argparse
import imaplib
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import anyio

# The Dovecot machinery is the tests': run from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from begasist_channels_email import EmailChannel, EmailSettings
from begasist_core import (
    ChannelContext,
    FileMediaStore,
    Publisher,
    StreamNames,
    redis_from_url,
)

from tests.channels.email.dovecot import DovecotServer


def mail(n: int) -> bytes:
    return (
        f"From: Guest {n} <guest{n}@example.com>\r\n"
        "To: reservas@plaza.example\r\n"
        f"Subject: Question {n}\r\n"
        f"Message-ID: <bench-{n}-{uuid.uuid4().hex}@example.com>\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello, is breakfast included? ({n})\r\n"
    ).encode()


async def measure(messages: int, warmup: int, gap: float, redis_url: str) -> list[float]:
    with DovecotServer() as dovecot, tempfile.TemporaryDirectory() as media_dir:
        account = dovecot.new_account()
        settings = EmailSettings.model_validate(
            {
                "address": "reservas@plaza.example",
                "imap_host": dovecot.host,
                "imap_port": dovecot.tls_port,
                "imap_user": account.user,
                "imap_password": account.password,
                "smtp_host": "smtp.invalid",
                "smtp_user": account.user,
                "smtp_password": "unused",
                "tls_ca_pem": dovecot.ca_pem,
            }
        )
        redis = redis_from_url(redis_url)
        names = StreamNames(prefix=f"bench-email-{uuid.uuid4().hex[:8]}")
        context: ChannelContext[EmailSettings] = ChannelContext(
            hotel="plaza",
            channel="email",
            settings=settings,
            redis=redis,
            publisher=Publisher(redis),
            names=names,
            media=FileMediaStore(Path(media_dir)),
        )
        appender = imaplib.IMAP4_SSL(
            dovecot.host, dovecot.tls_port, ssl_context=dovecot.client_ssl_context()
        )
        appender.login(account.user, account.password)
        latencies: list[float] = []
        try:
            async with anyio.create_task_group() as running:
                running.start_soon(EmailChannel(context).run)
                last_id = "0-0"
                for n in range(warmup + messages):
                    await anyio.sleep(gap)
                    started = time.perf_counter()
                    await anyio.to_thread.run_sync(appender.append, "INBOX", "", None, mail(n))
                    with anyio.fail_after(30):
                        while True:
                            answer = await redis.xread({names.events: last_id}, block=1000)
                            if answer:
                                last_id = answer[0][1][-1][0]
                                break
                    if n >= warmup:
                        latencies.append(time.perf_counter() - started)
                running.cancel_scope.cancel()
        finally:
            appender.logout()
            keys = [key async for key in redis.scan_iter(f"{names.prefix}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
        return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--gap", type=float, default=0.05)
    parser.add_argument(
        "--redis-url", default=os.environ.get("BEGASIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    latencies = anyio.run(measure, args.messages, args.warmup, args.gap, args.redis_url)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{len(latencies)} messages, one at a time, IDLE (APPEND to message.received):")
    print(
        f"  p50 {pct(0.50):.1f} ms  p95 {pct(0.95):.1f} ms  p99 {pct(0.99):.1f} ms  "
        f"max {ordered[-1] * 1000:.1f} ms  mean {statistics.mean(latencies) * 1000:.1f} ms"
    )
    print(f"  target p95 <= 2 s: {'met' if pct(0.95) <= 2000 else 'NOT met'}")


if __name__ == "__main__":
    main()
