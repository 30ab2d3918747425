"""The ``Channel`` base class: what a channel plugin implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Annotated, ClassVar, Generic, TypeVar

import anyio
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PositiveInt

from begasist_core.events.payloads import (
    ChannelCommand,
    GuestPreferenceChanged,
    MessageChanged,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
    TemplateStatusChanged,
    WebhookReceived,
)
from begasist_core.models.messages import AttachmentKind, Message, utc_now
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.errors import (
    GuestRefused,
    MessageTooLong,
    UnsupportedCommand,
    WebhookNotSupported,
)
from begasist_core.plugins.guest_socket import (
    GUEST_CLOSE_NOT_FOUND,
    GuestAdmission,
    GuestHello,
    GuestHistoryItem,
    GuestIngress,
)
from begasist_core.plugins.guest_upload import GuestUploadPolicy

if TYPE_CHECKING:
    from begasist_core.plugins.context import ChannelContext

__all__ = [
    "Capabilities",
    "Channel",
    "InboundPayload",
    "RoutedWebhook",
    "SendReceipt",
    "SharedWebhook",
    "TextOverflow",
    "WebhookRequest",
    "WebhookResponse",
]

SettingsT = TypeVar("SettingsT", bound=ChannelSettings)

InboundPayload = (
    MessageReceived
    | MessageStatusChanged
    | MessageChanged
    | MessageEchoed
    | GuestPreferenceChanged
    | TemplateStatusChanged
)
"""What ``parse`` turns a webhook into, and what ``context.emit`` publishes: a guest's
message, a receipt, a change to a message (edit, deletion, reaction), an echo of a
message the hotel sent from elsewhere, a guest's opt-out, a template's new status."""


class TextOverflow(StrEnum):
    """What a channel does with text longer than ``max_text_length``."""

    SPLIT = "split"
    """Send it as several messages, each within the limit."""
    REJECT = "reject"
    """Refuse it with :class:`MessageTooLong`."""


class Capabilities(BaseModel):
    """What a channel can do; the suite and the responder adapt to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_text_length: PositiveInt | None = None
    """Longest text one provider message holds, in characters (None: no limit)."""
    text_overflow: TextOverflow = TextOverflow.SPLIT
    media_kinds: frozenset[AttachmentKind] = frozenset()
    """Attachment kinds the channel can send."""
    templates: bool = False
    """Outside the reply window, only provider-approved templates can be sent."""
    delivery_receipts: bool = False
    """The provider reports delivered/read (``message.status`` events)."""
    reply_window: timedelta | None = None
    """How long after the guest's last message free text may be sent (None: always)."""
    threading: bool = False
    """Replies can reference the message they answer (``reply_to``)."""
    webhook_ingress: bool = False
    """The provider calls ``/webhooks/{hotel}/{channel}``: ``verify`` and ``parse`` apply."""
    qr_pairing: bool = False
    """The channel pairs by a QR code shown in the admin (state ``pairing``)."""
    shared_webhook: bool = False
    """One provider app serves many hotels at ``/webhooks/_app/{channel}``:
    ``AppSettings``, ``route_key`` and ``verify_shared`` apply."""
    guest_socket: bool = False
    """Guests reach the suite over its WebSocket ``/guest/{hotel}/{channel}/socket``:
    ``admit_guest``, ``guest_frame`` and ``parse`` apply; ``send`` delivers with
    ``context.guests`` (:mod:`begasist_core.plugins.guest_socket`)."""


class SendReceipt(BaseModel):
    """What the provider answered to a send: one id per provider message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str
    provider_message_ids: Annotated[tuple[str, ...], Field(min_length=1)]
    sent_at: AwareDatetime = Field(default_factory=utc_now)


class WebhookRequest(BaseModel):
    """An incoming webhook request as the suite received it, body as exact bytes.

    Header names are lower-cased, so ``request.headers["x-hub-signature-256"]``
    works whatever the sender wrote.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: bytes = b""

    def __init__(self, **data: object) -> None:
        headers = data.get("headers")
        if isinstance(headers, dict):
            data["headers"] = {str(k).lower(): str(v) for k, v in headers.items()}
        super().__init__(**data)


class WebhookResponse(BaseModel):
    """What the suite answers a verified webhook, and whether it enqueues it.

    A GET handshake (a provider proving the URL) answers its challenge with
    ``enqueue=False``; a verified delivery answers 200 and is enqueued.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    status_code: int = 200
    body: bytes = b""
    media_type: str = "text/plain"
    enqueue: bool = True


class RoutedWebhook(BaseModel):
    """The part of a shared-URL delivery that belongs to the hotel answering to ``route_key``.

    ``body`` is what that hotel's bot parses (as if its own URL had been
    called): it holds only that hotel's share of the delivery.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    route_key: Annotated[str, Field(min_length=1, max_length=256)]
    body: bytes
    content_type: str = "application/json"


class SharedWebhook(BaseModel):
    """What ``verify_shared`` makes of a request to the shared URL: the answer and the parts.

    A handshake answers with no parts; a verified delivery answers 200 with
    one part per hotel it concerns. ``response.enqueue`` is not read: the
    parts are what gets enqueued.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    response: WebhookResponse = Field(default_factory=WebhookResponse)
    parts: tuple[RoutedWebhook, ...] = ()


class _HistoryFrame(BaseModel):
    type: str = "history"
    messages: list[dict[str, object]]


class Channel(ABC, Generic[SettingsT]):
    """A way of talking to guests: subclass it and register the subclass.

    Class attributes declare the channel: ``name`` (also its entry-point name),
    ``Settings`` (a :class:`ChannelSettings` subclass, secrets as ``SecretStr``)
    and ``capabilities``. An instance lives in a bot for one hotel; the runtime
    builds it with a :class:`ChannelContext` and runs it under a supervisor.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[ChannelSettings]] = ChannelSettings
    capabilities: ClassVar[Capabilities] = Capabilities()
    AppSettings: ClassVar[type[BaseModel] | None] = None
    """Operator-level settings shared by every hotel on one provider app (secrets as
    ``SecretStr``), for ``verify_shared``; None: the channel has no shared URL."""
    guest_assets: ClassVar[Traversable | None] = None
    """For ``guest_socket`` channels: a directory of files (the widget's script, the page
    it frames, their styles) the suite serves at ``/guest/{hotel}/{channel}/{file}`` for
    every hotel where the channel is enabled (``importlib.resources.files(...)``); None:
    the suite serves none. Only flat names of ``.js .css .html .svg .png`` files."""

    def __init__(self, context: ChannelContext[SettingsT]) -> None:
        self.context = context

    @property
    def settings(self) -> SettingsT:
        return self.context.settings

    async def run(self) -> None:
        """Connect and receive until cancelled; emit what arrives via ``context.emit``.

        Contract: runs until cancelled and then returns promptly (within a
        second), releasing its connections; an exception means the channel
        crashed and the supervisor restarts it with backoff. The default suits
        channels that only receive by webhook: it waits to be cancelled.
        """
        await anyio.sleep_forever()

    @abstractmethod
    async def send(self, message: Message) -> SendReceipt:
        """Send an outbound message to ``message.guest`` and return the receipt.

        Contract: idempotent per ``message.id``: a second call with the same
        id sends nothing and returns the first receipt (``context.sent`` is
        the ledger for that). Text longer than ``capabilities.max_text_length``
        is handled per ``text_overflow`` (:meth:`split_text` does it). Raise
        :class:`PermanentSendError` when retrying cannot help.
        """

    @classmethod
    def verify(cls, request: WebhookRequest, settings: ChannelSettings) -> WebhookResponse:
        """Check a webhook request in the suite, on the raw bytes, with no I/O.

        Contract: raise :class:`WebhookSignatureError` for a missing or bad
        signature (nothing is stored), return a :class:`WebhookResponse` to
        accept it or answer a handshake.
        """
        raise WebhookNotSupported(f"the {cls.name} channel takes no webhooks")

    @classmethod
    def route_key(cls, settings: ChannelSettings) -> str | None:
        """The key a hotel's *settings* answer to on the shared URL; None: not routable.

        Contract: pure (no I/O), computed from the validated settings alone;
        the suite stores it when the settings are saved and refuses a second
        hotel with the same key, so a key names one hotel's account.
        """
        return None

    @classmethod
    def verify_shared(cls, request: WebhookRequest, app_settings: BaseModel) -> SharedWebhook:
        """Check a request to the shared URL with the operator's *app_settings* and split it.

        Contract: as :meth:`verify` (raw bytes, no I/O, raise
        :class:`WebhookSignatureError` for a bad signature, nothing is stored),
        and return a :class:`SharedWebhook`: a handshake with no parts, or a
        verified delivery with one :class:`RoutedWebhook` per route key it
        names, each holding only that key's share of the body.
        """
        raise WebhookNotSupported(f"the {cls.name} channel has no shared webhook URL")

    @classmethod
    def admit_guest(cls, hello: GuestHello, settings: ChannelSettings) -> GuestAdmission:
        """Let a guest's socket in (for ``guest_socket`` channels), in the suite, with no I/O.

        Contract: check ``hello.origin`` against the channel's allow-list and,
        when the guest claims an identity, its HMAC (constant-time, with a
        secret of *settings*); raise :class:`GuestRefused` with a close code
        (``GUEST_CLOSE_FORBIDDEN``, ``GUEST_CLOSE_UNAUTHENTICATED``) otherwise.
        ``hello.visitor_id`` is already verified by the suite. Return the
        guest's address on the channel (a pure function of the visitor id, so
        reconnects find the same conversation) and any identity proven.
        """
        raise GuestRefused(GUEST_CLOSE_NOT_FOUND, f"the {cls.name} channel takes no guest sockets")

    @classmethod
    def guest_frame(
        cls, admission: GuestAdmission, frame: bytes, settings: ChannelSettings
    ) -> GuestIngress | None:
        """Turn one frame of an admitted guest into an ingress body, in the suite, no I/O.

        Contract: validate the frame (size, JSON shape, text only) and raise
        :class:`GuestFrameRejected` for anything else (nothing is enqueued).
        Return the body the bot's ``parse`` will read (it must name
        ``admission.address``, never an address the frame claims, and give the
        message a provider id from a client-generated id, so a resend after a
        reconnect is stored once), or None for a frame that needs nothing
        enqueued (a keep-alive).
        """
        raise GuestRefused(GUEST_CLOSE_NOT_FOUND, f"the {cls.name} channel takes no guest sockets")

    @classmethod
    def guest_upload_policy(cls, settings: ChannelSettings) -> GuestUploadPolicy | None:
        """What this hotel's guests may upload (for ``guest_socket`` channels), with no I/O.

        Contract: the suite's ``/guest/{hotel}/{channel}/uploads`` stores only files of
        these types (by their first bytes) and at most this size, and refuses every
        upload when this is None (the default). The channel names uploaded files in
        its frames by their refs (:mod:`begasist_core.plugins.guest_upload`).
        """
        return None

    @classmethod
    def guest_history(
        cls,
        admission: GuestAdmission,
        history: Sequence[GuestHistoryItem],
        settings: ChannelSettings,
    ) -> bytes:
        """The frame that shows an admitted guest their conversation, oldest first.

        The suite calls it on every (re)connect with what its store holds of
        this guest's conversation on the channel (guest-visible fields only).
        The default is ``{"type": "history", "messages": [...]}`` in JSON.
        """
        items = [item.model_dump(mode="json") for item in history]
        return _HistoryFrame(messages=items).model_dump_json().encode("utf-8")

    @classmethod
    def guest_embedders(cls, settings: ChannelSettings) -> Sequence[str]:
        """The web origins whose pages may embed this channel's guest pages, with no I/O.

        Contract: for ``guest_assets`` channels. The suite lets exactly these
        origins read ``config.json`` across origins (CORS) and frame the
        channel's HTML files (``frame-ancestors``); a socket opened by such a
        framed page reaches :meth:`admit_guest` with the embedding page's
        origin as ``hello.origin``. The default: none.
        """
        return ()

    @classmethod
    def guest_config(cls, settings: ChannelSettings) -> Mapping[str, object]:
        """What the channel's guest pages may know of *settings*, as JSON, with no I/O.

        Contract: served to anyone at ``/guest/{hotel}/{channel}/config.json``
        (to :meth:`guest_embedders`' pages across origins), so never a secret:
        greeting, colours, office hours. The default: nothing.
        """
        return {}

    @classmethod
    def unseen_reply_email_after(cls, settings: ChannelSettings) -> timedelta | None:
        """How long a reply may stay unread before the suite also sends it by email, no I/O.

        Contract: for channels whose guests may leave an email address
        (``GuestAdmission.contact_email``). A reply to such a guest not
        ``read`` this long after it was queued is sent once more through the
        hotel's enabled ``email`` channel, every one of a conversation in one
        email thread. None (the default): never.
        """
        return None

    async def parse(self, webhook: WebhookReceived) -> Sequence[InboundPayload]:
        """Turn a verified webhook into events, in the bot.

        Contract: for a body it cannot read, raise :class:`ParseError` and
        nothing else. A body with nothing of interest returns ``[]``.
        """
        raise WebhookNotSupported(f"the {self.name} channel takes no webhooks")

    async def command(self, command: ChannelCommand) -> None:
        """Handle an operator's ``channel.command`` other than ``restart``."""
        raise UnsupportedCommand(f"the {self.name} channel has no command {command.command!r}")

    @classmethod
    def split_text(cls, text: str) -> list[str]:
        """*text* as the parts this channel sends, per its capabilities.

        Splits at the last whitespace before the limit where there is one.
        Raises :class:`MessageTooLong` when the policy is ``reject``.
        """
        limit = cls.capabilities.max_text_length
        if limit is None or len(text) <= limit:
            return [text]
        if cls.capabilities.text_overflow is TextOverflow.REJECT:
            raise MessageTooLong(f"{len(text)} characters exceed the {cls.name} limit of {limit}")
        parts: list[str] = []
        rest = text
        while len(rest) > limit:
            cut = rest.rfind(" ", 0, limit + 1)
            if cut <= 0:
                cut = limit
            parts.append(rest[:cut])
            rest = rest[cut:].lstrip(" ")
        if rest:
            parts.append(rest)
        return parts
