"""``GET|POST /webhooks/{hotel}/{channel}``: verify on the raw bytes, enqueue, then answer.

The answer is 200 only after the entry is in the hotel's ingress stream, so a
provider that got 200 can forget the request. Every failure enqueues nothing:
401 for a bad signature, 404 for an unknown hotel or a channel that is not
enabled there, 405 for other methods, 413 when headers, query and body
together are over ``BEGASIST_WEBHOOK_MAX_BODY_BYTES`` (431 when headers and
query alone are), 503 when the entry could not be written (queue full, Redis
failing): the provider retries. Header counts and sizes are capped for every
route before this runs (:mod:`begasist_suite.asgi.guard`). Stream writes of concurrent
requests share a round trip (:class:`~begasist_suite.ingress.batcher.IngressBatcher`).

It is plain ASGI that the suite's app hands ``/webhooks/...`` to before
Litestar's router and middleware (:class:`begasist_suite.app.SuiteApp`), not a
Litestar route: it is the hottest path of the suite and needs none of the
framework's routing, request parsing, dependency injection or serialisation,
which cost more than the work itself.
``/webhooks/_app/{channel}`` is the channel's shared URL, for one provider app
serving many hotels (:mod:`begasist_suite.ingress.shared`; no hotel slug starts
with ``_``).
Providers call it, not API clients, so it is documented in docs/suite.md
rather than in the OpenAPI document.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from begasist_core import WebhookReceived, WebhookRejected, make_event
from begasist_core.models.names import InvalidName, validate_channel_name, validate_hotel_slug
from litestar.types import HTTPResponseStartEvent, Receive, Scope, Send

from begasist_suite.ingress.batcher import IngressBatcher, IngressUnavailable
from begasist_suite.ingress.requests import (
    BodyTooLarge,
    ClientDisconnected,
    HeadersTooLarge,
    read_webhook_request,
)
from begasist_suite.ingress.settings_cache import WebhookSettingsCache
from begasist_suite.ingress.shared import SHARED_SEGMENT, serve_shared
from begasist_suite.metrics import count_webhook, webhook_channel_label
from begasist_suite.services import Services

__all__ = ["WEBHOOK_PATH", "is_webhook_path", "serve_webhook"]

log = logging.getLogger(__name__)

WEBHOOK_PATH: Final = "/webhooks"
_METHODS: Final = frozenset({"GET", "POST"})


def is_webhook_path(path: str) -> bool:
    return path == WEBHOOK_PATH or path.startswith(WEBHOOK_PATH + "/")


async def serve_webhook(scope: Scope, receive: Receive, send: Send) -> None:
    """The webhook ingress for an HTTP *scope* whose ``app`` is the suite (module docstring)."""
    started = time.perf_counter()
    status, body, media_type, extra = await _handle(scope, receive)
    channel = webhook_channel_label(
        scope["path"].rstrip("/").rpartition("/")[2], scope["app"].state.services.plugins.channels
    )
    count_webhook(channel, status, time.perf_counter() - started)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", media_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode("ascii")),
        *extra,
    ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _handle(
    scope: Any, receive: Receive
) -> tuple[int, bytes, str, list[tuple[bytes, bytes]]]:
    parts = scope["path"][len(WEBHOOK_PATH) :].strip("/").split("/")
    if len(parts) != 2:
        return 404, b"not found", "text/plain", []
    hotel, channel = parts
    method = scope["method"]
    if method not in _METHODS:
        return 405, b"method not allowed", "text/plain", [(b"allow", b"GET, POST")]
    if hotel == SHARED_SEGMENT:
        return await serve_shared(scope, receive, channel)
    try:
        validate_hotel_slug(hotel)
        validate_channel_name(channel)
    except (InvalidName, ValueError):
        return 404, b"not found", "text/plain", []
    app = scope["app"]
    cache: WebhookSettingsCache = app.state.webhook_settings
    try:
        target = await cache.target(hotel, channel)
    except Exception:  # the store failing (locked, unreachable): the provider retries
        log.warning("webhook %s/%s: settings unavailable", hotel, channel, exc_info=True)
        return 503, b"", "text/plain", [(b"retry-after", b"1")]
    if target.channel_class is None or target.settings is None:
        return 404, b"not found", "text/plain", []
    services: Services = app.state.services
    try:
        request = await read_webhook_request(
            scope, receive, services.settings.webhook_max_body_bytes
        )
    except BodyTooLarge:
        return 413, b"request entity too large", "text/plain", []
    except HeadersTooLarge:
        return 431, b"request header fields too large", "text/plain", []
    except ClientDisconnected:
        return 400, b"", "text/plain", []  # nobody is left to read it; nothing is enqueued
    try:
        answer = target.channel_class.verify(request, target.settings)
    except WebhookRejected as rejected:
        log.info(
            "webhook %s/%s refused (%d): %s",
            hotel,
            channel,
            rejected.status_code,
            type(rejected).__name__,
        )
        return rejected.status_code, b"", "text/plain", []
    except Exception:  # a plugin bug on odd input: refuse the request, never answer 5xx
        log.warning("webhook %s/%s: the channel's verify failed", hotel, channel, exc_info=True)
        return 400, b"", "text/plain", []
    if answer.enqueue:
        event = make_event(
            hotel,
            WebhookReceived(
                channel=channel,
                method=method,
                headers=request.headers,
                query=request.query,
                body=request.body,
            ),
        )
        batcher: IngressBatcher = app.state.ingress_batcher
        try:
            await batcher.publish(services.names.ingress(hotel), event)
        except IngressUnavailable as unavailable:
            log.warning("webhook %s/%s not enqueued: %s", hotel, channel, unavailable)
            return 503, b"", "text/plain", [(b"retry-after", b"1")]
    return answer.status_code, answer.body, answer.media_type, []
