"""``GET|POST /webhooks/_app/{channel}``: one provider app's callback URL for many hotels.

Some providers (Meta) allow one callback URL per app, and an operator runs
one app for all their hotels. The channel's ``verify_shared`` checks the
request with the operator's app settings and splits the delivery into parts,
each with a route key; each part goes to the ingress stream of the hotel whose
enabled channel settings answer to that key, as if the provider had called
that hotel's own URL. A part no hotel answers to is dropped with a warning.

The per-hotel route's rules hold: 404 for a channel without app settings, 405,
413 (431), 401 for a bad signature, and nothing enqueued unless verified. The answer
is 200 only once every routed part is in its stream; when a write fails it is
503 and the provider retries the whole delivery: parts written already come
again, which changes nothing (messages are stored once per provider id).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import anyio
from begasist_core import RoutedWebhook, WebhookReceived, WebhookRejected, make_event
from begasist_core.models.names import InvalidName, validate_channel_name
from litestar.types import Receive

from begasist_suite.ingress.batcher import IngressBatcher, IngressUnavailable
from begasist_suite.ingress.requests import (
    BodyTooLarge,
    ClientDisconnected,
    HeadersTooLarge,
    read_webhook_request,
)
from begasist_suite.ingress.settings_cache import WebhookSettingsCache
from begasist_suite.ingress.shared_targets import SharedWebhookTargets
from begasist_suite.services import Services

__all__ = ["SHARED_SEGMENT", "Answer", "serve_shared"]

log = logging.getLogger(__name__)

SHARED_SEGMENT: Final = "_app"
"""The path segment in a hotel's place: no hotel slug starts with ``_``."""

Answer = tuple[int, bytes, str, list[tuple[bytes, bytes]]]
_UNAVAILABLE: Final[Answer] = (503, b"", "text/plain", [(b"retry-after", b"1")])
_NOT_FOUND: Final[Answer] = (404, b"not found", "text/plain", [])


async def serve_shared(scope: Any, receive: Receive, channel: str) -> Answer:
    """The answer to a request for *channel*'s shared URL (module docstring)."""
    try:
        validate_channel_name(channel)
    except (InvalidName, ValueError):
        return _NOT_FOUND
    app = scope["app"]
    targets: SharedWebhookTargets = app.state.shared_webhooks
    try:
        target = await targets.app(channel)
    except Exception:  # the store failing: the provider retries
        log.warning("shared webhook %s: app settings unavailable", channel, exc_info=True)
        return _UNAVAILABLE
    if target is None:
        return _NOT_FOUND
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
        return 400, b"", "text/plain", []
    try:
        shared = target.channel_class.verify_shared(request, target.settings)
    except WebhookRejected as rejected:
        log.info(
            "shared webhook %s refused (%d): %s",
            channel,
            rejected.status_code,
            type(rejected).__name__,
        )
        return rejected.status_code, b"", "text/plain", []
    except Exception:  # a plugin bug on odd input: refuse the request, never answer 5xx
        log.warning("shared webhook %s: the channel's verify_shared failed", channel, exc_info=True)
        return 400, b"", "text/plain", []
    routed: list[tuple[str, RoutedWebhook]] = []
    try:
        for part in shared.parts:
            hotel = await _hotel(app, channel, part)
            if hotel is not None:
                routed.append((hotel, part))
    except Exception:  # the store failing: the provider retries
        log.warning("shared webhook %s: routes unavailable", channel, exc_info=True)
        return _UNAVAILABLE
    if not await _enqueue(app, services, channel, request.method, routed):
        return _UNAVAILABLE
    answer = shared.response
    return answer.status_code, answer.body, answer.media_type, []


async def _hotel(app: Any, channel: str, part: RoutedWebhook) -> str | None:
    """The hotel whose enabled settings answer to *part*'s key; None: dropped, and logged."""
    targets: SharedWebhookTargets = app.state.shared_webhooks
    settings_cache: WebhookSettingsCache = app.state.webhook_settings
    hotel = await targets.hotel_for(channel, part.route_key)
    if hotel is not None:
        target = await settings_cache.target(hotel, channel)
        # A claim outlives settings that no longer name the key (a crash between writes).
        channel_class, settings = target.channel_class, target.settings
        if (
            channel_class is not None
            and settings is not None
            and channel_class.route_key(settings) == part.route_key
        ):
            return hotel
    log.warning(
        "shared webhook %s: no hotel's enabled settings answer to %r; its part is dropped",
        channel,
        part.route_key,
    )
    return None


async def _enqueue(
    app: Any,
    services: Services,
    channel: str,
    method: str,
    routed: list[tuple[str, RoutedWebhook]],
) -> bool:
    """Write every part to its hotel's ingress stream at once; False if any write failed."""
    batcher: IngressBatcher = app.state.ingress_batcher
    failed: list[str] = []

    async def publish(hotel: str, part: RoutedWebhook) -> None:
        event = make_event(
            hotel,
            WebhookReceived(
                channel=channel,
                method=method,
                # The request's signature signs the whole delivery, not this part.
                headers={"content-type": part.content_type},
                body=part.body,
            ),
        )
        try:
            await batcher.publish(services.names.ingress(hotel), event)
        except IngressUnavailable as unavailable:
            log.warning("shared webhook %s for %s not enqueued: %s", channel, hotel, unavailable)
            failed.append(hotel)

    async with anyio.create_task_group() as tasks:
        for hotel, part in routed:
            tasks.start_soon(publish, hotel, part)
    return not failed
