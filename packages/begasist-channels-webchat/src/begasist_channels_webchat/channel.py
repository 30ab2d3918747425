"""``WebchatChannel``: admission and frames in the suite, parse and send in the bot."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import timedelta
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import ClassVar

from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    GUEST_CLOSE_FORBIDDEN,
    GUEST_CLOSE_TOO_LARGE,
    GUEST_CLOSE_UNAUTHENTICATED,
    Capabilities,
    Channel,
    ChannelSettings,
    DeliveryStatus,
    Direction,
    GuestAdmission,
    GuestFrameRejected,
    GuestHello,
    GuestIdentity,
    GuestIngress,
    GuestRefused,
    GuestUpload,
    GuestUploadPolicy,
    InboundPayload,
    InvalidUploadRef,
    Message,
    MessageReceived,
    MessageStatusChanged,
    ParseError,
    PermanentSendError,
    SendReceipt,
    WebhookReceived,
    utc_now,
)
from pydantic import ValidationError

from begasist_channels_webchat.frames import (
    MAX_FRAME_BYTES,
    GuestFrame,
    IngressAttachment,
    IngressBody,
    MessageFrame,
    PingFrame,
    accepted_frame,
    clean_email,
    clean_name,
    identified_address,
    identity_hash,
    outbound_frame,
    provider_id,
    readable_text,
    visible,
)
from begasist_channels_webchat.settings import MIN_SECRET_LENGTH, WebchatSettings

__all__ = ["WebchatChannel"]


class WebchatChannel(Channel[WebchatSettings]):
    """A hotel website's chat widget: guests write over the suite's guest socket.

    Guests attach images and PDF through the suite's upload route
    (``guest_upload_policy``); staff cannot send files to the widget yet, so
    ``media_kinds`` stays empty.
    """

    name: ClassVar[str] = "webchat"
    Settings: ClassVar[type[ChannelSettings]] = WebchatSettings
    capabilities: ClassVar[Capabilities] = Capabilities(guest_socket=True, delivery_receipts=True)
    guest_assets: ClassVar[Traversable | None] = files("begasist_channels_webchat") / "widget"
    """``widget.js`` (the script tag's), ``chat.html`` with ``chat.js`` and ``chat.css``
    (the framed chat window): served by the suite at ``/guest/{hotel}/webchat/...``."""

    @classmethod
    def guest_embedders(cls, settings: ChannelSettings) -> Sequence[str]:
        """The allowed origins: the only pages that may frame the chat window."""
        assert isinstance(settings, WebchatSettings)
        return tuple(settings.allowed_origins)

    @classmethod
    def guest_config(cls, settings: ChannelSettings) -> Mapping[str, object]:
        """What the widget shows: greeting, colours, pre-chat form, office hours (no secret)."""
        assert isinstance(settings, WebchatSettings)
        return settings.model_dump(
            mode="json",
            include={
                "greeting",
                "primary_colour",
                "text_colour",
                "pre_chat_form",
                "pre_chat_email_required",
                "office_hours",
                "time_zone",
                "offline_message",
                "attachment_types",
                "max_attachment_bytes",
            },
        )

    @classmethod
    def guest_upload_policy(cls, settings: ChannelSettings) -> GuestUploadPolicy | None:
        """The hotel's ``attachment_types`` and ``max_attachment_bytes``; None: no uploads."""
        assert isinstance(settings, WebchatSettings)
        if not settings.attachment_types:
            return None
        return GuestUploadPolicy(
            mime_types=frozenset(settings.attachment_types),
            max_bytes=settings.max_attachment_bytes,
        )

    @classmethod
    def admit_guest(cls, hello: GuestHello, settings: ChannelSettings) -> GuestAdmission:
        """Admit pages of an allowed origin; check a claimed identity's HMAC (module docs);
        an email address the guest left must look like one (it is never verified)."""
        assert isinstance(settings, WebchatSettings)
        # Exact comparison: browsers send the origin lower-cased and without a path,
        # which is the only form the settings accept.
        if hello.origin is None or hello.origin not in settings.allowed_origins:
            raise GuestRefused(GUEST_CLOSE_FORBIDDEN, "origin not allowed")
        verified: GuestIdentity | None = None
        address = hello.visitor_id
        if hello.identifier is not None:
            secret = settings.identity_secret
            key = "" if secret is None else secret.get_secret_value()
            # A key that short was never accepted by the settings; refuse it all the same
            # (an empty key would let anyone sign any identifier).
            if len(key.strip()) < MIN_SECRET_LENGTH or hello.identifier_hash is None:
                raise GuestRefused(GUEST_CLOSE_UNAUTHENTICATED, "identity not verified")
            expected = identity_hash(key, hello.identifier)
            if not hmac.compare_digest(
                expected.encode("ascii"), hello.identifier_hash.encode("utf-8")
            ):
                raise GuestRefused(GUEST_CLOSE_UNAUTHENTICATED, "identity not verified")
            # An identifier shaped like an email address links the visitor to the guest
            # the hotel knows by it (their booking email).
            if "@" in hello.identifier:
                verified = GuestIdentity(channel="email", address=hello.identifier)
            # The conversation belongs to the signed-in person, not to the browser: one
            # browser signed in as someone else (a shared computer, a sign-out and in)
            # reaches a conversation of its own and never the previous person's.
            address = identified_address(hello.visitor_id, hello.identifier)
        try:
            contact_email = clean_email(hello.email)
        except ValueError:
            raise GuestRefused(GUEST_CLOSE_BAD_FRAME, "email address not valid") from None
        return GuestAdmission(
            address=address,
            display_name=clean_name(hello.display_name),
            verified_identity=verified,
            language=hello.language,
            contact_email=contact_email,
        )

    @classmethod
    def unseen_reply_email_after(cls, settings: ChannelSettings) -> timedelta | None:
        """``email_fallback_after_seconds``: a reply left unread that long is emailed too."""
        assert isinstance(settings, WebchatSettings)
        return settings.email_fallback_after()

    @classmethod
    def guest_frame(
        cls, admission: GuestAdmission, frame: bytes, settings: ChannelSettings
    ) -> GuestIngress | None:
        """A widget frame as the body ``parse`` reads, or None for a ping (module docs)."""
        if len(frame) > MAX_FRAME_BYTES:
            raise GuestFrameRejected(GUEST_CLOSE_TOO_LARGE, "frame too large")
        try:
            parsed = GuestFrame.validate_json(frame)
        except ValidationError:
            raise GuestFrameRejected(GUEST_CLOSE_BAD_FRAME, "malformed frame") from None
        if isinstance(parsed, PingFrame):
            return None
        if isinstance(parsed, MessageFrame):
            return _message_ingress(admission, parsed, settings)
        body = IngressBody(
            kind="receipt",
            address=admission.address,
            id=parsed.id,
            status=parsed.status,
            at=utc_now(),
        )
        return GuestIngress(body=body.model_dump_json().encode("utf-8"), receipt_for=parsed.id)

    async def parse(self, webhook: WebhookReceived) -> Sequence[InboundPayload]:
        """The suite's ingress body as the guest's message or a receipt for a reply."""
        try:
            body = IngressBody.model_validate_json(webhook.body)
        except ValidationError as invalid:
            raise ParseError(
                f"not a web chat ingress body: {invalid.error_count()} errors"
            ) from None
        if body.kind == "receipt":
            if body.status is None:
                raise ParseError("a receipt without a status")
            return [
                MessageStatusChanged(
                    channel=self.name,
                    provider_message_id=provider_id(body.address, body.id),
                    status=DeliveryStatus(body.status),
                    at=body.at,
                )
            ]
        if not body.text.strip() and not body.attachments:
            raise ParseError("a message without text")
        message = Message(
            hotel=self.context.hotel,
            channel=self.name,
            conversation_key=body.address,
            direction=Direction.INBOUND,
            guest=GuestIdentity(
                channel=self.name, address=body.address, display_name=body.display_name
            ),
            text=body.text,
            attachments=tuple(
                GuestUpload(
                    key=item.sha256,
                    mime_type=item.mime_type,
                    size_bytes=item.size_bytes,
                    filename=item.filename,
                ).attachment()
                for item in body.attachments
            ),
            provider_message_id=provider_id(body.address, body.id),
            created_at=body.at,
            updated_at=body.at,
        )
        return [MessageReceived(message=message)]

    async def send(self, message: Message) -> SendReceipt:
        """Push the reply to the guest's open sockets; the suite's store keeps it for later."""
        sent = await self.context.sent.get(message.id)
        if sent is not None:
            return sent
        if message.attachments:
            raise PermanentSendError("the web chat cannot send attachments yet")
        address = message.guest.address
        receipt = SendReceipt(
            message_id=message.id, provider_message_ids=(provider_id(address, message.id),)
        )
        frame = outbound_frame(
            message.id, message.text, message.created_at, receipt.provider_message_ids[0]
        )
        await self.context.guests.deliver(address, frame, message_id=message.id)
        await self.context.sent.record(receipt)
        return receipt


def _message_ingress(
    admission: GuestAdmission, frame: MessageFrame, settings: ChannelSettings
) -> GuestIngress:
    """A message frame as its ingress body: text, or files with an optional caption.

    The files come from their refs; the suite enqueues the body only after
    checking that it issued each ref to this visitor (``GuestIngress.uploads``).
    """
    assert isinstance(settings, WebchatSettings)
    if not readable_text(frame.text):
        raise GuestFrameRejected(GUEST_CLOSE_BAD_FRAME, "text only")
    if not frame.attachments and not visible(frame.text):
        raise GuestFrameRejected(GUEST_CLOSE_BAD_FRAME, "text only")
    files: list[IngressAttachment] = []
    for ref in frame.attachments:
        try:
            upload = GuestUpload.from_ref(ref)
        except InvalidUploadRef:
            raise GuestFrameRejected(GUEST_CLOSE_BAD_FRAME, "unknown attachment") from None
        # A ref issued before the hotel narrowed its types is refused all the same.
        if upload.mime_type not in settings.attachment_types:
            raise GuestFrameRejected(GUEST_CLOSE_BAD_FRAME, "attachment type not allowed")
        files.append(
            IngressAttachment(
                kind=upload.kind,
                mime_type=upload.mime_type,
                size_bytes=upload.size_bytes,
                sha256=upload.key,
                filename=upload.filename,
                url=upload.url,
            )
        )
    body = IngressBody(
        kind="message",
        address=admission.address,
        display_name=admission.display_name,
        id=frame.id,
        text=frame.text if visible(frame.text) else "",
        attachments=tuple(files),
        at=utc_now(),
    )
    return GuestIngress(
        body=body.model_dump_json().encode("utf-8"),
        answer=accepted_frame(frame.id),
        uploads=frame.attachments,
    )
