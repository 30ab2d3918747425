"""The Assistant page (managers): the FAQ per language, the fallback texts, the responder,
the default language, the hotel's time zone, and each channel's reply mode.

Changes go through the API's ``HotelChanges`` validation and the store's
``update_hotel``, as ``PATCH /api/v1/hotels/{hotel}`` does; a channel's mode
through the same partial save as the Channels page (only ``mode`` changes).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Final

from begasist_core import ReplyMode, UnknownChannel
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from begasist_suite.api.hotels import unknown_zone_error
from begasist_suite.auth.principal import HotelAccess, Principal
from begasist_suite.channel_settings import InvalidSettings
from begasist_suite.store.records import Role, is_known_zone
from begasist_suite.store.store import Conflict
from begasist_suite.web.callers import form_caller, page_access, services_of
from begasist_suite.web.channel_pages import MODE_LABELS
from begasist_suite.web.channel_saving import save_channel_changes
from begasist_suite.web.faq_form import (
    LANGUAGE_CODE,
    EntryForm,
    entry_form,
    entry_forms,
    fallback_from_form,
    hotel_languages,
    validated_changes,
)
from begasist_suite.web.field_errors import FieldErrors, field_errors, message_of
from begasist_suite.web.i18n import N_
from begasist_suite.web.pages import language_of, load_chrome, render, time_zone_names
from begasist_suite.web.team_forms import done_message, redirect_done
from begasist_suite.web.views import channel_label

__all__ = ["AssistantPages"]

DONE: Final = {
    "saved": N_("Saved."),
    "faq": N_("The FAQ entry is saved: the assistant answers with it from now on."),
    "removed": N_("The FAQ entry is removed."),
    "mode": N_("The reply mode is saved."),
}


class AssistantPages(Controller):
    path = "/hotels/{hotel:str}/assistant"
    include_in_schema = False

    @get("/")
    async def assistant(
        self,
        request: Request[Any, Any, Any],
        hotel: FromPath[str],
        language: Annotated[str | None, QueryParameter(max_length=3)] = None,
        done: Annotated[str | None, QueryParameter(max_length=16)] = None,
    ) -> Template:
        """The assistant's settings; ``?language=fr`` adds a language to the forms."""
        principal, access = await page_access(request, hotel)
        access.require(Role.MANAGER)
        wanted = [language] if language else []
        return await _page(request, principal, access, wanted=wanted, done=done)

    @post("/", status_code=303)
    async def save_settings(
        self, request: Request[Any, Any, Any], hotel: FromPath[str]
    ) -> Response[Any]:
        """The hotel's name, the responder, the default language, the time zone and the
        fallback texts."""
        principal, access, form = await form_caller(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        responder = str(form.get("responder", ""))
        posted: dict[str, Any] = {
            "responder": responder,
            "default_language": str(form.get("default_language", "")).strip(),
            "fallback": fallback_from_form(form),
        }
        if "timezone" in form:
            posted["timezone"] = str(form.get("timezone", "")).strip()
        if "name" in form:
            posted["name"] = str(form.get("name", "")).strip()
        changes, errors = validated_changes(posted)
        if not errors and responder not in services.plugins.responders:
            errors = [{"loc": ["responder"], "type": "enum"}]
        if not errors and not is_known_zone(changes.get("timezone", "UTC")):
            errors = [unknown_zone_error(changes["timezone"])]
        if errors:
            grouped = field_errors(
                _flattened(errors),
                ["name", "responder", "default_language", "timezone", "fallback"],
                language_of(request),
            )
            return await _page(request, principal, access, settings_errors=grouped, status=422)
        await services.store.update_hotel(access.hotel.slug, **changes)
        return redirect_done(access, "assistant", "saved")

    @post("/faq", status_code=303)
    async def save_entry(
        self, request: Request[Any, Any, Any], hotel: FromPath[str]
    ) -> Response[Any]:
        """Add an entry (``original`` empty) or change the one whose intent was ``original``."""
        principal, access, form = await form_caller(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        posted = entry_form(form)
        faq = [entry.model_dump() for entry in access.hotel.faq]
        position = next(
            (
                i
                for i, entry in enumerate(faq)
                if posted.original and entry["intent"] == posted.original
            ),
            None,
        )
        if posted.original and position is None:
            raise NotFoundException("not found")  # removed meanwhile: nothing to change
        errors: list[dict[str, Any]] = []
        if any(e["intent"] == posted.intent and i != position for i, e in enumerate(faq)):
            errors.append({"loc": ["faq", 0, "intent"], "type": "intent_taken"})
        if position is None:
            position = len(faq)
            faq.append(posted.entry())
        else:
            faq[position] = posted.entry()
        changes, invalid = validated_changes({"faq": faq})
        errors += [e for e in invalid if e["loc"][:2] == ["faq", position]] or invalid
        if errors:
            shown = replace(posted, errors=_entry_errors(errors, request))
            return await _page(request, principal, access, posted=shown, status=422)
        await services.store.update_hotel(access.hotel.slug, **changes)
        return redirect_done(access, "assistant", "faq")

    @post("/faq/remove", status_code=303)
    async def remove_entry(self, request: Request[Any, Any, Any], hotel: FromPath[str]) -> Redirect:
        """Remove the entry with the posted ``intent`` (gone already: nothing to do)."""
        _, access, form = await form_caller(request, hotel)
        access.require(Role.MANAGER)
        intent = form.get("intent")
        kept = [entry for entry in access.hotel.faq if entry.intent != intent]
        if len(kept) != len(access.hotel.faq):
            await services_of(request).store.update_hotel(access.hotel.slug, faq=kept)
        return redirect_done(access, "assistant", "removed")

    @post("/mode", status_code=303)
    async def save_mode(
        self, request: Request[Any, Any, Any], hotel: FromPath[str]
    ) -> Response[Any]:
        """One channel's reply mode (``channel``, ``mode``): only that setting changes."""
        _, access, form = await form_caller(request, hotel)
        access.require(Role.MANAGER)
        services = services_of(request)
        channel = str(form.get("channel", ""))[:32]
        stored = await services.store.get_channel_config(access.hotel.slug, channel)
        try:
            services.plugins.channel(channel)
        except UnknownChannel:
            stored = None
        if stored is None:
            raise NotFoundException("not found")
        try:
            mode = ReplyMode(str(form.get("mode")))
        except ValueError:
            return redirect_done(access, "assistant", "mode")
        try:
            await save_channel_changes(services, access.hotel.slug, channel, {"mode": mode.value})
        except (InvalidSettings, Conflict):
            # The stored settings no longer validate (a plugin upgrade): the channel's own
            # page shows what to correct.
            return Redirect(f"/hotels/{access.hotel.slug}/channels/{channel}", status_code=303)
        return redirect_done(access, "assistant", "mode")


def _flattened(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``fallback.<lang>`` errors located at that field (pydantic says ``fallback, lang``)."""
    flat = []
    for error in errors:
        loc = list(error["loc"])
        if loc[:1] == ["fallback"] and len(loc) > 1:
            loc = [f"fallback.{loc[1]}"]
        flat.append({**error, "loc": loc})
    return flat


def _entry_errors(
    errors: list[dict[str, Any]], request: Request[Any, Any, Any]
) -> dict[str, list[str]]:
    """Errors of one entry by its form's fields: ``intent``, ``keywords.en``, ``answer.es``."""
    current = language_of(request)
    grouped: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(part) for part in error["loc"][2:]]
        if loc[:1] == ["answers"] and len(loc) == 1:
            name, error = "answers", {**error, "type": "no_answer"}
        elif (
            loc[:1] in (["keywords"], ["answers"]) and len(loc) > 1 and LANGUAGE_CODE.match(loc[1])
        ):
            name = ("answer." if loc[0] == "answers" else "keywords.") + loc[1]
        elif loc[:1] == ["intent"]:
            name = "intent"
        else:
            name = ""
        message = message_of(error, current)
        if message not in grouped.setdefault(name, []):
            grouped[name].append(message)
    return grouped


async def _page(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: HotelAccess,
    *,
    wanted: list[str] | None = None,
    posted: EntryForm | None = None,
    settings_errors: FieldErrors | None = None,
    done: str | None = None,
    status: int = 200,
) -> Template:
    services = services_of(request)
    current = language_of(request)
    hotel = access.hotel
    extra = list(wanted or [])
    if posted is not None:
        extra += [*posted.keywords, *posted.answers]
    entries = entry_forms(hotel.faq)
    new_entry = EntryForm(intent="", original="")
    if posted is not None and posted.original:
        entries = [posted if e.original == posted.original else e for e in entries]
    elif posted is not None:
        new_entry = posted
    configs = await services.store.list_channel_configs(hotel.slug)
    return render(
        request,
        "assistant.html",
        chrome=await load_chrome(services, principal, access),
        status_code=status,
        hotel=hotel,
        faq_languages=hotel_languages(hotel, extra),
        entries=entries,
        new_entry=new_entry,
        responders=sorted(services.plugins.responders),
        time_zones=time_zone_names(),
        settings_errors=settings_errors or {},
        modes=[(mode.value, current.gettext(MODE_LABELS[mode.value])) for mode in ReplyMode],
        channels=[
            {
                "name": config.channel,
                "label": channel_label(config.channel, current),
                "mode": config.settings.get("mode", ReplyMode.SUPERVISED.value),
            }
            for config in configs
        ],
        done=done_message(DONE, done, current),
        here=f"/hotels/{hotel.slug}/assistant",
    )
