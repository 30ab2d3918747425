"""The IMAP inbound loop: deliver each new message once its predecessors are durable, then wait.

Order of effects per message: fetch with ``BODY.PEEK[]`` (the server changes
nothing), ``deliver`` (when it returns, the event is durable), advance the
cursor, and only then flag ``\\Seen``. A crash anywhere in between delivers
the message again on the next start, never loses it: at-least-once, with the
event's idempotency key (the Message-ID) making it exactly-once downstream.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

import anyio
from begasist_core import ChannelContext, ChannelState

from begasist_channels_email.cursor import ImapCursor, ImapCursorStore
from begasist_channels_email.imap_connection import (
    ImapAuthFailed,
    ImapConnection,
    ImapFolderMissing,
    ImapTlsRefused,
    ImapUnavailable,
    SelectedFolder,
)
from begasist_channels_email.parsing import fetch_limit
from begasist_channels_email.settings import EmailSettings

__all__ = ["MAX_DELIVERY_ATTEMPTS", "Deliver", "ImapInbound", "Sleep"]

Deliver = Callable[[bytes, int], Awaitable[None]]
"""``deliver(raw, uid)``: turn one raw message into a durable event, or raise.

Returning means the event is durable (published with its idempotency key);
raising leaves the cursor and the message's flags as they were, and the
exception ends :meth:`ImapInbound.run` (the supervisor restarts it, and the
message comes again), until it has failed :data:`MAX_DELIVERY_ATTEMPTS` times.
"""

Sleep = Callable[[float], Awaitable[None]]

MAX_DELIVERY_ATTEMPTS: Final = 5
"""A message whose ``deliver`` failed this many times (counted in Redis, across
restarts) is set aside: logged, left unread on the server, and the cursor moves
past it, so one poisoned mail never blocks every later one. Counting needs
Redis, so an outage of Redis itself never sets anything aside."""
DELIVERY_FAILURES_TTL: Final = timedelta(days=7)

MISCONFIGURED_WAIT_SECONDS: Final = 300.0
"""After refused credentials, an untrusted certificate or a missing folder: a person has
to act, so the loop reports ``misconfigured`` and waits this long; no retry storm."""


class ImapInbound:
    """Receives the hotel's mail from one IMAP folder until cancelled.

    ``use_idle=False`` polls every ``poll_interval_seconds`` even when the
    server has IDLE. ``first_start_backfill=False`` makes a first start (no
    cursor) skip the mail already in the folder. ``sleep`` is the wait used
    between attempts (injectable, so tests can see what was waited for).
    """

    def __init__(
        self,
        context: ChannelContext[EmailSettings],
        deliver: Deliver,
        *,
        use_idle: bool = True,
        mark_seen: bool = True,
        first_start_backfill: bool = True,
        misconfigured_wait_seconds: float = MISCONFIGURED_WAIT_SECONDS,
        reconnect_initial_seconds: float = 1.0,
        reconnect_max_seconds: float = 60.0,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self._context = context
        self._settings = context.settings
        self._deliver = deliver
        self._use_idle = use_idle
        self._mark_seen = mark_seen
        self._first_start_backfill = first_start_backfill
        self._misconfigured_wait = misconfigured_wait_seconds
        self._reconnect_initial = reconnect_initial_seconds
        self._reconnect_max = reconnect_max_seconds
        self._sleep = sleep
        self._cursors = ImapCursorStore(context.keys, self._settings.inbox_folder)
        self._log = context.logger
        self._reported: ChannelState | None = None
        self.waiting_for_mail = False
        """True while the loop waits (IDLE or a poll interval) with everything delivered."""

    async def run(self) -> None:
        """Connect, backfill, wait for mail, repeat; reconnect on failures; never returns.

        Cancelling it drops the connection at once. Exceptions from
        ``deliver`` propagate; server trouble does not.
        """
        failures = 0
        while True:
            try:
                await self._session()
            except (ImapAuthFailed, ImapTlsRefused, ImapFolderMissing) as error:
                failures = 0
                await self._wait_for_a_person(str(error))
            except ImapUnavailable as error:
                failures = 0 if self._reported is ChannelState.RUNNING else failures + 1
                delay = self._reconnect_delay(failures)
                self._log.warning("IMAP session ended (%s); reconnecting in %.1f s", error, delay)
                await self._report(ChannelState.BACKOFF, f"{error}; reconnecting")
                await self._sleep(delay)

    async def _wait_for_a_person(self, detail: str) -> None:
        self._log.error("%s; retrying in %.0f s", detail, self._misconfigured_wait)
        await self._report(ChannelState.MISCONFIGURED, detail)
        await self._sleep(self._misconfigured_wait)

    def _reconnect_delay(self, failures: int) -> float:
        # Jittered so that many hotels on one server do not reconnect in step.
        ceiling = min(self._reconnect_max, self._reconnect_initial * 2.0 ** min(failures, 30))
        return random.uniform(ceiling / 2, ceiling)

    async def _session(self) -> None:
        async with await ImapConnection.open(self._settings) as connection:
            folder = await connection.select(self._settings.inbox_folder)
            cursor = await self._cursor_for(folder)
            await self._report(ChannelState.RUNNING, None)
            idle = self._use_idle and connection.has_idle
            if not idle:
                self._log.info("IMAP: polling every %s s", self._settings.poll_interval_seconds)
            while True:
                cursor = await self._backfill(connection, cursor)
                self.waiting_for_mail = True
                try:
                    if idle:
                        await connection.idle(self._settings.idle_renew_seconds)
                    else:
                        await anyio.sleep(self._settings.poll_interval_seconds)
                finally:
                    self.waiting_for_mail = False

    async def _cursor_for(self, folder: SelectedFolder) -> ImapCursor:
        cursor = await self._cursors.load()
        if cursor is not None and cursor.uidvalidity == folder.uidvalidity:
            return cursor
        if cursor is not None:
            # The server renumbered the folder (restored, rebuilt, moved): old UIDs
            # mean nothing now. Everything is delivered again; inbound events are
            # keyed by Message-ID, so the suite stores nothing twice.
            self._log.warning(
                "IMAP UIDVALIDITY of %s changed (%s -> %s): reading the folder again",
                folder.name,
                cursor.uidvalidity,
                folder.uidvalidity,
            )
            return await self._cursors.start(folder.uidvalidity)
        skip_to = 0
        if not self._first_start_backfill and folder.uidnext is not None:
            skip_to = folder.uidnext - 1
        return await self._cursors.start(folder.uidvalidity, skip_to)

    async def _backfill(self, connection: ImapConnection, cursor: ImapCursor) -> ImapCursor:
        """Deliver every message after the cursor, in UID order; the moved cursor."""
        for uid in await connection.uids_after(cursor.last_uid):
            raw = await connection.fetch_raw(
                uid, max_bytes=fetch_limit(self._settings.max_message_bytes)
            )
            if raw is None:
                self._log.info("IMAP message %s vanished before it was read", uid)
            elif not await self._delivered(raw, uid, cursor):
                raw = None  # set aside: left as it is on the server
            cursor = await self._cursors.advance(cursor, uid)
            if raw is not None and self._mark_seen:
                await connection.mark_seen(uid)
        return cursor

    async def _delivered(self, raw: bytes, uid: int, cursor: ImapCursor) -> bool:
        """Deliver *raw*; False once it has failed too often (set aside), else re-raise."""
        try:
            await self._deliver(raw, uid)
        except Exception as error:
            name = f"imap-failures:{cursor.mailbox}:{cursor.uidvalidity}:{uid}"
            stored = await self._context.keys.get(name)
            failures = (int(stored) if stored is not None and stored.isdigit() else 0) + 1
            if failures < MAX_DELIVERY_ATTEMPTS:
                await self._context.keys.set(name, str(failures), ttl=DELIVERY_FAILURES_TTL)
                raise
            self._log.error(
                "IMAP message %s set aside after %d failed deliveries, left unread in %s: %r",
                uid,
                failures,
                cursor.mailbox,
                error,
            )
            await self._context.keys.delete(name)
            return False
        return True

    async def _report(self, state: ChannelState, detail: str | None) -> None:
        if state is ChannelState.RUNNING and self._reported in (None, ChannelState.RUNNING):
            self._reported = state
            return
        self._reported = state
        await self._context.report_state(state, detail)
