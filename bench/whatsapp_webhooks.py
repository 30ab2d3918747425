"""WhatsApp webhooks verified and parsed per second, on one core.

What the suite does with a Cloud API delivery (``WhatsAppChannel.verify``: the
``X-Hub-Signature-256`` HMAC over the raw body) and what the bot does with it
(``read_webhook``: JSON to normalized ``message.received`` / ``message.status``
events), in one process pinned to one CPU, on bodies shaped like Meta's: a
text message, an image message (metadata only: the download is I/O, not
parsing), a delivery status, and a body batching 10 statuses. Each figure is
the best of ``--rounds`` rounds of ``--seconds`` each.

    hatch run python bench/whatsapp_webhooks.py [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from begasist_channels_whatsapp import WhatsAppChannel, WhatsAppSettings, read_webhook
from begasist_core import WebhookRequest

APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"
SETTINGS = WhatsAppSettings.model_validate(
    {
        "phone_number_id": PHONE_NUMBER_ID,
        "waba_id": "102290129340398",
        "access_token": "bench-access-token",
        "app_secret": APP_SECRET,
        "verify_token": "bench-verify-token",
    }
)


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    metadata = {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                    }
                ],
            }
        ],
    }


def contact(wa_id: str) -> dict[str, Any]:
    return {"profile": {"name": "Sheena Nelson"}, "wa_id": wa_id}


def text_message(n: int) -> dict[str, Any]:
    return envelope(
        {
            "contacts": [contact("16505551234")],
            "messages": [
                {
                    "from": "16505551234",
                    "id": f"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA{n}",
                    "timestamp": "1749416383",
                    "type": "text",
                    "text": {"body": "Hola, ¿el desayuno está incluido en la tarifa?"},
                }
            ],
        }
    )


def image_message(n: int) -> dict[str, Any]:
    return envelope(
        {
            "contacts": [contact("16505551234")],
            "messages": [
                {
                    "from": "16505551234",
                    "id": f"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ3NTRFRTNBQ0Y5RjM1QkM2MgA{n}",
                    "timestamp": "1750090702",
                    "type": "image",
                    "image": {
                        "caption": "The view from room 412",
                        "mime_type": "image/jpeg",
                        "sha256": "S/2t/a6V2H1V3ztq5I9t0u3X4cvkpsX9qHc7d9a6yQo=",
                        "id": "1003383421387256",
                    },
                }
            ],
        }
    )


def status(n: int, wamid: int = 0, kind: str = "delivered") -> dict[str, Any]:
    return {
        "id": f"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RkM1RjVEMzQ2RjdFMjY1NDkA{wamid}",
        "status": kind,
        "timestamp": "1750263773",
        "recipient_id": "16505551234",
        "conversation": {
            "id": "6ceb9d929c1a1b7d5a2c1b1c0b1e5f3d",
            "origin": {"type": "service"},
        },
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "service"},
    }


def one_status(n: int) -> dict[str, Any]:
    return envelope({"statuses": [status(n)]})


def ten_statuses(n: int) -> dict[str, Any]:
    return envelope({"statuses": [status(n, wamid=i) for i in range(10)]})


def signed(body: bytes) -> WebhookRequest:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest(
        method="POST",
        headers={"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"},
        body=body,
    )


def rate(build: Callable[[int], dict[str, Any]], seconds: float) -> tuple[float, int]:
    """Verified and parsed bodies per second, and the events each body gave."""
    # Distinct bodies, as on the wire: built and signed before the clock starts.
    requests = [signed(json.dumps(build(n), separators=(",", ":")).encode()) for n in range(1000)]
    events = len(read_webhook(requests[0].body, hotel="plaza", settings=SETTINGS).events)
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for request in requests:
            WhatsAppChannel.verify(request, SETTINGS)
            read_webhook(request.body, hotel="plaza", settings=SETTINGS)
        done += len(requests)
    return done / (time.perf_counter() - started), events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"python {platform.python_version()}, one core ({os.cpu_count()} on the machine)")
    print(f"{'body':<18}{'webhooks/s':>12}{'us/webhook':>12}{'events/s':>12}")
    for name, build in (
        ("text message", text_message),
        ("image message", image_message),
        ("1 status", one_status),
        ("10 statuses", ten_statuses),
    ):
        best, events = max(rate(build, args.seconds) for _ in range(args.rounds))
        print(f"{name:<18}{best:>12,.0f}{1e6 / best:>12.1f}{best * events:>12,.0f}")


if __name__ == "__main__":
    main()
