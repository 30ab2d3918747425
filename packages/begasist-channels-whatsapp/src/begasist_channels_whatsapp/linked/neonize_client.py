"""The linked client on neonize (whatsmeow built as a shared library): the ``linked`` extra.

Read against neonize 0.5.2 (``neonize/aioze/client.py`` and ``events.py``,
``goneonize/main.go``). neonize is imported when a client is built, never at
import time, so the channel loads without the extra. It is asyncio-only: its
Go threads hand events to the event loop that first connected
(``aioze/events.py``: ``set_event_loop`` keeps the first loop), so run it on
the bot's asyncio loop, one loop per process.
"""

from __future__ import annotations

import importlib
import logging
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Final

import anyio
from begasist_core import ChannelError

from begasist_channels_whatsapp.linked.client import (
    Connected,
    Disconnected,
    EventSink,
    IncomingMessage,
    LinkedEvent,
    LinkedNotConnected,
    LoggedOut,
    Paired,
    PairingFailed,
    QrCode,
)
from begasist_channels_whatsapp.linked.session import LinkedSession

__all__ = ["EXTRA", "LinkedExtraMissing", "NeonizeClient", "load_neonize"]

log = logging.getLogger("begasist.channel.whatsapp.neonize")

EXTRA: Final = "begasist-channels-whatsapp[linked]"

# whatsmeow's qrchan.go (emitQRs): the first of a login's codes lives 60 s, each next one 20 s.
_FIRST_QR_LIFETIME: Final = timedelta(seconds=60)
_NEXT_QR_LIFETIME: Final = timedelta(seconds=20)

_RECENT_LIMIT: Final = 512
"""Inbound messages kept to quote in replies (whatsmeow quotes the whole message)."""

_MEDIA_FIELDS: Final = (
    ("imageMessage", "image"),
    ("videoMessage", "video"),
    ("audioMessage", "audio"),
    ("documentMessage", "document"),
    ("stickerMessage", "sticker"),
)


class LinkedExtraMissing(ChannelError):
    """neonize is not installed (or cannot load) in the bot's environment."""


def load_neonize() -> SimpleNamespace:
    """What the client uses of neonize; :class:`LinkedExtraMissing` when it is not there."""
    try:
        client = importlib.import_module("neonize.aioze.client")
        events = importlib.import_module("neonize.aioze.events")
        companion = importlib.import_module(
            "neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2"
        )
        proto = importlib.import_module("neonize.proto.Neonize_pb2")
    except (ImportError, OSError) as error:  # OSError: its shared library did not load
        raise LinkedExtraMissing(
            f"the linked WhatsApp transport needs neonize: install {EXTRA!r} on the bot "
            f"({type(error).__name__}: {error})"
        ) from None
    return SimpleNamespace(
        NewAClient=client.NewAClient,
        events=events,
        DeviceProps=companion.DeviceProps,
        proto=proto,
    )


def _jid(jid: Any) -> str:
    return f"{jid.User}@{jid.Server}" if jid.User else ""


def _phone(jid: Any) -> str | None:
    return str(jid.User) if jid.Server == "s.whatsapp.net" and str(jid.User).isdigit() else None


def _content(message: Any) -> tuple[str, str | None, str | None, str | None, str | None]:
    """(text, quoted id, media kind, MIME type, file name) of a waE2E ``Message``."""
    if message.HasField("documentWithCaptionMessage"):
        return _content(message.documentWithCaptionMessage.message)
    if message.HasField("extendedTextMessage"):
        extended = message.extendedTextMessage
        return extended.text, extended.contextInfo.stanzaID or None, None, None, None
    if message.conversation:
        return message.conversation, None, None, None, None
    for field, kind in _MEDIA_FIELDS:
        if message.HasField(field):
            media = getattr(message, field)
            return (
                getattr(media, "caption", ""),
                media.contextInfo.stanzaID or None,
                kind,
                media.mimetype or None,
                getattr(media, "fileName", "") or None,
            )
    if message.HasField("locationMessage"):
        place = message.locationMessage
        where = f"{place.degreesLatitude}, {place.degreesLongitude}"
        label = ", ".join(part for part in (place.name, place.address) if part)
        text = f"Location: {label} ({where})" if label else f"Location: {where}"
        return text, place.contextInfo.stanzaID or None, "location", None, None
    if message.HasField("reactionMessage"):
        # As the Cloud reader: the emoji, replying to the message it reacts to.
        reaction = message.reactionMessage
        return reaction.text, reaction.key.ID or None, None, None, None
    return "", None, None, None, None


class NeonizeClient:
    """A :class:`~begasist_channels_whatsapp.linked.LinkedClient` on neonize's ``NewAClient``.

    The session is neonize's SQLite database in the hotel's session folder
    (``NewAClient(name)`` opens ``file:<name>?_foreign_keys=on``, main.go ``getDB``).
    """

    def __init__(self, session: LinkedSession) -> None:
        self._session = session
        self._neonize = load_neonize()
        self._client: Any = None
        self._recent: OrderedDict[str, Any] = OrderedDict()

    async def run(self, deliver: EventSink) -> None:
        nz = self._neonize
        props = nz.DeviceProps(os=self._session.device_name, platformType=nz.DeviceProps.SAFARI)
        client = nz.NewAClient(str(self._session.database), props=props)
        send, receive = anyio.create_memory_object_stream[LinkedEvent](max_buffer_size=1024)
        self._subscribe(client, send.send_nowait)
        try:
            # connect() returns the asyncio task of the blocking Go call, which runs until stop().
            connection = await client.connect()
            self._client = client
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._watch, connection, send.send_nowait)
                async with receive:
                    async for event in receive:
                        await deliver(event)
        finally:
            self._client = None
            send.close()
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await client.stop()

    @staticmethod
    async def _watch(connection: Any, push: Any) -> None:
        try:
            await connection
            reason = "the connection closed"
        except Exception as error:  # NeonizeError and the like: the connection is over
            reason = f"{type(error).__name__}: {error}"
        push(Disconnected(reason))

    def _subscribe(self, client: Any, push: Any) -> None:
        """Register a handler per event that matters; neonize subscribes to those only."""
        events = self._neonize.events
        proto = self._neonize.proto
        shown = 0

        async def on_qr(_: Any, code: bytes) -> None:
            nonlocal shown
            lifetime = _FIRST_QR_LIFETIME if shown == 0 else _NEXT_QR_LIFETIME
            shown += 1
            push(QrCode(code=code.decode(), expires_in=lifetime))

        async def on_pair(_: Any, event: Any) -> None:
            if event.Status == proto.PairStatus.PStatus.Value("SUCCESS"):
                push(Paired(account=_jid(event.ID) or None))
            else:
                push(PairingFailed(reason=event.Error or "no reason given"))

        async def on_connected(_: Any, event: Any) -> None:
            push(Connected())

        async def on_logged_out(_: Any, event: Any) -> None:
            push(LoggedOut(reason=proto.ConnectFailureReason.Name(event.Reason)))

        async def on_connect_failure(_: Any, event: Any) -> None:
            reason = proto.ConnectFailureReason.Name(event.Reason)
            push(Disconnected(f"connect failure {reason}: {event.Message}".rstrip(": ")))

        async def on_ban(_: Any, event: Any) -> None:
            code = proto.TemporaryBan.TempBanReason.Name(event.Code)
            push(Disconnected(f"temporarily banned by WhatsApp ({code})"))

        def ended(reason: str) -> Any:
            async def handler(_: Any, event: Any) -> None:
                push(Disconnected(reason))

            return handler

        async def on_message(_: Any, event: Any) -> None:
            push(self._incoming(event))

        client.event.qr(on_qr)
        client.event(events.PairStatusEv)(on_pair)
        client.event(events.ConnectedEv)(on_connected)
        client.event(events.LoggedOutEv)(on_logged_out)
        client.event(events.ConnectFailureEv)(on_connect_failure)
        client.event(events.TemporaryBanEv)(on_ban)
        client.event(events.DisconnectedEv)(ended("WhatsApp closed the connection"))
        client.event(events.StreamReplacedEv)(ended("another client took over this session"))
        client.event(events.ClientOutdatedEv)(ended("WhatsApp finds this client outdated"))
        client.event(events.MessageEv)(on_message)

    def _incoming(self, event: Any) -> IncomingMessage:
        info = event.Info
        source = info.MessageSource
        text, quoted, kind, mime_type, filename = _content(event.Message)
        self._recent[info.ID] = event
        if len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)
        return IncomingMessage(
            message_id=info.ID,
            chat=_jid(source.Chat),
            sender=_jid(source.Sender),
            # A @lid sender carries its phone number in SenderAlt (as aioze's _make_quoted_message).
            sender_phone=_phone(source.Sender) or _phone(source.SenderAlt),
            # Milliseconds: neonize's builder.py passes it on as oldestMsgTimestampMS.
            timestamp=datetime.fromtimestamp(info.Timestamp / 1000, UTC),
            text=text,
            push_name=info.Pushname or None,
            is_group=source.IsGroup,
            from_me=source.IsFromMe,
            quoted_id=quoted,
            media_kind=kind,
            mime_type=mime_type,
            filename=filename,
        )

    def _live(self) -> Any:
        if self._client is None:
            raise LinkedNotConnected("the neonize client is not connected")
        return self._client

    async def send_text(self, to: str, text: str, *, reply_to: str | None = None) -> str:
        client = self._live()
        quoted = self._recent.get(reply_to) if reply_to else None
        # send_message takes a phone number or "user@server" (aioze _ensure_jid).
        if quoted is not None:
            reply = await client.build_reply_message(text, quoted)
            response = await client.send_message(to, reply)
        else:
            response = await client.send_message(to, text)
        return str(response.ID)

    async def logout(self) -> None:
        await self._live().logout()
