"""Prometheus metrics of the event bus and the bots, registered once per process.

Every counter and histogram here lives in ``prometheus_client``'s default
registry; the suite's ``/metrics`` and the bot's health port both expose it
(:func:`exposition`), followed by figures gathered at scrape time (lease,
channel states, pending and lag of streams: :mod:`begasist_core.bus.stream_info`,
:mod:`begasist_core.channelbot.health`).

Labels are bounded by the code, never by traffic: a stream is labelled by its
kind (``control``, ``outbound``, ``ingress``, ``events``, ``dead``), not its
name, so these counters do not grow with the fleet; a channel is an installed
plugin's name; an outcome or reason is one of a fixed set. No message id, guest
address or provider id is ever a label. The hotel slug appears only in what a
bot gathers at scrape time about the hotels it serves (bounded by its
``--hotel`` list or its shard), never in the suite's counters, whose series
would otherwise grow with every hotel of the fleet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from begasist_core.plugins.errors import PermanentSendError, ReplyWindowClosed

__all__ = [
    "CONTENT_TYPE",
    "EVENTS_ACKED",
    "EVENTS_CONSUMED",
    "EVENTS_DEAD_LETTERED",
    "EVENTS_PUBLISHED",
    "LEASE_TAKEOVERS",
    "SENDS",
    "SEND_SECONDS",
    "exposition",
    "observe_send",
    "stream_kind",
]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""The ``Content-Type`` of :func:`exposition`'s text (prometheus-client's text format)."""

STREAM_KINDS: Final = frozenset({"control", "outbound", "ingress", "events", "dead"})

LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
"""Seconds, from a local Redis round trip to a slow provider API call."""

EVENTS_PUBLISHED: Final = Counter(
    "begasist_events_published",
    "Events appended to a stream, by stream kind.",
    ["stream"],
)
EVENTS_CONSUMED: Final = Counter(
    "begasist_events_consumed",
    "Stream entries delivered to a handler (redeliveries included), by stream kind and group.",
    ["stream", "group"],
)
EVENTS_ACKED: Final = Counter(
    "begasist_events_acked",
    "Stream entries acknowledged after their handler's effect was durable.",
    ["stream", "group"],
)
EVENTS_DEAD_LETTERED: Final = Counter(
    "begasist_events_dead_lettered",
    "Stream entries buried in a dead-letter stream, by stream kind and reason.",
    ["stream", "reason"],
)
SENDS: Final = Counter(
    "begasist_sends",
    "Outbound messages a bot tried to send, by channel and outcome: sent, refused "
    "(permanent), reply_window_closed, error (retried later), channel_off.",
    ["channel", "outcome"],
)
SEND_SECONDS: Final = Histogram(
    "begasist_send_seconds",
    "Time a channel's send took (the provider's answer included), by channel.",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
LEASE_TAKEOVERS: Final = Counter(
    "begasist_lease_takeovers",
    "Times this process took a hotel's lease (at start, or from a holder that stopped).",
    ["hotel"],
)


def stream_kind(stream: str) -> str:
    """The bounded label of *stream*: its last segment (``begasist:hotel:plaza:outbound``
    is ``outbound``), or ``other``."""
    kind = stream.rpartition(":")[2]
    return kind if kind in STREAM_KINDS else "other"


@contextmanager
def observe_send(channel: str) -> Iterator[None]:
    """Time one ``Channel.send`` and count its outcome by what it raised (if anything)."""
    timer = SEND_SECONDS.labels(channel).time()
    outcome: str | None = None  # None: cancelled, which is no outcome of the send
    try:
        with timer:
            yield
        outcome = "sent"
    except ReplyWindowClosed:
        outcome = "reply_window_closed"
        raise
    except PermanentSendError:
        outcome = "refused"
        raise
    except Exception:
        outcome = "error"
        raise
    finally:
        if outcome is not None:
            SENDS.labels(channel, outcome).inc()


class _Gathered(Collector):
    """Metric families gathered before the scrape (from Redis, asynchronously)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def exposition(gathered: Iterable[Metric] = ()) -> bytes:
    """The process's metrics, then *gathered* (scrape-time families), as Prometheus text.

    *gathered* goes through a registry of its own, so an app or bot that
    stops leaves nothing registered in the process.
    """
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Gathered(gathered))
    return generate_latest(REGISTRY) + generate_latest(extra)
