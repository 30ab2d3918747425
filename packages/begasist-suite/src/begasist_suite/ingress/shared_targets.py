"""What the shared webhook URL verifies and routes with: app settings, route key -> hotel."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from begasist_core import UnknownChannel
from pydantic import BaseModel, ValidationError

from begasist_suite.channel_settings import app_settings
from begasist_suite.ingress.settings_cache import CACHE_SECONDS
from begasist_suite.ingress.ttl_cache import TtlCache
from begasist_suite.secret_box import UndecryptableSecret
from begasist_suite.services import Services

__all__ = ["ROUTE_SECONDS", "AppTarget", "SharedWebhookTargets"]

log = logging.getLogger(__name__)

ROUTE_SECONDS: Final = 1.0
"""How long a route key's hotel is cached. Shorter than :data:`CACHE_SECONDS`, as the
hotel's own settings are cached that long after it: a number saved in this or another
replica routes within the sum, 3 s."""
_ENTRIES: Final = 10_000


@dataclass(frozen=True, slots=True)
class AppTarget:
    """A channel with a shared URL and the operator's validated app settings for it."""

    channel_class: Any
    settings: BaseModel


class SharedWebhookTargets:
    """Per channel, its :class:`AppTarget` or None (answer 404); per route key, its hotel."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._apps: TtlCache[str, AppTarget | None] = TtlCache(
            seconds=CACHE_SECONDS, entries=_ENTRIES
        )
        self._routes: TtlCache[tuple[str, str], str | None] = TtlCache(
            seconds=ROUTE_SECONDS, entries=_ENTRIES
        )

    async def app(self, channel: str) -> AppTarget | None:
        return await self._apps.get(channel, lambda: self._load_app(channel))

    async def hotel_for(self, channel: str, key: str) -> str | None:
        """The hotel that claimed *key*; check its settings before trusting it (a claim can
        be stale, see ``store/channel_apps.py``)."""
        store = self._services.store
        return await self._routes.get((channel, key), lambda: store.route_owner(channel, key))

    async def _load_app(self, channel: str) -> AppTarget | None:
        try:
            channel_class = self._services.plugins.channel(channel)
        except UnknownChannel:
            return None
        model = channel_class.AppSettings
        if model is None or not channel_class.capabilities.shared_webhook:
            return None
        stored = await self._services.store.get_channel_app(channel)
        if stored is None:
            return None
        try:
            settings = model.model_validate(app_settings(stored, self._services.secret_box))
        except ValidationError:
            return None  # stored settings the installed plugin no longer accepts
        except UndecryptableSecret:
            log.warning(
                "the %s app settings' secrets do not decrypt with BEGASIST_SECRET_KEY; "
                "its shared webhook answers 404 until they are entered again",
                channel,
            )
            return None
        return AppTarget(channel_class, settings)
