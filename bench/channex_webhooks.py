"""Channex webhooks verified and parsed per second, on one core, beside ``json.loads``.

What the suite does with a Channex ``message`` delivery
(``ChannexChannel.verify``: the ``X-Begasist-Webhook-Secret`` header compared in
constant time) and the CPU part of what the bot does with it (``read_delivery``:
the body into its pydantic model, then ``received``: the guest message with its
booking context as a ``message.received``), in one process pinned to one CPU,
on 1,000 distinct bodies shaped like Channex's (the stand-in's
``guest_writes``). The booking is read once beforehand: the bot's ``GET
/bookings/{id}`` is I/O, not parsing (the catch-up bench has the I/O). The
baseline, measured in the same run on the same bodies, is ``json.loads`` alone.
Each figure is the best of ``--rounds`` rounds of ``--seconds`` each.

    hatch run python bench/channex_webhooks.py [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import date

from begasist_channels_channex import SECRET_HEADER, ChannexChannel, ChannexSettings
from begasist_channels_channex.api import ChannexBooking
from begasist_channels_channex.inbound import received
from begasist_channels_channex.webhook import read_delivery
from begasist_core import WebhookRequest

PROPERTY_ID = "716305c4-561a-4561-a187-7f5b8aeb5920"
BOOKING_ID = "b4671a17-4440-4da4-9c72-f6afa2d61908"
WEBHOOK_SECRET = "bench-channex-webhook-secret"
SETTINGS = ChannexSettings.model_validate(
    {"api_key": "k", "property_id": PROPERTY_ID, "webhook_secret": WEBHOOK_SECRET}
)
BOOKING = ChannexBooking.model_validate(
    {
        "id": BOOKING_ID,
        "property_id": PROPERTY_ID,
        "ota_name": "Booking.com",
        "ota_reservation_code": "4001234567",
        "arrival_date": date(2026, 12, 20),
        "departure_date": date(2026, 12, 23),
        "customer": {"name": "Ana", "surname": "García"},
    }
)
TEXTS = {
    "short message": "¿A qué hora es el check-in?",
    "long message": "Buenas tardes, llegaremos hacia las 23:30 por un retraso del vuelo. " * 12,
}


def body(n: int, text: str) -> bytes:
    """A ``message`` webhook body as Channex sends it (docs.channex.io: Webhook Collection)."""
    message_id = f"00000000-0000-4000-8000-{n:012d}"
    return json.dumps(
        {
            "event": "message",
            "payload": {
                "booking_id": BOOKING_ID,
                "have_attachment": False,
                "attachments": [],
                "id": message_id,
                "message": text,
                "message_thread_id": f"thread-{BOOKING_ID}",
                "ota_message_id": f"ota-{message_id}",
            },
            "property_id": PROPERTY_ID,
            "user_id": None,
            "timestamp": "2026-12-08T00:05:21.000000Z",
        }
    ).encode()


def verify_and_parse(request: WebhookRequest) -> None:
    ChannexChannel.verify(request, SETTINGS)
    delivery = read_delivery(request.body)
    item = delivery.message()
    assert item is not None
    received(item, BOOKING, hotel="plaza", channel="channex", at=delivery.timestamp)


def json_only(request: WebhookRequest) -> None:
    json.loads(request.body)


def rate(work: Callable[[WebhookRequest], None], text: str, seconds: float) -> float:
    """Bodies handled per second by *work*."""
    # Distinct bodies, as on the wire: built before the clock starts.
    headers = {"content-type": "application/json", SECRET_HEADER: WEBHOOK_SECRET}
    requests = [
        WebhookRequest(method="POST", headers=headers, body=body(n, text)) for n in range(1000)
    ]
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for request in requests:
            work(request)
        done += len(requests)
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"python {platform.python_version()}, one core ({os.cpu_count()} on the machine)")
    print(f"{'body':<16}{'bytes':>7}{'what':>22}{'webhooks/s':>12}{'us/webhook':>12}")
    for name, text in TEXTS.items():
        size = len(body(0, text))
        for what, work in (
            ("json.loads (baseline)", json_only),
            ("verify + parse", verify_and_parse),
        ):
            best = max(rate(work, text, args.seconds) for _ in range(args.rounds))
            print(f"{name:<16}{size:>7}{what:>22}{best:>12,.0f}{1e6 / best:>12.1f}")


if __name__ == "__main__":
    main()
