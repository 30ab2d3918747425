"""What the channel pages say: a channel's live state and what it can do, in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from begasist_core import Capabilities, ChannelState

from begasist_suite.api.status import ChannelStatusView
from begasist_suite.web.i18n import Language

__all__ = ["StateView", "capability_lines", "state_view"]

Tone = Literal["ok", "busy", "problem", "off"]


@dataclass(frozen=True)
class StateView:
    """A channel's state for people: a word, how worrying it is, the bot's detail, what to do."""

    word: str
    tone: Tone
    detail: str | None
    advice: str | None
    at: datetime | None
    """When the bot reported it; shown in the hotel's zone by the page."""
    pairing: bool


def state_view(status: ChannelStatusView | None, language: Language) -> StateView:
    """*status* (None: the bot never reported the channel) as the page shows it.

    It is the last state the bot reported: the page says separately when no
    bot is running for the hotel.
    """
    _ = language.gettext
    state = None if status is None or status.state is None else ChannelState(status.state)
    at = None
    if status is not None and status.at is not None:
        at = datetime.fromisoformat(status.at)
    detail = None if status is None else status.detail
    words: dict[ChannelState | None, tuple[str, Tone, str | None]] = {
        None: (_("Waiting for the bot"), "busy", _("The bot has not reported this channel yet.")),
        ChannelState.STARTING: (_("Connecting"), "busy", None),
        ChannelState.RUNNING: (_("Running"), "ok", None),
        ChannelState.PAIRING: (
            _("Waiting to be paired"),
            "busy",
            _(
                "On the hotel's phone, open WhatsApp, then Settings, Linked devices, "
                "Link a device, and scan this code."
            ),
        ),
        ChannelState.BACKOFF: (
            _("Restarting after an error"),
            "problem",
            _("The bot restarts the channel by itself. If this stays, check the settings."),
        ),
        ChannelState.STOPPED: (_("Stopped"), "off", None),
        ChannelState.DISABLED: (_("Disabled"), "off", _("Enable it to receive and send.")),
        ChannelState.MISCONFIGURED: (
            _("Misconfigured"),
            "problem",
            _("The bot cannot start the channel with these settings: correct them below and save."),
        ),
    }
    word, tone, advice = words[state]
    return StateView(
        word=word,
        tone=tone,
        detail=detail,
        advice=advice,
        at=at,
        pairing=state is ChannelState.PAIRING,
    )


def capability_lines(capabilities: Capabilities, language: Language) -> list[str]:
    """What a channel type can do, one plain sentence each."""
    _ = language.gettext
    lines = []
    if capabilities.max_text_length is not None:
        limit = {"count": capabilities.max_text_length}
        if capabilities.text_overflow.value == "split":
            lines.append(
                _("Messages of up to %(count)s characters; longer ones go in parts.") % limit
            )
        else:
            lines.append(_("Messages of up to %(count)s characters.") % limit)
    else:
        lines.append(_("Messages of any length."))
    if capabilities.media_kinds:
        kinds = ", ".join(sorted(_kind(kind.value, language) for kind in capabilities.media_kinds))
        lines.append(_("Sends files: %(kinds)s.") % {"kinds": kinds})
    else:
        lines.append(_("Sends text only."))
    if capabilities.delivery_receipts:
        lines.append(_("Tells when a message was delivered and read."))
    if capabilities.reply_window is not None:
        hours = round(capabilities.reply_window.total_seconds() / 3600)
        window = _("Free text only within %(hours)s hours of the guest's last message.")
        lines.append(window % {"hours": hours})
        if capabilities.templates:
            lines.append(_("After that, only templates the provider approved."))
    if capabilities.threading:
        lines.append(_("Replies refer to the message they answer."))
    if capabilities.webhook_ingress:
        lines.append(_("Receives guests' messages through a webhook address of this hotel."))
    if capabilities.shared_webhook:
        lines.append(
            _("Can share one webhook address among all hotels (set by the platform operator).")
        )
    if capabilities.qr_pairing:
        lines.append(_("Can pair a phone by scanning a QR code."))
    return lines


def _kind(kind: str, language: Language) -> str:
    names = {
        "image": language.gettext("images"),
        "audio": language.gettext("audio"),
        "video": language.gettext("video"),
        "document": language.gettext("documents"),
        "sticker": language.gettext("stickers"),
        "location": language.gettext("locations"),
        "contact": language.gettext("contacts"),
    }
    return names.get(kind, kind)
