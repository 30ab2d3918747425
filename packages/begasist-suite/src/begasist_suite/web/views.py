"""What the pages show, built from the store's records: rows, messages, drafts, labels.

Each builder takes what the page fetched once (members, drafts) so that a
page makes a fixed number of store queries, never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from begasist_core import Attachment, DeliveryStatus, Direction, Message, media_key_of

from begasist_suite.store.records import (
    ASSISTANT,
    ECHOED,
    ConversationRecord,
    Draft,
    DraftStatus,
    User,
)
from begasist_suite.web.i18n import Language

__all__ = [
    "AttachmentView",
    "ConversationRow",
    "MessageView",
    "QuoteView",
    "assignee_name",
    "channel_label",
    "conversation_rows",
    "guest_name",
    "message_views",
    "person_name",
    "status_words",
]

INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
"""Shown inline (the media route serves exactly these inline); anything else downloads."""


@dataclass(frozen=True)
class ConversationRow:
    id: str
    guest: str
    channel: str
    channel_label: str
    preview: str
    ago: str
    at: datetime
    """Shown in the hotel's zone by the page (``local_time``)."""
    draft_pending: bool
    assignee: str | None
    resolved: bool
    unread: int
    """Guest messages no staff member has read."""


@dataclass(frozen=True)
class AttachmentView:
    name: str
    href: str | None
    """The media route's URL of the stored file; None while the bot has not fetched it."""
    inline_image: bool
    size: str | None


@dataclass(frozen=True)
class QuoteView:
    """The message another one replies to, as the thread quotes it."""

    author: str | None
    """None when the quoted message is not stored (older than Begasist)."""
    text: str
    deleted: bool


@dataclass(frozen=True)
class MessageView:
    id: str
    ours: bool
    author: str
    text: str
    at: datetime
    status: str | None
    """Delivery of ours, as words and a symbol; None for the guest's."""
    delivery: str | None
    """Delivery of ours as its value (``sent``, ``read``...), which the live script moves
    forward in place; None for the guest's."""
    failed: bool
    failure_reason: str | None
    attachments: tuple[AttachmentView, ...]
    edited: bool = False
    previous_texts: tuple[str, ...] = ()
    """What it said before its edits, oldest first (kept for audit)."""
    deleted: bool = False
    """Deleted by its author: the text stays for audit, the thread says so."""
    reactions: tuple[str, ...] = ()
    """Each standing reaction as "emoji name"."""
    quote: QuoteView | None = None
    interactive_title: str | None = None
    answers: tuple[tuple[str, str], ...] = ()
    """A form's or choice's answers, as (question, answer)."""


def channel_label(name: str, language: Language) -> str:
    """How people call a channel ("WhatsApp", "Email"), for the icon's text and filters."""
    labels = {
        "whatsapp": "WhatsApp",
        "email": language.gettext("Email"),
        "demo": language.gettext("Demo channel"),
        "webchat": language.gettext("Web chat"),
    }
    return labels.get(name, name.replace("_", " ").title())


def person_name(user: User | None) -> str:
    if user is None:
        return "?"
    return user.display_name or user.email


def guest_name(conversation: ConversationRecord) -> str:
    return conversation.guest.display_name or conversation.guest.address


def conversation_rows(
    conversations: Iterable[ConversationRecord],
    *,
    language: Language,
    people: Mapping[str, User],
    pending_drafts: set[str],
    now: datetime | None = None,
) -> list[ConversationRow]:
    """The inbox rows; *people* by user id (assignees), *pending_drafts* by conversation id."""
    now = now or datetime.now(UTC)
    rows = []
    for conversation in conversations:
        last = conversation.last_message_at or conversation.created_at
        assignee = conversation.assignee
        rows.append(
            ConversationRow(
                id=conversation.id,
                guest=guest_name(conversation),
                channel=conversation.channel,
                channel_label=channel_label(conversation.channel, language),
                preview=(conversation.last_message_preview or "").split("\n", 1)[0],
                ago=language.ago(last, now),
                at=last,
                draft_pending=conversation.id in pending_drafts,
                assignee=None if assignee is None else assignee_name(assignee, people),
                resolved=conversation.status.value == "resolved",
                unread=conversation.unread,
            )
        )
    return rows


def assignee_name(assignee: str, people: Mapping[str, User]) -> str:
    """The member's name for an assignee that is a user id, else the string as it is."""
    # The web app assigns by user id; the API takes any string, shown as it is.
    return person_name(people[assignee]) if assignee in people else assignee


def message_views(
    messages: Iterable[Message],
    *,
    conversation: ConversationRecord,
    drafts: Iterable[Draft],
    people: Mapping[str, User],
    language: Language,
    quoted: Mapping[str, Message] | None = None,
) -> list[MessageView]:
    """The thread: who wrote each message, when, how far ours got, its files, its edits,
    deletion and reactions, and the message it replies to (*quoted*: by provider id)."""
    sent_drafts = {
        d.sent_message_id: d for d in drafts if d.status is DraftStatus.SENT and d.sent_message_id
    }
    views = []
    for message in messages:
        ours = message.direction is Direction.OUTBOUND
        views.append(
            MessageView(
                id=message.id,
                ours=ours,
                author=_author(message, conversation, sent_drafts, people, language),
                text=message.text,
                at=message.created_at,
                status=_status(message, language) if ours else None,
                delivery=message.status.value if ours else None,
                failed=message.failed,
                failure_reason=message.failure_reason,
                attachments=tuple(
                    _attachment(a, conversation.hotel, language) for a in message.attachments
                ),
                quote=_quote(message, quoted or {}, conversation, sent_drafts, people, language),
            )
        )
        views[-1] = _with_changes(views[-1], message, conversation)
    return views


def _with_changes(
    view: MessageView, message: Message, conversation: ConversationRecord
) -> MessageView:
    """*view* with the message's edits, deletion, reactions and interactive answers."""
    part = message.context.interactive if message.context else None
    if part is not None and part.answers:
        view = replace(
            view,
            interactive_title=part.title,
            answers=tuple((answer.question, answer.answer) for answer in part.answers),
        )
    changes = message.changes
    if changes is None:
        return view

    def who(address: str) -> str:
        return guest_name(conversation) if address == conversation.guest.address else address

    return replace(
        view,
        edited=changes.edited_at is not None,
        previous_texts=tuple(version.text for version in changes.previous),
        deleted=changes.deleted_at is not None,
        reactions=tuple(f"{r.emoji} {who(r.by)}" for r in changes.shown_reactions),
    )


def _quote(
    message: Message,
    quoted: Mapping[str, Message],
    conversation: ConversationRecord,
    sent_drafts: Mapping[str, Draft],
    people: Mapping[str, User],
    language: Language,
) -> QuoteView | None:
    if message.reply_to is None or message.direction is Direction.OUTBOUND:
        # Ours name what they answer for the provider's threading; the thread shows it.
        return None
    original = quoted.get(message.reply_to)
    if original is None:
        return QuoteView(author=None, text=language.gettext("an earlier message"), deleted=False)
    deleted = original.changes is not None and original.changes.deleted_at is not None
    text = original.text or ", ".join(a.filename or a.kind.value for a in original.attachments)
    return QuoteView(
        author=_author(original, conversation, sent_drafts, people, language),
        text=text[:200],
        deleted=deleted,
    )


def _author(
    message: Message,
    conversation: ConversationRecord,
    sent_drafts: Mapping[str, Draft],
    people: Mapping[str, User],
    language: Language,
) -> str:
    if message.direction is Direction.INBOUND:
        return message.guest.display_name or guest_name(conversation)
    draft = sent_drafts.get(message.id)
    if message.sent_by == ECHOED:
        return language.gettext("Staff, from the %(channel)s app") % {
            "channel": channel_label(message.channel, language)
        }
    if message.sent_by == ASSISTANT or (
        draft is not None and draft.decided_by in (None, ASSISTANT)
    ):
        return language.gettext("Assistant")
    sender = message.sent_by or (None if draft is None else draft.decided_by)
    if sender is None:
        # Sent before the store recorded who sent a reply.
        return language.gettext("Staff")
    # A former member keeps their id on what they sent: "?" rather than the id.
    name = person_name(people.get(sender))
    if draft is None:
        return name
    return language.gettext("Assistant, approved by %(name)s") % {"name": name}


def status_words(language: Language) -> dict[str, str]:
    """How the thread shows each delivery status of ours (a symbol and words), by value:
    also what the live script writes when a receipt moves a tick."""
    return {
        DeliveryStatus.QUEUED.value: "🕓 " + language.gettext("Queued"),
        DeliveryStatus.SENT.value: "✓ " + language.gettext("Sent"),
        DeliveryStatus.DELIVERED.value: "✓✓ " + language.gettext("Delivered"),
        DeliveryStatus.READ.value: "✓✓ " + language.gettext("Read"),
    }


def _status(message: Message, language: Language) -> str:
    if message.failed:
        return "✕ " + language.gettext("Failed")
    return status_words(language)[message.status.value]


def _attachment(attachment: Attachment, hotel: str, language: Language) -> AttachmentView:
    key = media_key_of(attachment.url)
    href = None if key is None else f"/api/v1/hotels/{hotel}/media/{key}"
    size = None
    if attachment.size_bytes is not None:
        size = language.file_size(attachment.size_bytes)
    name = (
        attachment.filename
        or attachment.caption
        or language.gettext("Attachment (%(kind)s)") % {"kind": attachment.kind.value}
    )
    return AttachmentView(
        name=name,
        href=href,
        inline_image=href is not None and (attachment.mime_type or "") in INLINE_IMAGES,
        size=size,
    )
