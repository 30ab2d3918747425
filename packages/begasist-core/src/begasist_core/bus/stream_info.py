"""Pending entries and lag of consumer groups, read at scrape time for Prometheus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import anyio
from prometheus_client.core import GaugeMetricFamily, Metric
from redis.asyncio import Redis

__all__ = ["SCRAPE_SECONDS", "stream_group_metrics"]

SCRAPE_SECONDS: Final = 2.0
"""How long a scrape waits for Redis before it answers without these figures."""


async def stream_group_metrics(redis: Redis, streams: Sequence[str]) -> list[Metric]:
    """``begasist_stream_pending`` and ``begasist_stream_lag`` of every group of *streams*.

    One ``XINFO GROUPS`` per stream, all in one pipelined round trip (no
    transaction), so the cost is bounded by the number of streams the caller
    owns: the suite its events stream, a bot its hotels' three streams. A
    stream that does not exist yet has no groups and is left out. ``lag`` is
    left out where Redis cannot tell it (after deletions: ``nil``). If Redis
    does not answer within :data:`SCRAPE_SECONDS`, or fails, the families
    come back empty and the scrape still answers (``/ready`` says why).
    """
    pending = GaugeMetricFamily(
        "begasist_stream_pending",
        "Entries delivered to a consumer group and not acknowledged yet.",
        labels=["stream", "group"],
    )
    lag = GaugeMetricFamily(
        "begasist_stream_lag",
        "Entries in the stream not yet delivered to the consumer group.",
        labels=["stream", "group"],
    )
    if streams:
        answers: list[Any] = []
        with anyio.move_on_after(SCRAPE_SECONDS):
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for stream in streams:
                        pipe.xinfo_groups(stream)
                    answers = await pipe.execute(raise_on_error=False)
            except Exception:  # Redis away: the gauges are absent, the scrape answers
                answers = []
        for stream, groups in zip(streams, answers, strict=False):
            if isinstance(groups, Exception):
                continue  # no such stream yet
            for group in groups:
                name = _text(group.get("name"))
                pending.add_metric([stream, name], float(group.get("pending") or 0))
                if group.get("lag") is not None:
                    lag.add_metric([stream, name], float(group["lag"]))
    return [pending, lag]


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
