"""Rendering a page: the Jinja environment, the person's language, what every page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import available_timezones

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template
from markupsafe import Markup, escape

from begasist_suite.auth.principal import HotelAccess, Principal
from begasist_suite.services import Services
from begasist_suite.store.records import Hotel, Role, User, hotel_zone
from begasist_suite.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Language, choose_language, language
from begasist_suite.web.security import FORM_COOKIE, new_form_token
from begasist_suite.web.settings_form import help_parts

__all__ = [
    "TEMPLATES_DIR",
    "Chrome",
    "form_cookie",
    "jinja_environment",
    "language_of",
    "load_chrome",
    "local_time",
    "local_time_text",
    "page_zone",
    "render",
    "time_zone_names",
]

TEMPLATES_DIR: Final = Path(__file__).parent / "templates"


@pass_context
def _gettext(context: Context, message: str) -> str:
    current: Language = context["lang"]
    return current.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    current: Language = context["lang"]
    return current.ngettext(singular, plural, count)


@pass_context
def local_time(context: Context, moment: datetime | None, *, zone_name: bool = False) -> Markup:
    """``{{ moment|local_time }}``: a ``<time>`` element showing *moment* in the page's
    hotel zone (``zone``), as the page's language writes it.

    Its ``datetime`` attribute is the exact instant (ISO 8601, UTC) and its title
    names the zone; *zone_name* also writes the zone's abbreviation in the text,
    for times read away from the hotel (token expiries, failures). None shows "—".
    """
    if moment is None:
        return Markup("—")
    zone: tzinfo = context.get("zone") or UTC
    text = local_time_text(context, moment, zone_name=zone_name)
    local = moment.astimezone(zone)
    instant = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        instant, f"{local.isoformat(timespec='minutes')} {zone}", escape(text)
    )


@pass_context
def local_time_text(context: Context, moment: datetime, *, zone_name: bool = False) -> str:
    """As :func:`local_time`, the text alone (for a ``title`` attribute)."""
    current: Language = context["lang"]
    zone: tzinfo = context.get("zone") or UTC
    text = current.date_time(moment, zone)
    if zone_name:
        text = f"{text} {moment.astimezone(zone).tzname() or ''}".rstrip()
    return text


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name the zone database has, sorted (the time zone field's list)."""
    return tuple(sorted(available_timezones()))


def page_zone(chrome: Chrome | None) -> tzinfo:
    """The time zone of a page: its hotel's, else UTC (pages of no hotel)."""
    if chrome is None or chrome.access is None:
        return UTC
    return hotel_zone(chrome.access.hotel)


def jinja_environment() -> Environment:
    """Autoescaping, strict about undefined names, ``{% trans %}`` and ``_()`` per request.

    The gettext callables read the page's ``lang``, so one environment serves
    every language; "newstyle" gettext escapes the values put into a message.
    """
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    environment.globals["help_parts"] = help_parts
    environment.filters["local_time"] = local_time
    environment.filters["local_time_text"] = local_time_text
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )
    return environment


def language_of(request: Request[Any, Any, Any]) -> Language:
    """The person's language: the cookie they chose, else their browser's."""
    return language(
        choose_language(
            request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
        )
    )


@dataclass(frozen=True)
class Chrome:
    """The top bar of a signed-in page: who, which hotel, which other hotels."""

    user: User
    form_token: str
    hotels: tuple[Hotel, ...] = ()
    access: HotelAccess | None = None

    def can(self, role: str) -> bool:
        """Whether the person's role in this page's hotel includes *role* (the menu shows
        only the pages it allows)."""
        return self.access is not None and self.access.role.includes(Role(role))


async def load_chrome(
    services: Services, principal: Principal, access: HotelAccess | None
) -> Chrome:
    """The signed-in person's top bar: their hotels for the switcher (all, for an admin)."""
    user = principal.user
    assert user is not None  # a bot token reaches no page: hotel_access refused it
    if user.platform_admin:
        hotels = await services.store.list_hotels()
    else:
        memberships = await services.store.list_memberships(user_id=user.id)
        hotels = await services.store.list_hotels({m.hotel for m in memberships})
    return Chrome(
        user=user,
        form_token=principal.credential.csrf_token or "",
        hotels=tuple(hotels),
        access=access,
    )


def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    chrome: Chrome | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """*template* in the person's language, with the top bar and a form token.

    Signed out (no *chrome*), forms carry the :data:`FORM_COOKIE` token, set
    here when the browser has none yet.
    """
    cookies: list[Cookie] = []
    form_token = chrome.form_token if chrome is not None else request.cookies.get(FORM_COOKIE)
    if not form_token:
        form_token = new_form_token()
        cookies.append(form_cookie(request, form_token))
    current = language_of(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Template(
        template_name=template,
        context={
            "lang": current,
            "languages": LANGUAGES,
            "form_token": form_token,
            "chrome": chrome,
            "zone": page_zone(chrome),
            "here": path,
            **context,
        },
        status_code=status_code,
        cookies=cookies,
        media_type="text/html",
    )


def form_cookie(request: Request[Any, Any, Any], token: str) -> Cookie:
    services: Services = request.app.state.services
    return Cookie(
        key=FORM_COOKIE,
        value=token,
        httponly=True,
        samesite="strict",
        secure=services.settings.cookie_secure,
        path="/",
    )
