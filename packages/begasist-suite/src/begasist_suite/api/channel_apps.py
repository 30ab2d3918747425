"""The operator's provider apps: the settings a channel's shared webhook URL verifies with."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from begasist_core import UnknownChannel
from litestar import Controller, get, put
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import JSONBody, PathParameter
from pydantic import BaseModel

from begasist_suite.api.dependencies import PrincipalDep, ServicesDep
from begasist_suite.auth.principal import Principal
from begasist_suite.channel_settings import (
    SettingsView,
    apply_app_settings_update,
    settings_view,
)
from begasist_suite.services import Services

__all__ = ["ChannelAppController"]

log = logging.getLogger(__name__)

ChannelPath = Annotated[str, PathParameter(max_length=32)]


class ChannelAppController(Controller):
    """Platform admins only: one app serves every hotel of the operator (docs/suite.md)."""

    path = "/api/v1/channel-apps"
    tags = ["channels"]

    @get("/{channel:str}")
    async def get_channel_app(
        self, channel: ChannelPath, principal: PrincipalDep, services: ServicesDep
    ) -> SettingsView:
        """The channel's app settings, secrets only as set / unset (404 until saved)."""
        model = _app_model(principal, services, channel)
        stored = await services.store.get_channel_app(channel)
        if stored is None:
            raise NotFoundException(f"the {channel} app settings are not set")
        return settings_view(model, stored)

    @put("/{channel:str}")
    async def put_channel_app(
        self,
        channel: ChannelPath,
        data: JSONBody[dict[str, Any]],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> SettingsView:
        """Replace the channel's app settings, validated by its plugin's ``AppSettings``.

        Secret fields are write-only: leave one out to keep it, send ``null`` to
        clear it. ``/webhooks/_app/{channel}`` verifies with them within 2 s.
        """
        model = _app_model(principal, services, channel)
        stored = await services.store.get_channel_app(channel)
        app = apply_app_settings_update(model, channel, data, stored, services.secret_box)
        await services.store.put_channel_app(app)
        log.info("the %s app settings changed", channel)
        return settings_view(model, app)


def _app_model(principal: Principal, services: Services, channel: str) -> type[BaseModel]:
    """The channel's ``AppSettings`` model; 403 for anyone but a platform admin, else 404."""
    if principal.user is None or not principal.user.platform_admin:
        raise PermissionDeniedException("only a platform admin configures provider apps")
    try:
        model = services.plugins.channel(channel).AppSettings
    except UnknownChannel:
        model = None
    if model is None:
        raise NotFoundException(f"no installed channel {channel!r} has a shared webhook URL")
    return model
