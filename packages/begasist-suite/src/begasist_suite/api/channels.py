"""Channel types from the installed plugins, and each hotel's channel settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from begasist_core import (
    Capabilities,
    ChannelCommand,
    PluginStatus,
    UnknownChannel,
)
from begasist_core.channelbot.settings_source import HotelSettings
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import JSONBody, PathParameter
from pydantic import BaseModel, ConfigDict, Field

from begasist_suite.api.dependencies import AccessDep, PrincipalDep, ServicesDep
from begasist_suite.api.idempotency import IDEMPOTENT, REPLAY_HEADERS, Attempt, IdempotencyDep
from begasist_suite.channel_settings import (
    SettingsView,
    apply_settings_update,
    bot_settings,
    settings_view,
)
from begasist_suite.inbox.outbox import change_settings, queue_command
from begasist_suite.services import Services
from begasist_suite.settings_patch import patched_settings
from begasist_suite.store.records import ChannelConfig, Page, Role

__all__ = [
    "BotController",
    "ChannelSettingsController",
    "ChannelTypesController",
    "patch_channel_config",
    "save_channel_config",
    "send_channel_command",
]

ChannelPath = Annotated[str, PathParameter(max_length=32)]
HotelPath = Annotated[str, PathParameter(max_length=40)]


class ChannelType(BaseModel):
    name: str
    plugin: str
    settings_schema: dict[str, Any]
    """The JSON Schema of the channel's settings; secret fields are ``writeOnly``."""
    capabilities: Capabilities
    app_settings_schema: dict[str, Any] | None = None
    """The JSON Schema of the operator's app settings (``/api/v1/channel-apps``), if any."""


class PluginReport(BaseModel):
    name: str
    status: PluginStatus
    channels: list[str]
    error: str | None = None


class ChannelTypesAnswer(BaseModel):
    channels: list[ChannelType]
    plugins: list[PluginReport]
    """Every plugin found, including quarantined ones and why."""


class CommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    arguments: dict[
        Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=1024)]
    ] = {}


class CommandAnswer(BaseModel):
    event_id: str
    """The ``channel.command`` event's id (derived from the ``Idempotency-Key``, if any)."""


class VersionAnswer(BaseModel):
    version: int


class ChannelTypesController(Controller):
    path = "/api/v1/channel-types"
    tags = ["channels"]

    @get("/")
    async def list_channel_types(
        self, principal: PrincipalDep, services: ServicesDep
    ) -> ChannelTypesAnswer:
        """The channels the installed plugins provide, with settings schemas and capabilities."""
        if principal.user is None:
            raise NotFoundException("not found")
        plugins = services.plugins.plugins
        origin = {channel: info.name for info in plugins for channel in info.channels}
        channels = [
            ChannelType(
                name=name,
                plugin=origin.get(name, name),
                settings_schema=cls.Settings.model_json_schema(),
                capabilities=cls.capabilities,
                app_settings_schema=(
                    None if cls.AppSettings is None else cls.AppSettings.model_json_schema()
                ),
            )
            for name, cls in sorted(services.plugins.channels.items())
        ]
        reports = [
            PluginReport(name=i.name, status=i.status, channels=list(i.channels), error=i.error)
            for i in plugins
        ]
        return ChannelTypesAnswer(channels=channels, plugins=reports)


class ChannelSettingsController(Controller):
    path = "/api/v1/hotels/{hotel:str}/channels"
    tags = ["channels"]

    @get("/")
    async def list_channel_settings(
        self, access: AccessDep, services: ServicesDep
    ) -> Page[SettingsView]:
        """The hotel's channel settings by channel name, as a ``Page`` like every list.

        A hotel has at most one configuration per installed channel type, so
        they all come on one page: ``next_cursor`` is always null.
        """
        access.require(Role.MANAGER)
        configs = await services.store.list_channel_configs(access.hotel.slug)
        views = [settings_view(_model(services, c.channel), c) for c in configs]
        return Page(items=sorted(views, key=lambda view: view.channel))

    @get("/{channel:str}")
    async def get_channel_settings(
        self, channel: ChannelPath, access: AccessDep, services: ServicesDep
    ) -> SettingsView:
        access.require(Role.MANAGER)
        config = await services.store.get_channel_config(access.hotel.slug, channel)
        if config is None:
            raise NotFoundException("not found")
        return settings_view(_model(services, channel), config)

    @put("/{channel:str}")
    async def put_channel_settings(
        self,
        channel: ChannelPath,
        data: JSONBody[dict[str, Any]],
        access: AccessDep,
        services: ServicesDep,
    ) -> SettingsView:
        """Replace the channel's settings, validated by its plugin (422 lists the field errors).

        A full replace: every non-secret field left out takes its default
        (``enabled``, ``mode`` included); to change some fields and keep the
        rest, use PATCH. Secret fields are write-only: leave one out to keep it,
        send ``null`` to clear it. Changing a field that decides where the
        secrets go needs every stored secret sent again (422 ``secret_required``).
        The hotel's config version is bumped and its bot told. 409 when another
        hotel's settings answer to the same key on the channel's shared webhook
        URL (for WhatsApp: the same ``phone_number_id``).
        """
        access.require(Role.MANAGER)
        model = _model(services, channel)
        if model is None:
            raise NotFoundException(f"no channel type {channel!r} is installed")
        hotel = access.hotel.slug

        def update(stored: ChannelConfig | None) -> ChannelConfig:
            return apply_settings_update(
                model,
                hotel,
                channel,
                data,
                stored,
                services.secret_box,
                route_key=services.plugins.channel(channel).route_key,
            )

        return settings_view(model, await save_channel_config(services, hotel, channel, update))

    @patch("/{channel:str}", dependencies=IDEMPOTENT, response_headers=REPLAY_HEADERS)
    async def patch_channel_settings(
        self,
        channel: ChannelPath,
        data: JSONBody[dict[str, Any]],
        access: AccessDep,
        services: ServicesDep,
        idempotency: IdempotencyDep,
    ) -> Response[SettingsView]:
        """Change only the fields sent; every other one keeps its stored value.

        A non-secret field sent (``enabled``, ``mode`` included) is replaced, one
        left out is kept. A secret left out is kept, ``null`` clears it, a string
        replaces it. The result is validated as a PUT is (422 with the field
        errors, and ``secret_required`` when a field that decides where the
        secrets go changes without every stored secret sent again), the config
        version is bumped and the bot told; 409 as for PUT. On a channel not set
        up yet it is a PUT of the body.
        """
        access.require(Role.MANAGER)
        model = _model(services, channel)
        if model is None:
            raise NotFoundException(f"no channel type {channel!r} is installed")
        hotel = access.hotel.slug

        async def change(attempt: Attempt) -> SettingsView:
            return settings_view(model, await patch_channel_config(services, hotel, channel, data))

        return await idempotency.run(change)

    @delete("/{channel:str}", status_code=204)
    async def delete_channel_settings(
        self, channel: ChannelPath, access: AccessDep, services: ServicesDep
    ) -> None:
        access.require(Role.MANAGER)

        async def remove() -> None:
            if not await services.store.delete_channel_config(access.hotel.slug, channel):
                raise NotFoundException("not found")

        await change_settings(services, access.hotel.slug, remove)

    @post(
        "/{channel:str}/commands",
        status_code=202,
        dependencies=IDEMPOTENT,
        response_headers=REPLAY_HEADERS,
    )
    async def send_command(
        self,
        channel: ChannelPath,
        data: JSONBody[CommandBody],
        access: AccessDep,
        services: ServicesDep,
        idempotency: IdempotencyDep,
    ) -> Response[CommandAnswer]:
        """Send an operator's command to the channel in the hotel's bot (``restart``, ...).

        202 once it is stored: the bot gets it through the outbox, even if Redis
        is down at this moment.
        """
        access.require(Role.MANAGER)
        hotel = access.hotel.slug

        async def send(attempt: Attempt) -> CommandAnswer:
            if await services.store.get_channel_config(hotel, channel) is None:
                raise NotFoundException("not found")
            command = ChannelCommand(
                channel=channel, command=data.command, arguments=data.arguments
            )
            event_id = await send_channel_command(
                services, hotel, command, event_id=attempt.derived_id("command")
            )
            return CommandAnswer(event_id=event_id)

        return await idempotency.run(send)


class BotController(Controller):
    """What a hotel's channelbot reads, with that hotel's bot token (or a fleet token)."""

    path = "/api/v1/hotels/{hotel:str}/bot"
    tags = ["bot"]

    @get("/settings")
    async def bot_settings(
        self, hotel: HotelPath, principal: PrincipalDep, services: ServicesDep
    ) -> HotelSettings:
        """The hotel's channel settings with secrets in clear: only for its bot, over TLS."""
        found = await _bot_hotel(hotel, principal, services)
        configs = await services.store.list_channel_configs(hotel)
        return HotelSettings(
            hotel=hotel,
            version=found,
            channels={c.channel: bot_settings(c, services.secret_box) for c in configs},
        )

    @get("/settings/version")
    async def bot_settings_version(
        self, hotel: HotelPath, principal: PrincipalDep, services: ServicesDep
    ) -> VersionAnswer:
        return VersionAnswer(version=await _bot_hotel(hotel, principal, services))


async def _bot_hotel(hotel: str, principal: PrincipalDep, services: ServicesDep) -> int:
    if principal.fleet_bot:
        pass  # a sharded bot: any hotel it was given, as the listing shows it every hotel
    elif principal.bot_hotel is None:
        raise NotAuthorizedException("use the hotel's bot token")
    elif principal.bot_hotel != hotel:
        raise NotFoundException("not found")
    found = await services.store.get_hotel(hotel)
    if found is None:
        raise NotFoundException("not found")
    return found.config_version


def _model(services: ServicesDep, channel: str) -> Any:
    try:
        return services.plugins.channel(channel).Settings
    except UnknownChannel:
        return None


async def save_channel_config(
    services: Services,
    hotel: str,
    channel: str,
    update: Callable[[ChannelConfig | None], ChannelConfig],
) -> ChannelConfig:
    """Store the channel's settings ``update(stored)`` and tell the hotel's bot; the new ones.

    The stored settings are read, replaced, the config version bumped and
    ``config.changed`` queued in the outbox in one transaction where the store
    has them (:func:`~begasist_suite.inbox.outbox.change_settings`), so an
    update built from what it read never overwrites a change made meanwhile.
    Whatever *update* raises (invalid settings) changes nothing. The API's PUT
    and the web app's forms both come through here.
    """

    async def save() -> ChannelConfig:
        stored = await services.store.get_channel_config(hotel, channel)
        return await services.store.put_channel_config(update(stored))

    return await change_settings(services, hotel, save)


async def send_channel_command(
    services: Services, hotel: str, command: ChannelCommand, *, event_id: str | None = None
) -> str:
    """Queue *command* for the hotel's bot in the outbox; the id of its event.

    With a fixed *event_id* (from an ``Idempotency-Key``) a second call queues
    nothing new.
    """
    event = await queue_command(services, hotel, command, event_id=event_id)
    return event.id


async def patch_channel_config(
    services: Services, hotel: str, channel: str, changes: Mapping[str, Any]
) -> ChannelConfig:
    """Apply *changes* (and nothing else) to the stored settings: the API's PATCH and the
    web app's forms.

    Validated and stored as a PUT is (:func:`save_channel_config`: in the same
    transaction as the read it patches). Raises
    :class:`~begasist_suite.channel_settings.InvalidSettings` with the field errors,
    and :class:`~begasist_suite.store.store.Conflict` when another hotel's settings
    answer to the same key on the channel's shared webhook URL.
    """
    plugin = services.plugins.channel(channel)

    def update(stored: ChannelConfig | None) -> ChannelConfig:
        return apply_settings_update(
            plugin.Settings,
            hotel,
            channel,
            patched_settings(plugin.Settings, stored, changes),
            stored,
            services.secret_box,
            route_key=plugin.route_key,
        )

    return await save_channel_config(services, hotel, channel, update)
