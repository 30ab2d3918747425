"""The IMAP inbound loop against a real Dovecot: TLS, IDLE, polling, cursor, downtime, failures."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from begasist_channels_email.cursor import ImapCursor, ImapCursorStore
from begasist_channels_email.imap_connection import (
    ImapAuthFailed,
    ImapConnection,
    ImapTlsRefused,
)
from begasist_channels_email.inbound import MAX_DELIVERY_ATTEMPTS, ImapInbound
from begasist_channels_email.parsing import fetch_limit
from begasist_channels_email.settings import EmailSettings, Security
from begasist_core import ChannelContext, ChannelState
from begasist_core.testing import Bus

from tests.channels.email.conftest import EmailSettingsFactory
from tests.channels.email.dovecot import Account, DovecotServer, Mailbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LIMIT = 30.0
"""A generous bound on any wait: the tests never measure time."""


def raw_message(number: int) -> bytes:
    return (
        f"From: Guest {number} <guest{number}@example.com>\r\n"
        "To: Hotel <reservas@hotel.test>\r\n"
        f"Subject: Reserva {number}\r\n"
        f"Message-ID: <msg-{number}@example.com>\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        "\r\n"
        f"Hola, mensaje {number}.\r\n"
    ).encode()


class Recorder:
    """A ``deliver`` that keeps what it was given, and the states the loop reported."""

    def __init__(self, fail_first: int = 0) -> None:
        self.delivered: list[tuple[int, bytes]] = []
        self.states: list[tuple[ChannelState, str | None]] = []
        self._fail_first = fail_first

    async def deliver(self, raw: bytes, uid: int) -> None:
        if self._fail_first:
            self._fail_first -= 1
            raise DeliverFailed(uid)
        self.delivered.append((uid, raw))

    async def report(self, state: ChannelState, detail: str | None) -> None:
        self.states.append((state, detail))

    @property
    def raws(self) -> list[bytes]:
        return [raw for _, raw in self.delivered]


class DeliverFailed(Exception):
    """The event could not be made durable (Redis down, say)."""


def context_for(settings: EmailSettings, bus: Bus, recorder: Recorder) -> ChannelContext[Any]:
    return ChannelContext(
        hotel="plaza",
        channel="email",
        settings=settings,
        redis=bus.redis,
        publisher=bus.publisher,
        names=bus.names,
        report_state=recorder.report,
    )


async def until(condition: Callable[[], bool]) -> None:
    """Wait for *condition*, checking it often; fail after :data:`LIMIT`."""
    with anyio.fail_after(LIMIT):
        while True:
            if condition():
                return
            await anyio.sleep(0.02)


async def append(mailbox: Mailbox, *numbers: int) -> None:
    for number in numbers:
        await anyio.to_thread.run_sync(mailbox.append, raw_message(number))


@asynccontextmanager
async def running(inbound: ImapInbound) -> AsyncIterator[ImapInbound]:
    """The loop runs inside the block and is cancelled (promptly) after it."""
    async with anyio.create_task_group() as group:
        group.start_soon(inbound.run)
        yield inbound
        group.cancel_scope.cancel()


def make_inbound(
    settings: EmailSettings, bus: Bus, recorder: Recorder, **options: Any
) -> ImapInbound:
    options.setdefault("reconnect_initial_seconds", 0.05)
    return ImapInbound(context_for(settings, bus, recorder), recorder.deliver, **options)


async def stored_cursor(settings: EmailSettings, bus: Bus, recorder: Recorder) -> ImapCursor | None:
    keys = context_for(settings, bus, recorder).keys
    return await ImapCursorStore(keys, settings.inbox_folder).load()


@pytest.mark.parametrize("security", [Security.TLS, Security.STARTTLS])
async def test_delivers_the_backlog_in_order_then_flags_it_seen(
    security: Security,
    imap_settings: EmailSettingsFactory,
    imap_mailbox: Mailbox,
    begasist_bus: Bus,
) -> None:
    settings = imap_settings(security)
    await append(imap_mailbox, 1, 2, 3)
    recorder = Recorder()
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: inbound.waiting_for_mail)
    assert recorder.delivered == [(1, raw_message(1)), (2, raw_message(2)), (3, raw_message(3))]
    cursor = await stored_cursor(settings, begasist_bus, recorder)
    assert cursor is not None
    assert (cursor.mailbox, cursor.last_uid) == ("INBOX", 3)
    assert cursor.uidvalidity == await anyio.to_thread.run_sync(imap_mailbox.uidvalidity)
    flags = await anyio.to_thread.run_sync(imap_mailbox.flags)
    assert all("\\Seen" in flags[uid] for uid in (1, 2, 3))


async def test_nothing_moves_or_is_flagged_before_deliver_returns(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox, begasist_bus: Bus
) -> None:
    settings = imap_settings()
    await append(imap_mailbox, 1, 2)
    seen_during: list[tuple[int, bool, int | None]] = []
    recorder = Recorder()

    async def deliver(raw: bytes, uid: int) -> None:
        flags = await anyio.to_thread.run_sync(imap_mailbox.flags)
        cursor = await stored_cursor(settings, begasist_bus, recorder)
        seen_during.append((uid, "\\Seen" in flags[uid], cursor and cursor.last_uid))
        await recorder.deliver(raw, uid)

    inbound = ImapInbound(context_for(settings, begasist_bus, recorder), deliver)
    async with running(inbound):
        await until(lambda: inbound.waiting_for_mail)
    assert seen_during == [(1, False, 0), (2, False, 1)]


@pytest.mark.parametrize("security", [Security.TLS, Security.STARTTLS])
async def test_an_untrusted_certificate_is_refused(
    security: Security, imap_settings: EmailSettingsFactory
) -> None:
    with anyio.fail_after(LIMIT), pytest.raises(ImapTlsRefused, match="not trusted"):
        await ImapConnection.open(imap_settings(security, tls_ca_pem=None))


async def test_starttls_not_offered_means_no_login(
    imap_settings: EmailSettingsFactory, imap_account: Account
) -> None:
    with DovecotServer(tls=False) as plain_only:
        settings = imap_settings(
            Security.STARTTLS, imap_host=plain_only.host, imap_port=plain_only.plain_port
        )
        with anyio.fail_after(LIMIT), pytest.raises(ImapTlsRefused, match="STARTTLS"):
            await ImapConnection.open(settings)
        logs = plain_only.logs()
    assert "Login:" not in logs
    assert "auth failed" not in logs


async def test_an_untrusted_certificate_leaves_the_channel_misconfigured(
    imap_settings: EmailSettingsFactory, begasist_bus: Bus
) -> None:
    recorder = Recorder()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await anyio.sleep_forever()

    settings = imap_settings(tls_ca_pem=None)
    async with running(make_inbound(settings, begasist_bus, recorder, sleep=sleep)):
        await until(lambda: bool(waits))
    assert waits == [300.0]
    assert [state for state, _ in recorder.states] == [ChannelState.MISCONFIGURED]
    assert "not trusted" in (recorder.states[0][1] or "")


async def test_a_missing_folder_leaves_the_channel_misconfigured(
    imap_settings: EmailSettingsFactory, begasist_bus: Bus
) -> None:
    recorder = Recorder()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await anyio.sleep_forever()

    settings = imap_settings(inbox_folder="Reservas Perdidas")
    async with running(make_inbound(settings, begasist_bus, recorder, sleep=sleep)):
        await until(lambda: bool(waits))
    assert waits == [300.0]
    assert [state for state, _ in recorder.states] == [ChannelState.MISCONFIGURED]
    assert "'Reservas Perdidas' cannot be read" in (recorder.states[0][1] or "")


async def test_a_ca_that_is_not_a_certificate_is_a_setup_error(
    imap_settings: EmailSettingsFactory,
) -> None:
    with pytest.raises(ImapTlsRefused, match="tls_ca_pem"):
        await ImapConnection.open(imap_settings(tls_ca_pem="not a certificate"))


async def test_new_mail_during_idle_is_delivered(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox, begasist_bus: Bus
) -> None:
    # A poll interval longer than the test: only IDLE can bring the second message.
    settings = imap_settings(poll_interval_seconds=3600.0)
    await append(imap_mailbox, 1)
    recorder = Recorder()
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: len(recorder.delivered) == 1 and inbound.waiting_for_mail)
        await append(imap_mailbox, 2)
        await until(lambda: len(recorder.delivered) == 2)
    assert recorder.raws == [raw_message(1), raw_message(2)]


async def test_polling_works_without_idle(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox, begasist_bus: Bus
) -> None:
    settings = imap_settings(poll_interval_seconds=0.2, idle_renew_seconds=1.0)
    recorder = Recorder()
    inbound = make_inbound(settings, begasist_bus, recorder, use_idle=False)
    async with running(inbound):
        await until(lambda: inbound.waiting_for_mail)
        await append(imap_mailbox, 1, 2)
        await until(lambda: len(recorder.delivered) == 2)
    assert recorder.raws == [raw_message(1), raw_message(2)]


async def test_an_idle_ends_when_due_and_the_session_goes_on(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox
) -> None:
    # The loop re-issues IDLE after each return: here, the connection level.
    with anyio.fail_after(LIMIT):
        async with await ImapConnection.open(imap_settings()) as connection:
            await connection.select("INBOX")
            assert connection.has_idle
            for _ in range(3):
                assert await connection.idle(0.1) == []
            assert await connection.uids_after(0) == []
            async with anyio.create_task_group() as group:
                group.start_soon(append, imap_mailbox, 1)
                changes = await connection.idle(LIMIT)
            assert b"1 EXISTS" in changes
            assert await connection.uids_after(0) == [1]


async def test_mail_that_came_while_stopped_is_backfilled_once_in_order(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox, begasist_bus: Bus
) -> None:
    settings = imap_settings()
    recorder = Recorder()
    await append(imap_mailbox, 1)
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: len(recorder.delivered) == 1 and inbound.waiting_for_mail)
    await append(imap_mailbox, 2, 3, 4)
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: len(recorder.delivered) == 4 and inbound.waiting_for_mail)
    assert recorder.delivered == [(n, raw_message(n)) for n in (1, 2, 3, 4)]


async def test_a_failed_delivery_moves_nothing_and_the_message_comes_again(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox, begasist_bus: Bus
) -> None:
    settings = imap_settings()
    await append(imap_mailbox, 1, 2)
    failing = Recorder(fail_first=1)
    with anyio.fail_after(LIMIT), pytest.raises(DeliverFailed):
        await make_inbound(settings, begasist_bus, failing).run()
    cursor = await stored_cursor(settings, begasist_bus, failing)
    assert cursor is not None
    assert cursor.last_uid == 0
    flags = await anyio.to_thread.run_sync(imap_mailbox.flags)
    assert all("\\Seen" not in flags[uid] for uid in (1, 2))

    recorder = Recorder()
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: inbound.waiting_for_mail)
    assert recorder.delivered == [(1, raw_message(1)), (2, raw_message(2))]


async def test_a_new_uidvalidity_delivers_the_folder_again(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox, begasist_bus: Bus
) -> None:
    settings = imap_settings()
    await append(imap_mailbox, 1, 2)
    recorder = Recorder()
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: inbound.waiting_for_mail)
    new_validity = await anyio.to_thread.run_sync(imap_mailbox.change_uidvalidity)
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: len(recorder.delivered) == 4 and inbound.waiting_for_mail)
    # Duplicates by design: the same bytes, so the same Message-ID and event key,
    # which the suite stores once.
    assert recorder.raws == [raw_message(1), raw_message(2)] * 2
    cursor = await stored_cursor(settings, begasist_bus, recorder)
    assert cursor is not None
    assert (cursor.uidvalidity, cursor.last_uid) == (new_validity, 2)


async def test_a_connection_dropped_mid_idle_is_reopened(
    dovecot: DovecotServer,
    imap_account: Account,
    imap_settings: EmailSettingsFactory,
    imap_mailbox: Mailbox,
    begasist_bus: Bus,
) -> None:
    settings = imap_settings(poll_interval_seconds=3600.0)
    recorder = Recorder()
    await append(imap_mailbox, 1)
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: len(recorder.delivered) == 1 and inbound.waiting_for_mail)
        await anyio.to_thread.run_sync(dovecot.kick, imap_account)
        await until(lambda: any(state is ChannelState.BACKOFF for state, _ in recorder.states))
        await append(imap_mailbox, 2)
        await until(lambda: len(recorder.delivered) == 2)
        await until(lambda: recorder.states[-1][0] is ChannelState.RUNNING)
    assert recorder.raws == [raw_message(1), raw_message(2)]


async def test_wrong_credentials_leave_it_misconfigured_without_retrying(
    dovecot: DovecotServer,
    imap_account: Account,
    imap_settings: EmailSettingsFactory,
    begasist_bus: Bus,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A quote is escaped on the wire, where aioimaplib's own masking misses it.
    wrong_password = 'not-the-"password"-4711'

    settings = imap_settings(imap_password=wrong_password)
    with anyio.fail_after(LIMIT), pytest.raises(ImapAuthFailed):
        await ImapConnection.open(settings)

    recorder = Recorder()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await anyio.sleep_forever()

    caplog.set_level(logging.DEBUG)
    async with running(make_inbound(settings, begasist_bus, recorder, sleep=sleep)):
        await until(lambda: bool(waits))
        await until(lambda: dovecot.login_count(imap_account, failed=True) >= 2)
    assert waits == [300.0]
    assert recorder.states == [
        (ChannelState.MISCONFIGURED, f"IMAP login refused for {imap_account.user}")
    ]
    # One refused login by open() above, one by the loop: then it waits.
    assert dovecot.login_count(imap_account, failed=True) == 2
    assert "Sending" in caplog.text  # the library's debug log was captured
    assert "4711" not in caplog.text  # no form of the password, quoted or not


async def test_the_cursor_never_moves_back(
    imap_settings: EmailSettingsFactory, begasist_bus: Bus
) -> None:
    settings = imap_settings()
    store = ImapCursorStore(context_for(settings, begasist_bus, Recorder()).keys, "INBOX")
    assert await store.load() is None
    cursor = await store.start(uidvalidity=7)
    moved = await store.advance(cursor, 5)
    assert await store.advance(cursor, 3) == moved
    assert await store.load() == ImapCursor("INBOX", 7, 5)


async def test_append_stores_a_copy_with_its_flags(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox
) -> None:
    with anyio.fail_after(LIMIT):
        async with await ImapConnection.open(imap_settings()) as connection:
            await connection.append(raw_message(1), "INBOX", flags="\\Seen")
            await connection.select("INBOX")
            assert await connection.uids_after(0) == [1]
            assert await connection.fetch_raw(1) == raw_message(1)
    flags = await anyio.to_thread.run_sync(imap_mailbox.flags)
    assert "\\Seen" in flags[1]


class PoisonedRecorder(Recorder):
    """A ``deliver`` that fails every time for the UIDs in *poisoned*."""

    def __init__(self, *poisoned: int) -> None:
        super().__init__()
        self.poisoned = set(poisoned)
        self.attempts = 0

    async def deliver(self, raw: bytes, uid: int) -> None:
        if uid in self.poisoned:
            self.attempts += 1
            raise DeliverFailed(uid)
        await super().deliver(raw, uid)


async def test_a_message_that_always_fails_is_set_aside_and_later_mail_flows(
    imap_settings: EmailSettingsFactory,
    imap_mailbox: Mailbox,
    begasist_bus: Bus,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = imap_settings()
    await append(imap_mailbox, 1, 2)
    recorder = PoisonedRecorder(1)
    # Each run ends with the error, as under the supervisor, until the message is set aside.
    for _ in range(MAX_DELIVERY_ATTEMPTS - 1):
        with anyio.fail_after(LIMIT), pytest.raises(DeliverFailed):
            await make_inbound(settings, begasist_bus, recorder).run()
    assert recorder.delivered == []
    with caplog.at_level(logging.ERROR):
        async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
            await until(lambda: inbound.waiting_for_mail)
    assert recorder.attempts == MAX_DELIVERY_ATTEMPTS
    assert recorder.delivered == [(2, raw_message(2))]
    assert any("set aside" in record.getMessage() for record in caplog.records)
    cursor = await stored_cursor(settings, begasist_bus, recorder)
    assert cursor is not None
    assert cursor.last_uid == 2
    flags = await anyio.to_thread.run_sync(imap_mailbox.flags)
    # Left unread on the server, where staff still see it.
    assert "\\Seen" not in flags[1]
    assert "\\Seen" in flags[2]


async def test_an_oversized_message_is_not_downloaded_whole(
    imap_settings: EmailSettingsFactory, imap_mailbox: Mailbox, begasist_bus: Bus
) -> None:
    # Fetching a huge mail whole can outlast every command timeout, on every
    # reconnect: only what the parser reads of an oversized one is fetched.
    settings = imap_settings(max_message_bytes=4096)
    # Longer than what is read for 4 kB of decoded content (base64's growth plus 1 MiB).
    big = raw_message(1).replace(b"Hola, mensaje 1.", b"x" * 1_200_000)
    await anyio.to_thread.run_sync(imap_mailbox.append, big)
    await append(imap_mailbox, 2)
    recorder = Recorder()
    async with running(make_inbound(settings, begasist_bus, recorder)) as inbound:
        await until(lambda: inbound.waiting_for_mail)
    assert [uid for uid, _ in recorder.delivered] == [1, 2]
    first = recorder.delivered[0][1]
    assert len(first) == fetch_limit(settings.max_message_bytes) + 1
    assert big.startswith(first)
    assert recorder.delivered[1][1] == raw_message(2)
