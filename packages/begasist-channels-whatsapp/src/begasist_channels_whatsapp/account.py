"""The account's webhook fields: a guest's marketing opt-out (``user_preferences``), the
account's restrictions and quality (``account_update``, ``phone_number_quality_update``)
and its templates' review, quality and category (``message_template_*``,
``template_category_update``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from begasist_core import GuestIdentity, GuestPreferenceChanged, TemplateStatusChanged
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from begasist_channels_whatsapp.content import SkippedItem, clip

__all__ = [
    "AccountNotice",
    "account_notice",
    "preference_changes",
    "quality_notice",
    "template_change",
]

CHANNEL: Final = "whatsapp"

_ACCOUNT_EVENTS: Final = {
    "ACCOUNT_RESTRICTION": "Meta restricted the account",
    "ACCOUNT_VIOLATION": "Meta found a policy violation on the account",
    "DISABLED_UPDATE": "Meta disabled the account",
    "ACCOUNT_DELETED": "The WhatsApp Business Account was deleted",
    "PARTNER_REMOVED": "The account no longer shares access with this app",
    "VERIFIED_ACCOUNT": "Meta verified the account",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Preference(_Model):
    wa_id: str = Field(min_length=1, max_length=320)
    category: str = ""
    value: str = ""
    detail: str | None = None
    timestamp: AwareDatetime


class PreferencesValue(_Model):
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    user_preferences: list[Preference] = Field(default_factory=list)


class TemplateValue(_Model):
    message_template_name: str
    message_template_language: str
    event: str | None = None
    reason: str | None = None
    new_quality_score: str | None = None
    new_category: str | None = None
    message_template_category: str | None = None


@dataclass(frozen=True)
class AccountNotice:
    """Something operators must see on the channel's state: a restriction, a ban."""

    detail: str


def _slug(value: str | None) -> str | None:
    if not value:
        return None
    slug = "".join(c if c.isalnum() else "_" for c in value.strip().lower()).strip("_")
    return slug[:64] if slug and slug[0].isalpha() else None


def preference_changes(value: dict[str, Any]) -> list[GuestPreferenceChanged]:
    """Each guest's marketing opt-out (``stop``) or opt-in (``resume``) in a change."""
    read = PreferencesValue.model_validate(value)
    names = {
        str(c.get("wa_id")): (c.get("profile") or {}).get("name")
        for c in read.contacts
        if isinstance(c, dict)
    }
    changes = []
    for preference in read.user_preferences:
        if preference.category != "marketing_messages" or preference.value not in {
            "stop",
            "resume",
        }:
            raise SkippedItem(
                f"a preference {preference.category!r} = {preference.value!r} is not read"
            )
        name = names.get(preference.wa_id)
        changes.append(
            GuestPreferenceChanged(
                channel=CHANNEL,
                guest=GuestIdentity(
                    channel=CHANNEL,
                    address=preference.wa_id,
                    display_name=clip(name if isinstance(name, str) else None, 200),
                ),
                topic="marketing",
                opted_out=preference.value == "stop",
                detail=clip(preference.detail, 500),
                at=preference.timestamp,
            )
        )
    return changes


def template_change(value: dict[str, Any], received_at: datetime) -> TemplateStatusChanged:
    """A template's new review status, quality or category, as of *received_at* (Meta's
    template updates carry no time of their own)."""
    read = TemplateValue.model_validate(value)
    return TemplateStatusChanged(
        channel=CHANNEL,
        name=read.message_template_name,
        language=read.message_template_language,
        status=_slug(read.event),
        category=_slug(read.new_category or read.message_template_category),
        quality=_slug(read.new_quality_score),
        reason=clip(read.reason if read.reason and read.reason != "NONE" else None, 1000),
        at=received_at.astimezone(UTC),
    )


def account_notice(value: dict[str, Any]) -> AccountNotice:
    """What an ``account_update`` says about the account, for the channel's state."""
    event = str(value.get("event") or "")
    if event not in _ACCOUNT_EVENTS:
        raise SkippedItem(f"account event {event!r} changes nothing Begasist shows")
    parts = [_ACCOUNT_EVENTS[event]]
    for restriction in value.get("restriction_info") or ():
        if isinstance(restriction, dict):
            what = str(restriction.get("restriction_type") or "").replace("_", " ").lower()
            until = restriction.get("expiration")
            if str(until or "").isdigit():
                until = datetime.fromtimestamp(int(str(until)), UTC).strftime("%Y-%m-%d %H:%M UTC")
            parts.append(f"{what} until {until}" if until else what)
    violation = value.get("violation_info")
    if isinstance(violation, dict) and violation.get("violation_type"):
        parts.append(f"violation: {violation['violation_type']}")
    ban = value.get("ban_info")
    if isinstance(ban, dict) and ban.get("waba_ban_state"):
        states = ban["waba_ban_state"]
        parts.append("ban: " + (", ".join(states) if isinstance(states, list) else str(states)))
    return AccountNotice(detail=clip("; ".join(parts), 2000) or parts[0])


def quality_notice(value: dict[str, Any]) -> AccountNotice:
    """A ``phone_number_quality_update``: the number's quality rating or messaging limit."""
    event = str(value.get("event") or "")
    limit = value.get("current_limit") or value.get("old_limit")
    if not event:
        raise SkippedItem("a quality update without its event")
    detail = f"Meta: phone number quality {event.lower()}"
    if limit:
        detail += f" (messaging limit {limit})"
    return AccountNotice(detail=detail)
