"""The linked-device transport: a WhatsApp Web device paired by QR, kept connected, unlinked."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Final

import anyio
from anyio.abc import TaskGroup
from begasist_core import (
    SENT_RECORD_PATIENCE,
    ChannelCommand,
    ChannelContext,
    ChannelState,
    Message,
    PermanentSendError,
    SendReceipt,
    UnsupportedCommand,
)
from pydantic import ValidationError

from begasist_channels_whatsapp.content import SkippedItem
from begasist_channels_whatsapp.linked.backoff import ReconnectBackoff
from begasist_channels_whatsapp.linked.client import (
    ClientFactory,
    Connected,
    Disconnected,
    IncomingMessage,
    LinkedClient,
    LinkedEvent,
    LinkedNotConnected,
    LoggedOut,
    Paired,
    PairingFailed,
    QrCode,
)
from begasist_channels_whatsapp.linked.inbound import to_message_received
from begasist_channels_whatsapp.linked.neonize_client import NeonizeClient
from begasist_channels_whatsapp.linked.session import LinkedSession
from begasist_channels_whatsapp.settings import WhatsAppSettings

__all__ = ["QR_KEY", "SCAN_HINT", "LinkedTransport"]

QR_KEY: Final = "qr"
"""The channel key the suite's status API shows as ``pairing_qr`` (docs/plugins.md)."""

SCAN_HINT: Final = (
    "scan the QR code in the admin with the hotel's phone "
    "(WhatsApp > Settings > Linked devices > Link a device)"
)

_QR_KEY_MARGIN: Final = timedelta(seconds=5)
"""The key outlives its code a little, so the admin never blinks between two codes."""

_SEEN_LIMIT: Final = 4096
_PARTS_TTL: Final = timedelta(days=7)

Sleep = Callable[[float], Awaitable[None]]


def _split(text: str) -> list[str]:
    # Imported here, not at the top: channel.py imports this package to build its transport.
    from begasist_channels_whatsapp.channel import WhatsAppChannel

    return WhatsAppChannel.split_text(text)


@dataclass(eq=False)
class _Attempt:
    """One connection of one client, from connecting to the end of the connection."""

    client: LinkedClient
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    finished: anyio.Event = field(default_factory=anyio.Event)
    connected: bool = False
    pairing_reported: bool = False
    qr_generation: int = 0
    ended: str = "the connection ended"
    logged_out: str | None = None
    """Why the session is void: it is deleted before the next connection pairs anew."""
    forgotten: bool = False


class LinkedTransport:
    """The hotel's number as a linked WhatsApp Web device (the ``linked`` transport).

    ``run`` keeps one connection up: it publishes each QR code to the channel
    key ``qr`` and reports ``pairing`` until the phone scans it, ``running``
    once connected, and reconnects itself after a drop with a capped, jittered
    backoff (a drop is routine for a long-lived socket, not a crash: it stays
    out of the supervisor's restart count and error log, and the client, its
    session and the dedup memory stay). A logout, from the phone or by the
    ``logout`` command, deletes the session and shows a fresh QR code.
    """

    def __init__(
        self,
        context: ChannelContext[WhatsAppSettings],
        *,
        client_factory: ClientFactory | None = None,
        backoff: ReconnectBackoff | None = None,
        sleep: Sleep = anyio.sleep,
        qr_grace_seconds: float = 15.0,
        session_dir: Path | None = None,
    ) -> None:
        self._context = context
        settings = context.settings
        # The folder is the bot's (its environment), never a hotel setting: staff
        # who edit settings must not choose where the bot writes or deletes.
        self.session = LinkedSession.for_channel(
            hotel=context.hotel,
            channel=context.channel,
            configured_dir=None if session_dir is None else str(session_dir),
            device_name=settings.linked_device_name,
        )
        self._client_factory: ClientFactory = client_factory or NeonizeClient
        self._backoff = backoff or ReconnectBackoff()
        self._sleep = sleep
        self._qr_grace_seconds = qr_grace_seconds
        """How long past a code's expiry a new code (or the connection) may take to come."""
        self._attempt: _Attempt | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._pairing_note: str | None = None

    @property
    def connected(self) -> bool:
        return self._attempt is not None and self._attempt.connected

    async def run(self) -> None:
        """Connect, pair if needed and receive until cancelled, reconnecting after each drop."""
        try:
            while True:
                attempt = _Attempt(client=self._client_factory(self.session))
                await self._run_attempt(attempt)
                if attempt.logged_out is not None:
                    # Pair again at once: staff are waiting for the new QR code.
                    self._backoff.reset()
                    continue
                if attempt.connected:
                    self._backoff.reset()
                delay = self._backoff.next_delay()
                self._context.logger.warning(
                    "whatsapp linked: %s; reconnecting in %.1fs", attempt.ended, delay
                )
                await self._context.report_state(
                    ChannelState.BACKOFF, f"{attempt.ended}; reconnecting in {delay:.0f}s"
                )
                await self._sleep(delay)
        finally:
            # A QR code nobody listens for any more must not be shown to staff.
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                await self._context.keys.delete(QR_KEY)

    async def _run_attempt(self, attempt: _Attempt) -> None:
        self._attempt = attempt
        try:
            self.session.prepare()
            await self._context.report_state(
                ChannelState.STARTING,
                "connecting the linked device"
                if self.session.exists()
                else "connecting for a pairing QR code",
            )
            with attempt.scope:
                async with anyio.create_task_group() as watchdogs:
                    try:
                        await attempt.client.run(partial(self._on_event, attempt, watchdogs))
                    except Exception as error:  # any library failure ends this connection only
                        attempt.ended = f"the connection failed ({type(error).__name__}: {error})"
                    watchdogs.cancel_scope.cancel()
            if attempt.logged_out is not None:
                await self._forget(attempt.logged_out)
                attempt.forgotten = True
        finally:
            self._attempt = None
            attempt.finished.set()

    async def _on_event(self, attempt: _Attempt, watchdogs: TaskGroup, event: LinkedEvent) -> None:
        match event:
            case QrCode(code=code, expires_in=expires_in):
                await self._context.keys.set(QR_KEY, code, ttl=expires_in + _QR_KEY_MARGIN)
                attempt.qr_generation += 1
                watchdogs.start_soon(
                    self._expire_qr,
                    attempt,
                    attempt.qr_generation,
                    expires_in.total_seconds() + self._qr_grace_seconds,
                )
                if not attempt.pairing_reported:
                    attempt.pairing_reported = True
                    await self._report_pairing()
            case Paired(account=account):
                await self._context.keys.delete(QR_KEY)
                self._context.logger.info("whatsapp linked: paired as %s", account or "?")
            case PairingFailed(reason=reason):
                self._context.logger.warning("whatsapp linked: pairing failed: %s", reason)
                await self._report_pairing(f"pairing failed ({reason})")
            case Connected():
                attempt.connected = True
                self._pairing_note = None
                await self._context.keys.delete(QR_KEY)
                await self._context.report_state(ChannelState.RUNNING, None)
            case Disconnected(reason=reason):
                attempt.ended = f"disconnected ({reason})"
                attempt.scope.cancel()
            case LoggedOut(reason=reason):
                attempt.logged_out = f"WhatsApp logged the device out ({reason})"
                attempt.scope.cancel()
            case IncomingMessage():
                await self._receive(event)

    async def _expire_qr(self, attempt: _Attempt, generation: int, seconds: float) -> None:
        # Some libraries fall silent when the last code expires; this ends the attempt instead.
        await anyio.sleep(seconds)
        if attempt.qr_generation == generation and not attempt.connected:
            attempt.ended = "the QR codes expired unscanned"
            attempt.scope.cancel()

    async def _report_pairing(self, problem: str | None = None) -> None:
        notes = [note for note in (self._pairing_note, problem) if note]
        await self._context.report_state(ChannelState.PAIRING, "; ".join([*notes, SCAN_HINT]))

    async def _forget(self, why: str) -> None:
        """Delete the session and the QR code, and tell staff to pair again."""
        self.session.clear()
        await self._context.keys.delete(QR_KEY)
        self._pairing_note = f"{why}; its session was deleted"
        self._context.logger.warning("whatsapp linked: %s", self._pairing_note)
        await self._report_pairing()

    async def _receive(self, incoming: IncomingMessage) -> None:
        # The suite dedups by provider id too; this spares Redis a redelivered burst.
        if incoming.message_id in self._seen:
            return
        try:
            payload = to_message_received(
                incoming, hotel=self._context.hotel, settings=self._context.settings
            )
        except SkippedItem as skipped:
            self._context.logger.info("whatsapp linked: skipped %s", skipped)
        except ValidationError as error:
            self._context.logger.warning(
                "whatsapp linked: skipped unreadable %s: %s", incoming.message_id, error
            )
        else:
            await self._context.emit(payload)
        self._seen[incoming.message_id] = None
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)

    async def send(self, message: Message) -> SendReceipt:
        """Send the text once per ``message.id``, split at 4,096 characters, quoting ``reply_to``.

        Text only: attachments and templates fail permanently. With no live
        connection it raises :class:`LinkedNotConnected` (retried later).
        """
        previous = await self._context.sent.get(message.id)
        if previous is not None:
            return previous
        if message.attachments or message.template is not None:
            raise PermanentSendError(
                "the linked WhatsApp transport sends text only (no attachments or templates)"
            )
        if not message.text.strip():
            raise PermanentSendError("nothing to send: the message has no text")
        attempt = self._attempt
        if attempt is None or not attempt.connected:
            raise LinkedNotConnected(
                "the linked WhatsApp device is not connected (pairing or reconnecting)"
            )
        to = message.conversation_key if message.conversation_key.endswith("@g.us") else None
        progress_key = f"linked-parts:{message.id}"
        raw = await self._context.keys.get(progress_key)
        # Parts a crashed earlier try already sent are not sent twice.
        sent: list[str] = json.loads(raw) if raw else []
        for index, part in enumerate(_split(message.text)):
            if index < len(sent):
                continue
            sent.append(
                await attempt.client.send_text(
                    to or message.guest.address,
                    part,
                    reply_to=message.reply_to if index == 0 else None,
                )
            )
            await self._context.keys.set(
                progress_key, json.dumps(sent), ttl=_PARTS_TTL, patience=SENT_RECORD_PATIENCE
            )
        receipt = SendReceipt(message_id=message.id, provider_message_ids=tuple(sent))
        await self._context.sent.record(receipt)
        await self._context.keys.delete(progress_key)
        return receipt

    async def command(self, command: ChannelCommand) -> None:
        """``logout``: unlink the device, delete the session, show a new QR code."""
        if command.command != "logout":
            raise UnsupportedCommand(
                f"the linked WhatsApp transport has no command {command.command!r} (it has logout)"
            )
        await self.logout()

    async def logout(self) -> None:
        """Unlink at WhatsApp (when connected), delete the session, and pair again."""
        why = "logged out by the hotel's staff"
        attempt = self._attempt
        if attempt is not None and attempt.connected:
            try:
                await attempt.client.logout()
            except Exception as error:  # the local session goes anyway; say what is left
                why += f" (WhatsApp did not confirm: {error}; remove the device on the phone too)"
        if attempt is None:
            await self._forget(why)
            return
        attempt.logged_out = why
        attempt.scope.cancel()
        await attempt.finished.wait()
        if not attempt.forgotten:
            await self._forget(why)
