"""The suite's Prometheus metrics and its ``/metrics`` route (plain ASGI, before Litestar).

The suite's own figures are registered here; core's (events published,
consumed, acked, dead-lettered: :mod:`begasist_core.metrics`) come from the
same process registry. At scrape time it adds the outbox backlog and the
pending entries and lag of the events stream's groups.

Labels carry no hotel: the suite serves every hotel of the fleet, and a
series per hotel and channel and status would grow with it (10,000 hotels,
each a few channels and statuses, on one target). Per-hotel figures are the
bots' (each serves a bounded set) and the admin's. A channel label is an
installed plugin's name, ``unknown`` for anything else a URL names.

Access: the figures of every hotel are on one page, so it is not public.
With ``BEGASIST_METRICS_TOKEN`` set, a request must carry
``Authorization: Bearer <token>`` (from anywhere); without it, only a
request straight from a loopback or private address is answered, and not
one a reverse proxy relayed (it carries ``Forwarded`` / ``X-Forwarded-For``
/ ``X-Real-IP``): a guest on the internet reaching the suite through the TLS
proxy gets 403.
"""

from __future__ import annotations

import hmac
import inspect
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Final, TypeVar

import anyio
from begasist_core.bus.stream_info import SCRAPE_SECONDS, stream_group_metrics
from begasist_core.metrics import CONTENT_TYPE, LATENCY_BUCKETS, exposition
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from begasist_suite.services import Services

__all__ = [
    "METRICS_PATH",
    "REPLY_WINDOW_REFUSALS",
    "STORE_SECONDS",
    "WEBHOOKS",
    "WEBHOOK_SECONDS",
    "count_webhook",
    "metrics_refusal",
    "serve_metrics",
    "time_operations",
    "webhook_channel_label",
]

log = logging.getLogger(__name__)

METRICS_PATH: Final = "/metrics"
FORWARDING_HEADERS: Final = frozenset({b"forwarded", b"x-forwarded-for", b"x-real-ip"})

WEBHOOKS: Final = Counter(
    "begasist_webhooks",
    "Webhook requests answered, by channel and HTTP status.",
    ["channel", "status"],
)
WEBHOOK_SECONDS: Final = Histogram(
    "begasist_webhook_ingest_seconds",
    "Time from a webhook's arrival to its answer (verified and in the ingress stream).",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
REPLY_WINDOW_REFUSALS: Final = Counter(
    "begasist_reply_window_refusals",
    "Free-text replies refused because the guest's reply window had closed, by channel.",
    ["channel"],
)
STORE_SECONDS: Final = Histogram(
    "begasist_store_operation_seconds",
    "Time the store's public operations take, by operation (a method of Store).",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)

StoreClass = TypeVar("StoreClass", bound=type)


def time_operations(cls: StoreClass) -> StoreClass:
    """Time every public coroutine method of *cls* in :data:`STORE_SECONDS`.

    Applied once to the store class, so every backend and every caller is
    measured the same way. An operation that calls another counts in both.
    """
    for name, member in inspect.getmembers(cls, inspect.iscoroutinefunction):
        if not name.startswith("_"):
            setattr(cls, name, _timed(member, STORE_SECONDS.labels(name)))
    return cls


def _timed(
    operation: Callable[..., Awaitable[Any]], histogram: Histogram
) -> Callable[..., Awaitable[Any]]:
    @wraps(operation)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await operation(*args, **kwargs)
        finally:
            histogram.observe(time.perf_counter() - started)

    return timed


def webhook_channel_label(channel: str, installed: Any) -> str:
    """*channel* if it is an installed channel's name, else ``unknown`` (URLs are anyone's)."""
    return channel if channel in installed else "unknown"


_WEBHOOK_SERIES: dict[tuple[str, int], tuple[Any, Any]] = {}
"""The counter and histogram children per (channel, status): ``labels()`` takes a lock
and validates each time, most of the cost of counting a webhook (bench/metrics_overhead.py).
Bounded like the labels: installed channels times the statuses the ingress answers."""


def count_webhook(channel: str, status: int, seconds: float) -> None:
    """Count one webhook answered with *status* after *seconds* (*channel*: a bounded label)."""
    series = _WEBHOOK_SERIES.get((channel, status))
    if series is None:
        series = WEBHOOKS.labels(channel, str(status)), WEBHOOK_SECONDS.labels(channel)
        _WEBHOOK_SERIES[channel, status] = series
    series[0].inc()
    series[1].observe(seconds)


def metrics_refusal(scope: Scope, token: str | None) -> tuple[int, bytes] | None:
    """Why *scope* may not read the metrics (status and body), or ``None`` if it may."""
    headers = dict(scope.get("headers") or ())
    if token is not None:
        given = headers.get(b"authorization", b"")
        if hmac.compare_digest(given, b"Bearer " + token.encode()):
            return None
        return 401, b"a bearer token is required (BEGASIST_METRICS_TOKEN)\n"
    if FORWARDING_HEADERS & set(headers):
        return 403, b"not through a proxy: set BEGASIST_METRICS_TOKEN to scrape that way\n"
    client = scope.get("client")
    try:
        address = ipaddress.ip_address(client[0]) if client else None
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
    if address is None or not (address.is_loopback or address.is_private):
        return 403, b"only from loopback or a private network without BEGASIST_METRICS_TOKEN\n"
    return None


async def _gathered(services: Services) -> list[Metric]:
    backlog = GaugeMetricFamily(
        "begasist_outbox_backlog",
        "Outbox entries not yet published to Redis (at least this many on Astra past 1,000).",
    )
    oldest = GaugeMetricFamily(
        "begasist_outbox_oldest_age_seconds",
        "How long the first outbox entry in due order has waited (0 when none waits).",
    )
    try:
        with anyio.fail_after(SCRAPE_SECONDS):
            figures = await services.store.outbox_backlog()
    except Exception as error:  # the store away: the scrape still answers
        # DEBUG: /ready reports the store once per change; this runs at every scrape.
        log.debug("metrics: outbox backlog unavailable (%s)", type(error).__name__)
    else:
        backlog.add_metric([], float(figures.pending))
        oldest.add_metric([], figures.oldest_age_seconds or 0.0)
    streams = await stream_group_metrics(services.redis, [services.names.events])
    return [backlog, oldest, *streams]


async def serve_metrics(scope: Any, receive: Receive, send: Send) -> None:
    """``GET /metrics`` for an HTTP *scope* whose ``app`` is the suite (module docstring)."""
    services: Services = scope["app"].state.services
    token = services.settings.metrics_token
    refusal = metrics_refusal(scope, None if token is None else token.get_secret_value())
    if scope["method"] not in ("GET", "HEAD"):
        refusal = (405, b"method not allowed\n")
    if refusal is not None:
        status, body = refusal
        media = "text/plain; charset=utf-8"
        extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
    else:
        status, body, media, extra = 200, exposition(await _gathered(services)), CONTENT_TYPE, []
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", media.encode("latin-1")),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"cache-control", b"no-store"),
            *extra,
        ],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {
        "type": "http.response.body",
        "body": b"" if scope["method"] == "HEAD" else body,
        "more_body": False,
    }
    await send(end)
