"""The Litestar app factory: routes, dependencies, lifespan (store, Redis, consumer)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from begasist_core import PluginManager
from begasist_core.bus.redis_settings import redis_client as redis_client_for
from begasist_core.bus.replication import ReplicaWait
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.openapi import OpenAPIConfig
from redis.asyncio import Redis

from begasist_suite.api.api_viewer import LocalSwaggerUI, viewer_router
from begasist_suite.api.auth import AuthController, MeController
from begasist_suite.api.channel_apps import ChannelAppController
from begasist_suite.api.channels import (
    BotController,
    ChannelSettingsController,
    ChannelTypesController,
)
from begasist_suite.api.dependencies import DEPENDENCIES
from begasist_suite.api.errors import EXCEPTION_HANDLERS
from begasist_suite.api.fleet import FleetBotController
from begasist_suite.api.guests import GuestController
from begasist_suite.api.health import EVENT_CONSUMER, OUTBOX_RELAY, health, ready
from begasist_suite.api.hotels import HotelController
from begasist_suite.api.inbox import ConversationController, DraftController
from begasist_suite.api.invitations import InvitationController, InvitationLinkController
from begasist_suite.api.json_body import SuiteRequest
from begasist_suite.api.live import live_inbox
from begasist_suite.api.media import MediaController
from begasist_suite.api.openapi import complete_openapi
from begasist_suite.api.status import (
    DeadLetterController,
    StatusController,
    sort_legacy_dead_letters,
)
from begasist_suite.asgi.guard import RequestGuard
from begasist_suite.asgi.server_errors import SERVER_ERROR_HANDLERS, log_websocket_error
from begasist_suite.config import SuiteSettings
from begasist_suite.guest.assets import guest_asset, guest_config
from begasist_suite.guest.clients import OpenSockets
from begasist_suite.guest.hub import GuestHub
from begasist_suite.guest.limits import WindowLimiter
from begasist_suite.guest.media import guest_media
from begasist_suite.guest.pending import UploadSweeper
from begasist_suite.guest.signing import GuestFileSigner
from begasist_suite.guest.socket import guest_socket
from begasist_suite.guest.tokens import VisitorTokens
from begasist_suite.guest.uploads import guest_upload
from begasist_suite.inbox.consumer import build_consumer
from begasist_suite.inbox.email_fallback import EmailFallback
from begasist_suite.inbox.live import LiveUpdates
from begasist_suite.inbox.relay import OutboxRelay
from begasist_suite.ingress.backlog import IngressBacklog
from begasist_suite.ingress.batcher import IngressBatcher
from begasist_suite.ingress.settings_cache import WebhookSettingsCache
from begasist_suite.ingress.shared_targets import SharedWebhookTargets
from begasist_suite.ingress.webhooks import is_webhook_path, serve_webhook
from begasist_suite.metrics import METRICS_PATH, serve_metrics
from begasist_suite.responders import plugin as responder_plugin
from begasist_suite.secret_box import SecretBox, SecretKeyError
from begasist_suite.services import Services
from begasist_suite.store.factory import open_store
from begasist_suite.store.purge import CredentialPurge
from begasist_suite.store.store import Store
from begasist_suite.web import install as install_web_app

__all__ = ["create_app", "load_plugins"]

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"


class SuiteApp(Litestar):
    """The suite's Litestar app, which serves ``/webhooks/...`` before its router.

    Every request first passes the :class:`~begasist_suite.asgi.guard.RequestGuard`
    (header limits, request id, body deadline, 5xx logging). The webhook ingress
    and ``/metrics`` are plain ASGI (``ingress/webhooks.py``, ``metrics.py``):
    handing them the request here skips
    Litestar's middleware stack and router, the larger part of a webhook's cost
    (docs/benchmarks.md). Everything else is Litestar's.
    """

    guard: RequestGuard

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.guard(scope, receive, send, self._route)

    async def _route(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_webhook_path(scope["path"]):
            scope["app"] = self
            await serve_webhook(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == METRICS_PATH:
            scope["app"] = self
            await serve_metrics(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def load_plugins() -> PluginManager:
    """The installed channel plugins (entry points) and the built-in responders."""
    plugins = PluginManager()
    plugins.load_entry_points()
    plugins.register_plugin(responder_plugin, name=responder_plugin.PLUGIN_NAME)
    return plugins


def _guest_sockets(app: Litestar, services: Services) -> None:
    """What ``/guest/{hotel}/{channel}/socket`` works with (:mod:`begasist_suite.guest`)."""
    settings = services.settings
    assert settings.secret_key is not None
    app.state.guest_settings = WebhookSettingsCache(services, capability="guest_socket")
    app.state.visitor_tokens = VisitorTokens(
        settings.secret_key.get_secret_value(),
        max_age_seconds=settings.guest_visitor_token_days * 86_400,
    )
    app.state.guest_file_signer = GuestFileSigner(settings.secret_key.get_secret_value())
    app.state.guest_limiter = WindowLimiter(
        services.redis,
        settings.prefix,
        window_seconds=settings.guest_window_seconds,
        secret_key=settings.secret_key.get_secret_value(),
    )
    app.state.guest_hub = GuestHub(services.redis, services.names)
    app.state.guest_open_sockets = OpenSockets(settings.guest_open_sockets)
    app.state.ingress_backlog = IngressBacklog(services.redis, services.names)


def create_app(
    settings: SuiteSettings | None = None,
    *,
    store: Store | None = None,
    redis: Redis | None = None,
    plugins: PluginManager | None = None,
) -> SuiteApp:
    """The suite's ASGI app; objects given are used (not closed), the rest built from *settings*."""
    settings = settings or SuiteSettings()
    if settings.secret_key is None:
        raise SecretKeyError("set BEGASIST_SECRET_KEY (32+ random characters)")
    secret_box = SecretBox(settings.secret_key.get_secret_value())
    if redis is None and not settings.redis_configured:
        raise ValueError(
            "set BEGASIST_REDIS_URL or BEGASIST_REDIS_SENTINELS "
            "(or run `begasist dev`, which starts its own)"
        )
    own_redis = redis is None
    redis_client = redis if redis is not None else redis_client_for(settings)
    plugin_manager = plugins if plugins is not None else load_plugins()
    channels = ChannelsPlugin(
        backend=RedisChannelsPubSubBackend(
            redis=redis_client, key_prefix=f"{settings.prefix}:live"
        ),
        arbitrary_channels_allowed=True,
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_store = store is None
        opened = store if store is not None else open_store(settings)
        await opened.migrate()
        live = LiveUpdates(channels, settings.prefix, defer=opened.after_commit)
        unwatch = opened.watch_access(live.access_changed)
        services = Services(
            settings=settings,
            store=opened,
            redis=redis_client,
            plugins=plugin_manager,
            secret_box=secret_box,
            live=live,
        )
        relay = app.state.outbox_relay = OutboxRelay(services)
        services.wake_relay = relay.wake
        app.state.services = services
        app.state.webhook_settings = WebhookSettingsCache(services)
        app.state.shared_webhooks = SharedWebhookTargets(services)
        _guest_sockets(app, services)
        batcher = app.state.ingress_batcher = IngressBatcher(
            redis_client,
            backlog=app.state.ingress_backlog,
            backlog_limit=settings.ingress_backlog_limit,
            wait=ReplicaWait.of(settings.redis_wait_replicas, settings.redis_wait_timeout_ms),
        )
        hub: GuestHub = app.state.guest_hub
        try:
            async with anyio.create_task_group() as tasks:
                await tasks.start(live.run)
                await tasks.start(services.running.run, OUTBOX_RELAY, relay.run)
                fallback = app.state.email_fallback = EmailFallback(services)
                await tasks.start(fallback.run)
                await tasks.start(batcher.run)
                tasks.start_soon(sort_legacy_dead_letters, services)
                purge = CredentialPurge(opened, settings.purge_seconds)
                tasks.start_soon(purge.run)
                sweeper = UploadSweeper(
                    settings.media_dir,
                    every_seconds=settings.guest_upload_sweep_seconds,
                    pending_seconds=settings.guest_upload_pending_hours * 3600,
                )
                tasks.start_soon(sweeper.run)
                await tasks.start(hub.run)
                consumer = build_consumer(services) if settings.consumer else None
                if consumer is not None:
                    await tasks.start(services.running.run, EVENT_CONSUMER, consumer.run)
                try:
                    yield
                finally:
                    purge.stop()
                    sweeper.stop()
                    relay.stop()
                    fallback.stop()
                    live.close()
                    batcher.stop()
                    hub.stop()
                    if consumer is not None:
                        consumer.stop()
        finally:
            batcher.abandon()  # a start that failed before the batcher ran
            unwatch()
            if own_store:
                await opened.aclose()
            if own_redis:
                await redis_client.aclose()

    app = SuiteApp(
        route_handlers=[
            health,
            ready,
            AuthController,
            MeController,
            HotelController,
            InvitationController,
            InvitationLinkController,
            ChannelTypesController,
            ChannelSettingsController,
            ChannelAppController,
            BotController,
            FleetBotController,
            ConversationController,
            DraftController,
            GuestController,
            MediaController,
            StatusController,
            DeadLetterController,
            live_inbox,
            guest_socket,
            guest_config,
            guest_upload,
            guest_media,
            guest_asset,
        ],
        dependencies=DEPENDENCIES,
        exception_handlers={**EXCEPTION_HANDLERS, **SERVER_ERROR_HANDLERS},
        after_exception=[log_websocket_error],
        # The process's logging is configured once, redacted (begasist_core.log_redaction);
        # Litestar's own config would replace the root handlers with its unfiltered one.
        logging_config=None,
        request_class=SuiteRequest,
        plugins=[channels],
        on_app_init=[install_web_app],
        lifespan=[lifespan],
        request_max_body_size=settings.api_max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Begasist suite API",
            version=API_VERSION,
            path="/schema",
            # Swagger UI from the suite's own files (no CDN), under a strict CSP.
            render_plugins=[LocalSwaggerUI()],
            openapi_router=viewer_router("/schema"),
        ),
        debug=False,
    )
    app.guard = RequestGuard.from_settings(settings)
    complete_openapi(app)
    return app
