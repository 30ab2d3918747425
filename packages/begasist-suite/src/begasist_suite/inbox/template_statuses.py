"""What the provider said last about each of a hotel's message templates (``template.status``),
kept in Redis per hotel and channel, and which templates staff may be offered."""

from __future__ import annotations

from typing import Final

from begasist_core import MessageTemplate, TemplateStatusChanged
from begasist_core.models.names import validate_channel_name

from begasist_suite.services import Services
from begasist_suite.store.documents import iso
from begasist_suite.store.records import ConversationRecord

__all__ = [
    "MARKETING",
    "UNSENDABLE_STATUSES",
    "TemplateState",
    "record_template_status",
    "template_refusal",
    "template_states",
]

MARKETING: Final = "marketing"
"""The opt-out topic, and the template category it blocks."""

UNSENDABLE_STATUSES: Final = frozenset(
    {"rejected", "paused", "disabled", "pending_deletion", "deleted", "in_appeal", "pending"}
)
"""Review statuses under which the provider refuses the template: not offered to staff."""

_ATTRIBUTES: Final = ("status", "category", "quality")

_SET_IF_NEWER: Final = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and current >= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class TemplateState(dict[str, str]):
    """The latest ``status``, ``category`` and ``quality`` known of one template."""

    @property
    def sendable(self) -> bool:
        return self.get("status") not in UNSENDABLE_STATUSES


def _key(services: Services, hotel: str, channel: str) -> str:
    return services.names.hotel_key(hotel, "templates", validate_channel_name(channel))


async def record_template_status(
    services: Services, hotel: str, event: TemplateStatusChanged
) -> None:
    """Keep each attribute the event speaks about, if it is newer than the one kept
    (``"{time}|{value}"``, fixed-width times: one atomic compare per attribute)."""
    key = _key(services, hotel, event.channel)
    for attribute in _ATTRIBUTES:
        value = getattr(event, attribute)
        if value is None:
            continue
        field = f"{event.name}:{event.language}:{attribute}"
        await services.redis.eval(_SET_IF_NEWER, 1, key, field, f"{iso(event.at)}|{value}")


async def template_states(services: Services, hotel: str, channel: str) -> dict[str, TemplateState]:
    """Every template's known state, by ``name:language``."""
    raw = await services.redis.hgetall(_key(services, hotel, channel))
    states: dict[str, TemplateState] = {}
    for field, value in raw.items():
        name = field.decode() if isinstance(field, bytes) else str(field)
        text = value.decode() if isinstance(value, bytes) else str(value)
        template, _, attribute = name.rpartition(":")
        states.setdefault(template, TemplateState())[attribute] = text.split("|", 1)[1]
    return states


async def template_refusal(
    services: Services, conversation: ConversationRecord, template: MessageTemplate
) -> str | None:
    """Why *template* may not go to the conversation's guest now, or None: the provider
    refuses it (its last review status), or it is marketing and the guest opted out
    (its category as the provider last said, else as the hotel's setting lists it)."""
    hotel, channel = conversation.hotel, conversation.channel
    key = f"{template.name}:{template.language}"
    state = (await template_states(services, hotel, channel)).get(key, TemplateState())
    if not state.sendable:
        return f"the template {key} is {state['status']} at the provider"
    category = state.get("category") or await _listed_category(services, conversation, template)
    if category == MARKETING and await services.store.opted_out(
        hotel, conversation.guest, MARKETING
    ):
        return f"the guest stopped marketing messages: the marketing template {key} is refused"
    return None


async def _listed_category(
    services: Services, conversation: ConversationRecord, template: MessageTemplate
) -> str | None:
    config = await services.store.get_channel_config(conversation.hotel, conversation.channel)
    listed = None if config is None else config.settings.get("message_templates")
    for entry in listed if isinstance(listed, list) else ():
        if (
            isinstance(entry, dict)
            and entry.get("name") == template.name
            and entry.get("language") == template.language
        ):
            category = entry.get("category")
            return category.lower() if isinstance(category, str) else None
    return None
