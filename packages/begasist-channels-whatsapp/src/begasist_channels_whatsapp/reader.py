"""A Cloud API webhook body read into normalized events, with a reason for each item skipped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

from begasist_core import (
    DeliveryStatus,
    Direction,
    GuestIdentity,
    GuestPreferenceChanged,
    InboundPayload,
    Message,
    MessageChanged,
    MessageContext,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
    ParseError,
    TemplateStatusChanged,
)
from pydantic import ValidationError

from begasist_channels_whatsapp.account import (
    AccountNotice,
    account_notice,
    preference_changes,
    quality_notice,
    template_change,
)
from begasist_channels_whatsapp.changes import CHANGE_TYPES, change_of
from begasist_channels_whatsapp.content import Content, SkippedItem, clip, content_of
from begasist_channels_whatsapp.payload import (
    EchoesValue,
    Envelope,
    InboundMessage,
    MessagesValue,
    StatusUpdate,
)
from begasist_channels_whatsapp.reconcile import ReportedPart, reported_part
from begasist_channels_whatsapp.settings import WhatsAppSettings

__all__ = ["WebhookContents", "read_webhook"]

CHANNEL: Final = "whatsapp"

_STATUSES: Final = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    # A voice note listened to: read, as far as the hotel is concerned.
    "played": DeliveryStatus.READ,
    # A failure is a flag on the furthest step known: the Cloud API accepted the message.
    "failed": DeliveryStatus.SENT,
}


@dataclass
class WebhookContents:
    """The events of one delivery, and why each item that is not an event was skipped."""

    events: list[InboundPayload] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things kept but worth a log line (the reasons behind a placeholder)."""
    reported_parts: list[ReportedPart] = field(default_factory=list)
    """Parts of Begasist's sends that statuses named by their callback data."""
    notices: list[AccountNotice] = field(default_factory=list)
    """What the account's updates say, for the channel's state (``account.py``)."""


def _summary(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
        for item in error.errors(include_url=False)[:3]
    )


def read_webhook(
    body: bytes, *, hotel: str, settings: WhatsAppSettings, received_at: datetime | None = None
) -> WebhookContents:
    """The events in a delivery; ParseError (only) for a body that is not a webhook at all.

    *received_at*: when the delivery came (the time of updates that carry none).
    """
    try:
        envelope = Envelope.model_validate_json(body)
    except ValidationError as error:
        raise ParseError(f"not a WhatsApp webhook body: {_summary(error)}") from None
    contents = WebhookContents()
    reader = _Reader(hotel, settings, contents, received_at or datetime.now(UTC))
    for entry in envelope.entry:
        for number, change in enumerate(entry.changes):
            where = f"entry {entry.id or '?'} change {number}"
            if change.field in _ACCOUNT_FIELDS and entry.id != settings.waba_id:
                contents.skipped.append(
                    f"{where}: for account {entry.id!r}, not this channel's {settings.waba_id!r}"
                )
                continue
            read = _FIELDS.get(change.field)
            if read is None:
                contents.skipped.append(f"{where}: field {change.field!r} is not read")
                continue
            try:
                read(reader, where, change.value)
            except ValidationError as error:
                contents.skipped.append(f"{where}: unreadable value: {_summary(error)}")
    return contents


def _read_messages(reader: _Reader, where: str, value: dict[str, Any]) -> None:
    reader.read_value(where, MessagesValue.model_validate(value))


def _read_echoes(reader: _Reader, where: str, value: dict[str, Any]) -> None:
    reader.read_echoes(where, EchoesValue.model_validate(value))


def _read_preferences(reader: _Reader, where: str, value: dict[str, Any]) -> None:
    if reader.ours(where, MessagesValue.model_validate(value)):
        reader.item(where, partial(preference_changes, value))


def _read_template(reader: _Reader, where: str, value: dict[str, Any]) -> None:
    reader.item(where, partial(template_change, value, reader.received_at))


def _read_notice(read: Callable[[dict[str, Any]], AccountNotice]) -> _FieldReader:
    def notice(reader: _Reader, where: str, value: dict[str, Any]) -> None:
        try:
            reader.contents.notices.append(read(value))
        except SkippedItem as skipped:
            reader.contents.skipped.append(f"{where}: {skipped}")

    return notice


_FieldReader = Callable[["_Reader", str, dict[str, Any]], None]

_FIELDS: Final[dict[str, _FieldReader]] = {
    "messages": _read_messages,
    "smb_message_echoes": _read_echoes,
    "user_preferences": _read_preferences,
    "message_template_status_update": _read_template,
    "message_template_quality_update": _read_template,
    "template_category_update": _read_template,
    "account_update": _read_notice(account_notice),
    "phone_number_quality_update": _read_notice(quality_notice),
}
"""The webhook fields read, by name; any other is skipped with its name."""

_ACCOUNT_FIELDS: Final = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
        "account_update",
        "phone_number_quality_update",
    }
)
"""Fields of the whole WhatsApp Business Account (the entry's id), not of one number."""


class _Reader:
    def __init__(
        self,
        hotel: str,
        settings: WhatsAppSettings,
        contents: WebhookContents,
        received_at: datetime,
    ) -> None:
        self.received_at = received_at
        self.hotel = hotel
        self.settings = settings
        self.contents = contents
        self.seen: set[tuple[str, ...]] = set()

    def ours(self, where: str, value: MessagesValue | EchoesValue) -> bool:
        number = value.metadata.phone_number_id if value.metadata else None
        if number != self.settings.phone_number_id:
            self.contents.skipped.append(
                f"{where}: for phone number id {number!r}, "
                f"not this channel's {self.settings.phone_number_id!r}"
            )
            return False
        return True

    def read_value(self, where: str, value: MessagesValue) -> None:
        if not self.ours(where, value):
            return
        names = {contact.wa_id: contact.profile.name for contact in value.contacts}
        for index, raw in enumerate(value.messages):
            self.item(f"{where} message {index}", partial(self._message, raw, value, names))
        for index, raw in enumerate(value.statuses):
            self.item(f"{where} status {index}", partial(self._status, raw))

    def item(
        self, where: str, build: Callable[[], InboundPayload | Sequence[InboundPayload]]
    ) -> None:
        try:
            built = build()
        except SkippedItem as skipped:
            self.contents.skipped.append(f"{where}: {skipped}")
            return
        except ValidationError as error:
            self.contents.skipped.append(f"{where}: unreadable: {_summary(error)}")
            return
        for event in built if isinstance(built, Sequence) else (built,):
            key = _dedup_key(event)
            if key in self.seen:
                self.contents.skipped.append(f"{where}: a repeat of {key[1]} in the same delivery")
                continue
            self.seen.add(key)
            self.contents.events.append(event)

    def read_echoes(self, where: str, value: EchoesValue) -> None:
        if not self.ours(where, value):
            return
        for index, raw in enumerate(value.message_echoes):
            self.item(f"{where} echo {index}", partial(self._echo, raw))

    def _message(
        self, raw: dict[str, Any], value: MessagesValue, names: dict[str, str | None]
    ) -> MessageReceived | MessageChanged:
        message = InboundMessage.model_validate(raw)
        if message.group_id is not None and self.settings.ignore_groups:
            raise SkippedItem(f"{message.id} is in group {message.group_id} (ignore_groups)")
        guest = GuestIdentity(
            channel=CHANNEL,
            address=message.sender,
            display_name=clip(names.get(message.sender), 200),
        )
        if message.type in CHANGE_TYPES:
            return change_of(message, guest, CHANNEL)
        content = content_of(message, value.errors)
        self.contents.notes.extend(
            f"{message.id} kept as a placeholder: {note}" for note in content.notes
        )
        return MessageReceived(
            message=self._normalized(
                message, content, Direction.INBOUND, guest, message.group_id or message.sender
            )
        )

    def _echo(self, raw: dict[str, Any]) -> MessageEchoed | MessageChanged:
        """A message the hotel sent from the WhatsApp Business app, to ``to``."""
        message = InboundMessage.model_validate(raw)
        if not message.to:
            raise SkippedItem(f"echo {message.id} names no recipient")
        if message.type in CHANGE_TYPES:
            # The business's own edit, deletion or reaction; a reaction is the number's.
            hotel_number = GuestIdentity(channel=CHANNEL, address=message.sender)
            return change_of(message, hotel_number if message.type == "reaction" else None, CHANNEL)
        content = content_of(message)
        guest = GuestIdentity(channel=CHANNEL, address=message.to)
        normalized = self._normalized(message, content, Direction.OUTBOUND, guest, message.to)
        return MessageEchoed(message=normalized.model_copy(update={"status": DeliveryStatus.SENT}))

    def _normalized(
        self,
        message: InboundMessage,
        content: Content,
        direction: Direction,
        guest: GuestIdentity,
        conversation_key: str,
    ) -> Message:
        context_id = message.context.id if message.context else None
        return Message(
            hotel=self.hotel,
            channel=CHANNEL,
            conversation_key=conversation_key,
            direction=direction,
            guest=guest,
            text=content.text,
            attachments=content.attachments,
            context=MessageContext(interactive=content.interactive)
            if content.interactive
            else None,
            provider_message_id=message.id,
            reply_to=context_id,
            created_at=message.timestamp,
            updated_at=message.timestamp,
        )

    def _status(self, raw: dict[str, Any]) -> MessageStatusChanged:
        update = StatusUpdate.model_validate(raw)
        reported = reported_part(update.biz_opaque_callback_data, update.id)
        if reported is not None:
            self.contents.reported_parts.append(reported)
        if update.recipient_type == "group" and self.settings.ignore_groups:
            raise SkippedItem(f"{update.id} went to group {update.recipient_id} (ignore_groups)")
        status = _STATUSES.get(update.status)
        if status is None:
            raise SkippedItem(f"{update.id} has unknown status {update.status!r}")
        failed = update.status == "failed"
        error = None
        if failed:
            error = "; ".join(error.describe() for error in update.errors) or "no error given"
        return MessageStatusChanged(
            channel=CHANNEL,
            provider_message_id=update.id,
            status=status,
            failed=failed,
            error=clip(error, 2000),
            at=update.timestamp,
        )


def _dedup_key(event: InboundPayload) -> tuple[str, ...]:
    if isinstance(event, GuestPreferenceChanged):
        return ("preference", event.guest.address, event.topic, event.at.isoformat())
    if isinstance(event, TemplateStatusChanged):
        return ("template", event.name, event.language, repr(event))
    if isinstance(event, MessageReceived | MessageEchoed):
        return ("message", event.message.provider_message_id or "")
    if isinstance(event, MessageChanged):
        who = event.by.address if event.by else ""
        when = event.change_id or f"{who}@{event.at.isoformat()}"
        return ("change", event.provider_message_id, event.change.kind, when)
    return ("status", event.provider_message_id, event.status.value, str(event.failed))
