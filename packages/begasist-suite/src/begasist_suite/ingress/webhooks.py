"""``GET|POST /webhooks/{hotel}/{channel}``: verify on the raw bytes, enqueue, then answer.

The answer is 200 only after the entry is in the hotel's ingress stream, so a
provider that got 200 can forget the request. Every failure enqueues nothing:
401 for a bad signature, 404 for an unknown hotel or a channel that is not
enabled there, 413 for a body over ``BEGASIST_WEBHOOK_MAX_BODY_BYTES``, 503
when the entry could not be written (queue full, Redis failing): the provider
retries. Stream writes of concurrent requests share a round trip
(:class:`~begasist_suite.ingress.batcher.IngressBatcher`).
"""

from __future__ import annotations

import logging
from typing import Any

from begasist_core import (
    WebhookReceived,
    WebhookRejected,
    WebhookRequest,
    make_event,
)
from begasist_core.models.names import InvalidName, validate_channel_name, validate_hotel_slug
from litestar import Request, Response, route
from litestar.exceptions import NotFoundException

from begasist_suite.ingress.batcher import IngressBatcher, IngressUnavailable
from begasist_suite.ingress.settings_cache import WebhookSettingsCache
from begasist_suite.services import Services

__all__ = ["webhook"]

log = logging.getLogger(__name__)

_DROPPED_HEADERS = frozenset({"cookie", "authorization"})
"""Never forwarded to the bot: a provider does not send them, a browser might."""


@route(
    "/webhooks/{hotel:str}/{channel:str}",
    http_method=["GET", "POST"],
    tags=["webhooks"],
    include_in_schema=True,
)
async def webhook(request: Request[Any, Any, Any]) -> Response[bytes]:
    """A provider's webhook for one hotel's channel (verification handshake or delivery)."""
    # Path parameters and services read by hand, not injected: this is the hottest
    # route, and Litestar's signature parsing and DI cost ~15% of its CPU.
    hotel: str = request.path_params["hotel"]
    channel: str = request.path_params["channel"]
    try:
        validate_hotel_slug(hotel)
        validate_channel_name(channel)
    except (InvalidName, ValueError):
        raise NotFoundException("not found") from None
    cache: WebhookSettingsCache = request.app.state.webhook_settings
    target = await cache.target(hotel, channel)
    if target.channel_class is None or target.settings is None:
        raise NotFoundException("not found")
    body = await request.body()  # raises 413 past the route's body limit; nothing is kept
    headers = {k: v for k, v in request.headers.items() if k not in _DROPPED_HEADERS}
    query = {k: str(v) for k, v in request.query_params.items()}
    method = request.method
    verified = WebhookRequest(method=method, headers=headers, query=query, body=body)
    try:
        answer = target.channel_class.verify(verified, target.settings)
    except WebhookRejected as rejected:
        log.info(
            "webhook %s/%s refused (%d): %s",
            hotel,
            channel,
            rejected.status_code,
            type(rejected).__name__,
        )
        return Response(b"", status_code=rejected.status_code, media_type="text/plain")
    except Exception:  # a plugin bug on odd input: refuse the request, never answer 5xx
        log.warning("webhook %s/%s: the channel's verify failed", hotel, channel, exc_info=True)
        return Response(b"", status_code=400, media_type="text/plain")
    if answer.enqueue:
        services: Services = request.app.state.services
        event = make_event(
            hotel,
            WebhookReceived(
                channel=channel, method=method, headers=headers, query=query, body=body
            ),
        )
        batcher: IngressBatcher = request.app.state.ingress_batcher
        try:
            await batcher.publish(services.names.ingress(hotel), event)
        except IngressUnavailable as unavailable:
            log.warning("webhook %s/%s not enqueued: %s", hotel, channel, unavailable)
            return Response(b"", status_code=503, media_type="text/plain")
    return Response(answer.body, status_code=answer.status_code, media_type=answer.media_type)
