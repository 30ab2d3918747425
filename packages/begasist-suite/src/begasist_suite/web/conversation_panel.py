"""What the conversation page shows beside the thread: the reply window, the reply modes
and the guest's booking.

The reply window: a channel whose ``capabilities.reply_window`` is set sends
free text only that long after the guest's last message in the conversation.
Once it has closed, a channel with ``capabilities.templates`` sends only
provider-approved templates; the page offers those listed in the hotel's
``message_templates`` setting of that channel (the same list shape for any
channel: ``name``, ``language``, ``body_parameters``; docs/suite.md). A channel
without templates cannot write to the guest at all until they write again.

The booking: the ``context.booking`` a channel put on the newest guest message
that has one (an OTA guest's reservation, from the Channex channel).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from begasist_core import Direction, Message, MessageTemplate, ReplyMode
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from begasist_suite.auth.principal import HotelAccess
from begasist_suite.inbox.modes import EffectiveMode, ModeSource, effective_mode
from begasist_suite.inbox.reply_window import channel_capabilities, window_state
from begasist_suite.inbox.template_statuses import MARKETING, TemplateState, template_states
from begasist_suite.services import Services
from begasist_suite.store.records import ConversationRecord, Guest, Role
from begasist_suite.web.i18n import N_, Language

__all__ = [
    "TEMPLATES_SETTING",
    "BookingPanel",
    "ModePanel",
    "ReplyWindow",
    "TemplateChoice",
    "approved_templates",
    "booking_panel",
    "conversation_panel",
    "mode_panel",
    "reply_window",
    "template_message",
]

TEMPLATES_SETTING: Final = "message_templates"
"""The channel setting that lists the hotel's approved templates (docs/suite.md)."""
MODE_WORDS: Final = {
    ReplyMode.AUTOMATIC: N_("Automatic"),
    ReplyMode.SUPERVISED: N_("Supervised"),
    ReplyMode.MANUAL: N_("Manual"),
}
SOURCE_WORDS: Final = {
    ModeSource.CONVERSATION: N_("set for this conversation"),
    ModeSource.GUEST: N_("set for this guest"),
    ModeSource.CHANNEL: N_("the channel's mode"),
}


class TemplateChoice(BaseModel):
    """One approved template as the channel's setting lists it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")]
    language: Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[a-zA-Z_]+$")]
    body_parameters: Annotated[int, Field(ge=0, le=20)] = 0
    category: Annotated[str | None, Field(max_length=64)] = None
    """``marketing``, ``utility``, ``authentication``, when the setting says."""

    @property
    def key(self) -> str:
        """What the picker posts: ``name:language``."""
        return f"{self.name}:{self.language}"


@dataclass(frozen=True)
class ReplyWindow:
    """Whether free text may be sent now, and if not, what may be."""

    closed: bool
    closed_since: str | None = None
    """"3 hours ago", in the page's language; None when open or the guest never wrote."""
    sends_templates: bool = False
    templates: tuple[TemplateChoice, ...] = ()


@dataclass(frozen=True)
class ModePanel:
    """The effective mode, where it comes from, and each level's setting (values)."""

    mode: str
    mode_word: str
    source: str
    source_word: str
    conversation: str | None
    conversation_word: str | None
    guest: str | None
    guest_word: str | None
    channel_word: str
    guest_id: str | None
    can_change: bool
    choices: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class BookingPanel:
    """The reservation a guest wrote about, as the page shows it."""

    source: str
    """Where they booked: "Booking.com"."""
    reservation_id: str | None
    guest_name: str | None
    check_in: str | None
    """In the page's language: "Dec 20, 2026"."""
    check_out: str | None
    nights: int | None


def booking_panel(messages: Iterable[Message], language: Language) -> BookingPanel | None:
    """The booking of the newest guest message among *messages* that names one."""
    newest = max(
        (
            m
            for m in messages
            if m.direction is Direction.INBOUND and m.context and m.context.booking
        ),
        key=lambda m: m.created_at,
        default=None,
    )
    if newest is None or newest.context is None or newest.context.booking is None:
        return None
    booking = newest.context.booking
    nights = (
        (booking.check_out - booking.check_in).days
        if booking.check_in and booking.check_out
        else None
    )
    return BookingPanel(
        source=booking.source_name or booking.source,
        reservation_id=booking.reservation_id,
        guest_name=booking.guest_name,
        check_in=language.day(booking.check_in) if booking.check_in else None,
        check_out=language.day(booking.check_out) if booking.check_out else None,
        nights=nights,
    )


def _templates(settings: Mapping[str, object]) -> tuple[TemplateChoice, ...]:
    """The setting's valid entries (a malformed one is left out, not a broken page)."""
    listed = settings.get(TEMPLATES_SETTING)
    if not isinstance(listed, Sequence) or isinstance(listed, str):
        return ()
    choices = []
    for entry in listed:
        try:
            choices.append(TemplateChoice.model_validate(entry))
        except ValidationError:
            continue
    return tuple(choices)


async def approved_templates(
    services: Services, conversation: ConversationRecord
) -> tuple[TemplateChoice, ...]:
    """The templates the hotel listed for the conversation's channel that may be sent to
    its guest: none for a channel that sends no templates; none the provider last
    rejected, paused or disabled (``template.status``); no ``marketing`` one for a
    guest who opted out of marketing (``guest.preference``)."""
    capabilities = channel_capabilities(services, conversation.channel)
    if capabilities is None or not capabilities.templates:
        return ()
    config = await services.store.get_channel_config(conversation.hotel, conversation.channel)
    if config is None:
        return ()
    listed = _templates(config.settings)
    if not listed:
        return ()
    states = await template_states(services, conversation.hotel, conversation.channel)
    no_marketing = await services.store.opted_out(conversation.hotel, conversation.guest, MARKETING)
    offered = []
    for template in listed:
        state = states.get(template.key, TemplateState())
        category = state.get("category") or (template.category or "").lower()
        if state.sendable and not (no_marketing and category == MARKETING):
            offered.append(template)
    return tuple(offered)


async def reply_window(
    services: Services,
    conversation: ConversationRecord,
    language: Language,
    *,
    now: datetime | None = None,
) -> ReplyWindow:
    """The conversation's reply window now (open for a channel without one), with the
    templates the page offers while it is closed."""
    state = await window_state(services, conversation, now=now)
    if not state.closed:
        return ReplyWindow(closed=False)
    templates = await approved_templates(services, conversation) if state.sends_templates else ()
    return ReplyWindow(
        closed=True,
        closed_since=(
            None
            if state.closed_at is None
            else language.time_since(state.closed_at, now or datetime.now(UTC))
        ),
        sends_templates=state.sends_templates,
        templates=templates,
    )


def template_message(
    templates: Sequence[TemplateChoice], key: str, parameters: Sequence[str]
) -> tuple[MessageTemplate, str] | None:
    """The template *key* of *templates* filled with *parameters*, and its preview text;
    None for a template not listed or a parameter missing."""
    chosen = next((t for t in templates if t.key == key), None)
    if chosen is None or len(parameters) != chosen.body_parameters:
        return None
    if any(not value for value in parameters):
        return None
    components: tuple[dict[str, Any], ...] = ()
    if parameters:
        body = [{"type": "text", "text": value} for value in parameters]
        components = ({"type": "body", "parameters": body},)
    template = MessageTemplate(name=chosen.name, language=chosen.language, components=components)
    preview = f"[{chosen.name}]" + "".join(f" {value}" for value in parameters)
    return template, preview


def mode_panel(
    found: EffectiveMode, guest: Guest | None, access: HotelAccess, language: Language
) -> ModePanel:
    """*found* for the page: managers and owners get the forms, agents the words."""
    _ = language.gettext
    return ModePanel(
        mode=found.mode.value,
        mode_word=_(MODE_WORDS[found.mode]),
        source=found.source.value,
        source_word=_(SOURCE_WORDS[found.source]),
        conversation=None if found.conversation is None else found.conversation.value,
        conversation_word=None if found.conversation is None else _(MODE_WORDS[found.conversation]),
        guest=None if found.guest is None else found.guest.value,
        guest_word=None if found.guest is None else _(MODE_WORDS[found.guest]),
        channel_word=_(MODE_WORDS[found.channel]),
        guest_id=None if guest is None else guest.id,
        can_change=access.role.includes(Role.MANAGER),
        choices=tuple((mode.value, _(MODE_WORDS[mode])) for mode in ReplyMode),
    )


async def conversation_panel(
    services: Services,
    access: HotelAccess,
    conversation: ConversationRecord,
    guest: Guest | None,
    language: Language,
    messages: Iterable[Message] = (),
) -> dict[str, Any]:
    """The conversation page's extra context: ``reply_window``, ``modes`` and ``booking``
    (of *messages*, the thread as shown)."""
    found = await effective_mode(services, conversation, guest)
    return {
        "reply_window": await reply_window(services, conversation, language),
        "modes": mode_panel(found, guest, access, language),
        "booking": booking_panel(messages, language),
    }
