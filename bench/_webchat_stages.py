"""Where a staff reply's time went on its way to the guest's socket, and how the times spread.

The bench knows when each reply's API call began (the staff process) and when
its frame was read at the guest's socket (the guest processes), both on the
wall clock. Two stream entries lie between: the hotel's ``outbound`` entry,
written by the suite's outbox relay once the reply is stored, and its
``guests`` entry, written by the bot's ``deliver``. Their ids are Redis's
milliseconds on the same host's clock, so every reply splits into API and
relay, bot, and the suite's hub to the socket (each within a millisecond).
"""

from __future__ import annotations

import json
from typing import Any

from begasist_core import StreamNames
from redis.asyncio import Redis

__all__ = ["pct", "spread", "stages"]


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def spread(values_ms: list[float]) -> str:
    if not values_ms:
        return "none"
    return (
        f"p50 {pct(values_ms, 0.5):.1f} ms  p95 {pct(values_ms, 0.95):.1f} ms  "
        f"p99 {pct(values_ms, 0.99):.1f} ms  max {max(values_ms):.1f} ms"
    )


async def stream_times(redis_url: str, stream: str, text_of: Any) -> dict[str, float]:
    """Reply text -> the time (s) of its entry in *stream* (the entry id's milliseconds)."""
    client = Redis.from_url(redis_url)
    times: dict[str, float] = {}
    try:
        for entry_id, fields in await client.xrange(stream):
            text = text_of(fields)
            if text is not None:
                times.setdefault(text, int(entry_id.split(b"-")[0]) / 1000)
    finally:
        await client.aclose()
    return times


def outbound_text(fields: dict[bytes, bytes]) -> str | None:
    message = json.loads(fields[b"e"]).get("data", {}).get("message", {})
    text: str | None = message.get("text")
    return text


def guest_frame_text(fields: dict[bytes, bytes]) -> str | None:
    text: str | None = json.loads(fields[b"frame"]).get("message", {}).get("text")
    return text


async def stages(
    redis_url: str,
    names: StreamNames,
    hotel: str,
    sent: dict[str, Any],
    arrived: dict[str, list[float]],
) -> None:
    """Print where each reply's time went, by the streams' entry ids (module docs)."""
    published = await stream_times(redis_url, names.outbound(hotel), outbound_text)
    delivered = await stream_times(redis_url, names.guests(hotel, "webchat"), guest_frame_text)
    api, bot, hub = [], [], []
    for text, (began, _) in sent.items():
        if text in published and text in delivered and text in arrived:
            api.append((published[text] - began) * 1000)
            bot.append((delivered[text] - published[text]) * 1000)
            hub.append((arrived[text][0] - delivered[text]) * 1000)
    print(f"  API call -> outbound entry:    {spread(api)}  (API, store, outbox relay)")
    print(f"  outbound -> guests entry:      {spread(bot)}  (the bot reads and sends)")
    print(f"  guests entry -> frame:         {spread(hub)}  (the suite's hub, the socket)")
    print("  (entry ids are whole milliseconds: each stage is +-1 ms)", flush=True)
