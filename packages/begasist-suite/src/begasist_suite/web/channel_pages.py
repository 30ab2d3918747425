"""The Channels pages (managers): the installed types, each channel's settings, state and QR.

Settings are saved through the API's own validation (``apply_settings_update``)
and storage (``save_channel_config``: the outbox tells the bot), changing only
the fields the form holds; commands are queued in the outbox as the API's are
(``send_channel_command``); a channel's state comes from the API's ``hotel_status``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Final

from begasist_core import ChannelCommand, ChannelKeys, ChannelSettings, UnknownChannel
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, PathParameter, QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from begasist_suite.api.channels import CommandBody, send_channel_command
from begasist_suite.api.status import PAIRING_QR_KEY, StatusAnswer, hotel_status
from begasist_suite.auth.principal import HotelAccess, Principal
from begasist_suite.channel_settings import InvalidSettings
from begasist_suite.guest.embed import embed_code
from begasist_suite.services import Services
from begasist_suite.store.records import ChannelConfig, Role
from begasist_suite.store.store import Conflict
from begasist_suite.web.callers import form_access, form_caller, page_access, services_of
from begasist_suite.web.channel_saving import save_channel_changes
from begasist_suite.web.channel_views import capability_lines, state_view
from begasist_suite.web.field_errors import FieldErrors, field_errors
from begasist_suite.web.i18n import N_, Language
from begasist_suite.web.pages import language_of, load_chrome, render
from begasist_suite.web.qr import QR_MEDIA_TYPE, qr_svg, qr_version
from begasist_suite.web.settings_form import SettingsField, form_changes, settings_fields
from begasist_suite.web.views import channel_label

__all__ = ["ChannelPages"]

ChannelName = Annotated[str, PathParameter(max_length=32)]
POLL_SECONDS: Final = 5
"""While a channel pairs, the page fetches itself this often: a QR code changes every 20 s
without any notice on the live socket."""
DONE: Final = {
    "saved": N_("Saved. The hotel's bot restarts the channel with the new settings."),
    "enabled": N_("Enabled. The hotel's bot starts the channel."),
    "disabled": N_("Disabled. The hotel's bot stops the channel; its settings are kept."),
    "restart": N_("Sent: the hotel's bot restarts the channel."),
    "logout": N_("Sent: the hotel's bot unlinks the device and shows a new QR code."),
}
"""What a redirect back after a form says happened (``?done=``)."""
CORE_FIELDS: Final = {
    "mode": (
        N_("Reply mode"),
        N_(
            "How the assistant answers guests on this channel, unless a guest or a "
            "conversation has a mode of its own."
        ),
    ),
}
"""Every channel's own settings (core's ``ChannelSettings``): said in the person's language."""
MODE_LABELS: Final = {
    "automatic": N_("Automatic: the assistant answers by itself"),
    "supervised": N_("Supervised: the assistant drafts, staff approve"),
    "manual": N_("Manual: staff answer, the assistant stays silent"),
}


def _settings_model(services: Services, channel: str) -> type[ChannelSettings]:
    """The installed channel's settings model; 404 for a channel no plugin provides."""
    try:
        model: type[ChannelSettings] = services.plugins.channel(channel).Settings
    except UnknownChannel:
        raise NotFoundException("not found") from None
    return model


class ChannelPages(Controller):
    path = "/hotels/{hotel:str}/channels"
    include_in_schema = False

    @get("/")
    async def channels(self, request: Request[Any, Any, Any], hotel: FromPath[str]) -> Template:
        """The hotel's channels with their states, and every installed channel type."""
        principal, access = await page_access(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        current = language_of(request)
        status = await hotel_status(services, access.hotel.slug)
        configs = {c.channel: c for c in await services.store.list_channel_configs(hotel)}
        states = {view.channel: view for view in status.channels}
        types = [
            {
                "name": name,
                "label": channel_label(name, current),
                "capabilities": capability_lines(cls.capabilities, current),
                "configured": name in configs,
            }
            for name, cls in sorted(services.plugins.channels.items())
        ]
        rows = [
            {
                "name": name,
                "label": channel_label(name, current),
                "enabled": config.settings.get("enabled", True) is not False,
                "state": state_view(states.get(name), current),
            }
            for name, config in sorted(configs.items())
        ]
        return render(
            request,
            "channels.html",
            chrome=await load_chrome(services, principal, access),
            hotel=access.hotel,
            rows=rows,
            types=types,
            bot_online=status.bot_online,
            broken_plugins=[p for p in services.plugins.plugins if p.error],
        )

    @get("/{channel:str}")
    async def channel(
        self,
        request: Request[Any, Any, Any],
        hotel: FromPath[str],
        channel: ChannelName,
        done: Annotated[str | None, QueryParameter(max_length=16)] = None,
    ) -> Template:
        """One channel: its state (and QR while pairing), its settings form, its commands."""
        principal, access = await page_access(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        model = _settings_model(services, channel)
        stored = await services.store.get_channel_config(access.hotel.slug, channel)
        return await _channel_page(
            request,
            principal,
            access,
            channel,
            stored,
            _fields(model, stored, language_of(request)),
            errors={},
            done=done if done in DONE else None,
        )

    @post("/{channel:str}", status_code=303)
    async def save(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], channel: ChannelName
    ) -> Response[Any]:
        """Save the settings form: only its fields change; 422 with the errors by their fields."""
        principal, access, form = await form_caller(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        model = _settings_model(services, channel)
        stored = await services.store.get_channel_config(access.hotel.slug, channel)
        changes, posted, unreadable = form_changes(
            _fields(model, stored, language_of(request)), form
        )
        if unreadable:
            errors = [{"loc": [name], "type": kind} for name, kind in unreadable.items()]
            return await _form_again(request, principal, access, channel, stored, posted, errors)
        caller = (principal, access)
        return await _apply(request, caller, channel, stored, changes, posted, done="saved")

    @post("/{channel:str}/enabled", status_code=303)
    async def set_enabled(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], channel: ChannelName
    ) -> Response[Any]:
        """``enabled=true`` or ``false``: the one setting this form changes."""
        principal, access, form = await form_caller(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        model = _settings_model(services, channel)
        stored = await services.store.get_channel_config(access.hotel.slug, channel)
        if stored is None:
            raise NotFoundException("not found")
        enabled = form.get("enabled") == "true"
        done = "enabled" if enabled else "disabled"
        fields = _fields(model, stored, language_of(request))
        changes = {"enabled": enabled}
        return await _apply(request, (principal, access), channel, stored, changes, fields, done)

    @post("/{channel:str}/commands", status_code=303)
    async def command(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], channel: ChannelName
    ) -> Redirect:
        """Send a command to the channel in the hotel's bot (``restart``, ``logout``)."""
        access, form = await form_access(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        slug = access.hotel.slug
        if await services.store.get_channel_config(slug, channel) is None:
            raise NotFoundException("not found")
        try:
            body = CommandBody(command=str(form.get("command", "")))
        except ValidationError:
            raise ValidationException("no such command") from None
        command = ChannelCommand(channel=channel, command=body.command, arguments={})
        await send_channel_command(services, slug, command)
        done = body.command if body.command in DONE else "restart"
        return Redirect(f"/hotels/{slug}/channels/{channel}?done={done}", status_code=303)

    @get("/{channel:str}/qr.svg")
    async def pairing_qr(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], channel: ChannelName
    ) -> Response[bytes]:
        """The pairing QR code the channel shows now, drawn here; 404 when it shows none."""
        _, access = await page_access(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        keys = ChannelKeys(services.redis, services.names, access.hotel.slug, channel)
        payload = await keys.get(PAIRING_QR_KEY)
        if payload is None:
            raise NotFoundException("not found")
        title = language_of(request).gettext("Pairing QR code")
        return Response(
            qr_svg(payload.decode("utf-8", "replace"), title),
            media_type=QR_MEDIA_TYPE,
            headers={"cache-control": "no-store"},
        )


def _fields(
    model: type[ChannelSettings], stored: ChannelConfig | None, language: Language
) -> list[SettingsField]:
    """The settings form's fields, in *language* where the plugin translates them."""
    values = {} if stored is None else stored.settings
    secrets = {} if stored is None else {name: True for name in stored.secrets}
    return settings_fields(model, values, secrets, language.code)


async def _apply(
    request: Request[Any, Any, Any],
    caller: tuple[Principal, HotelAccess],
    channel: str,
    stored: ChannelConfig | None,
    changes: dict[str, Any],
    posted: list[SettingsField],
    done: str,
) -> Response[Any]:
    """Validate and save *changes* to the stored settings; the form again on an error."""
    principal, access = caller
    slug = access.hotel.slug
    try:
        await save_channel_changes(services_of(request), slug, channel, changes)
    except InvalidSettings as invalid:
        errors = invalid.errors
        return await _form_again(request, principal, access, channel, stored, posted, errors)
    except Conflict:
        # Another hotel answers to the same key on the shared webhook URL (a WhatsApp number).
        taken = [{"loc": [], "type": "route_key_taken"}]
        return await _form_again(
            request, principal, access, channel, stored, posted, taken, status=409
        )
    return Redirect(f"/hotels/{slug}/channels/{channel}?done={done}", status_code=303)


async def _form_again(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: HotelAccess,
    channel: str,
    stored: ChannelConfig | None,
    posted: list[SettingsField],
    errors: list[dict[str, Any]],
    status: int = 422,
) -> Template:
    """The page with what was posted kept and each error next to its field."""
    grouped = field_errors(errors, [f.name for f in posted], language_of(request))
    return await _channel_page(
        request, principal, access, channel, stored, posted, grouped, status=status
    )


async def _channel_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: HotelAccess,
    channel: str,
    stored: ChannelConfig | None,
    fields: list[SettingsField],
    errors: FieldErrors,
    *,
    done: str | None = None,
    status: int = 200,
) -> Template:
    services = services_of(request)
    current = language_of(request)
    cls = services.plugins.channel(channel)
    answer: StatusAnswer = await hotel_status(services, access.hotel.slug)
    found = next((view for view in answer.channels if view.channel == channel), None)
    state = state_view(found, current)
    qr = None if found is None or not state.pairing else found.pairing_qr
    base = f"/hotels/{access.hotel.slug}/channels/{channel}"
    return render(
        request,
        "channel.html",
        chrome=await load_chrome(services, principal, access),
        status_code=status,
        hotel=access.hotel,
        channel=channel,
        label=channel_label(channel, current),
        configured=stored is not None,
        enabled=stored is not None and stored.settings.get("enabled", True) is not False,
        fields=[_shown(f, errors, current) for f in fields],
        choice_labels={value: current.gettext(text) for value, text in MODE_LABELS.items()},
        form_errors=errors.get("", []),
        moving=[f.label for f in fields if f.moves_secrets],
        capabilities=capability_lines(cls.capabilities, current),
        qr_pairing=cls.capabilities.qr_pairing,
        state=state,
        bot_online=answer.bot_online,
        qr_src=None if qr is None else f"{base}/qr.svg?v={qr_version(qr)}",
        poll_seconds=POLL_SECONDS if state.pairing else None,
        done=None if done is None else current.gettext(DONE[done]),
        here=base,
        embed_code=embed_code(
            cls, services.settings.public_url, request.base_url, access.hotel.slug
        ),
    )


def _shown(spec: SettingsField, errors: FieldErrors, language: Language) -> SettingsField:
    """*spec* with its errors, and core's fields labelled in the person's language."""
    spec = replace(spec, errors=tuple(errors.get(spec.name, ())))
    if spec.name in CORE_FIELDS:
        label, help_text = CORE_FIELDS[spec.name]
        spec = replace(spec, label=language.gettext(label), help=language.gettext(help_text))
    return spec
