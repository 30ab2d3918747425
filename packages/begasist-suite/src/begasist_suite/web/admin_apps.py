"""The platform admin's Channel apps pages: for each installed channel with a shared webhook
URL (WhatsApp), its app settings form and the callback URL to give the provider.

The form is generated from the plugin's ``AppSettings`` as a hotel's channel form
is from its ``Settings`` (web/settings_form.py): secrets write-only (set / not
set, Replace, Clear), errors next to their fields. Saving is the API's
``PUT /api/v1/channel-apps/{channel}`` (``apply_app_settings_update``): the form
holds every field, and a secret left blank keeps the stored one.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any, Final

from begasist_core import UnknownChannel
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from pydantic import BaseModel

from begasist_suite.auth.principal import Principal
from begasist_suite.channel_settings import InvalidSettings, apply_app_settings_update
from begasist_suite.services import Services
from begasist_suite.store.records import ChannelApp
from begasist_suite.web.admin_pages import admin_form, admin_page, render_admin
from begasist_suite.web.callers import services_of
from begasist_suite.web.field_errors import field_errors
from begasist_suite.web.i18n import N_
from begasist_suite.web.pages import language_of
from begasist_suite.web.settings_form import SettingsField, form_changes, settings_fields
from begasist_suite.web.views import channel_label

__all__ = ["AdminAppPages", "shared_callback_url"]

log = logging.getLogger(__name__)

ChannelName = Annotated[str, PathParameter(max_length=32)]
SAVED: Final = N_("Saved. The shared callback URL verifies with these settings within seconds.")


def _app_channels(services: Services) -> list[str]:
    """The installed channels with a shared webhook URL, by name."""
    return sorted(
        name
        for name, cls in services.plugins.channels.items()
        if cls.capabilities.shared_webhook and cls.AppSettings is not None
    )


def _app_model(services: Services, channel: str) -> type[BaseModel]:
    """The channel's ``AppSettings`` model; 404 for a channel without a shared URL."""
    try:
        model = services.plugins.channel(channel).AppSettings
    except UnknownChannel:
        model = None
    if model is None:
        raise NotFoundException("not found")
    return model


def shared_callback_url(services: Services, request: Request[Any, Any, Any], channel: str) -> str:
    """The URL the provider's app calls for every hotel (docs/suite.md, "One callback URL")."""
    base = services.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/webhooks/_app/{channel}"


class AdminAppPages(Controller):
    path = "/admin/channel-apps"
    include_in_schema = False

    @get("/")
    async def apps(self, request: Request[Any, Any, Any]) -> Template:
        """The channels whose one provider app serves every hotel."""
        principal = await admin_page(request)
        services = services_of(request)
        current = language_of(request)
        stored = {
            name: await services.store.get_channel_app(name) for name in _app_channels(services)
        }
        return await render_admin(
            request,
            principal,
            "admin_apps.html",
            apps=[
                {"name": name, "label": channel_label(name, current), "saved": app is not None}
                for name, app in stored.items()
            ],
        )

    @get("/{channel:str}")
    async def app(
        self,
        request: Request[Any, Any, Any],
        channel: ChannelName,
        done: Annotated[str | None, QueryParameter(max_length=16)] = None,
    ) -> Template:
        """The channel's app settings form and its shared callback URL."""
        principal = await admin_page(request)
        services = services_of(request)
        model = _app_model(services, channel)
        stored = await services.store.get_channel_app(channel)
        fields = _fields(model, stored, language_of(request).code)
        return await _app_page(request, principal, channel, stored, fields, saved=done == "saved")

    @post("/{channel:str}", status_code=303)
    async def save(self, request: Request[Any, Any, Any], channel: ChannelName) -> Response[Any]:
        """Save the app settings; 422 with the errors next to their fields."""
        principal, form = await admin_form(request)
        services = services_of(request)
        model = _app_model(services, channel)
        stored = await services.store.get_channel_app(channel)
        fields = _fields(model, stored, language_of(request).code)
        changes, posted, unreadable = form_changes(fields, form)
        errors: list[dict[str, Any]] = [
            {"loc": [name], "type": kind} for name, kind in unreadable.items()
        ]
        if not errors:
            try:
                app = apply_app_settings_update(
                    model, channel, changes, stored, services.secret_box
                )
            except InvalidSettings as invalid:
                errors = invalid.errors
            else:
                await services.store.put_channel_app(app)
                log.info("the %s app settings changed", channel)
                return Redirect(f"/admin/channel-apps/{channel}?done=saved", status_code=303)
        return await _app_page(request, principal, channel, stored, posted, errors=errors)


def _fields(
    model: type[BaseModel], stored: ChannelApp | None, language: str
) -> list[SettingsField]:
    values = {} if stored is None else stored.settings
    secrets = {} if stored is None else {name: True for name in stored.secrets}
    return settings_fields(model, values, secrets, language)


async def _app_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    channel: str,
    stored: ChannelApp | None,
    fields: list[SettingsField],
    *,
    errors: list[dict[str, Any]] | None = None,
    saved: bool = False,
) -> Template:
    services = services_of(request)
    current = language_of(request)
    grouped = field_errors(errors or [], [f.name for f in fields], current)
    return await render_admin(
        request,
        principal,
        "admin_app.html",
        status=422 if errors else 200,
        channel=channel,
        label=channel_label(channel, current),
        saved_before=stored is not None,
        fields=[replace(f, errors=tuple(grouped.get(f.name, ()))) for f in fields],
        form_errors=grouped.get("", []),
        choice_labels={},
        callback_url=shared_callback_url(services, request, channel),
        done=current.gettext(SAVED) if saved else None,
    )
