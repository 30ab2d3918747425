"""Sending through Meta's Cloud API: once per message, paced, retried, errors mapped for staff."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import anyio
import httpx
from begasist_core import (
    SENT_RECORD_PATIENCE,
    ChannelCommand,
    ChannelContext,
    ChannelError,
    CredentialsRevoked,
    Message,
    ReplyWindowClosed,
    SendReceipt,
    UnsupportedCommand,
)

from begasist_channels_whatsapp.errors import (
    CREDENTIAL_CODES,
    REPLY_WINDOW_CODES,
    MetaRejected,
    Retry,
    SendRetriesExhausted,
    retry_kind,
)
from begasist_channels_whatsapp.graph import GraphApiError, GraphClient, new_http_client
from begasist_channels_whatsapp.pacing import Clock, SendPacing
from begasist_channels_whatsapp.reconcile import (
    callback_data,
    intent_key,
    part_key,
    wait_for_part,
)
from begasist_channels_whatsapp.sending import plan_message
from begasist_channels_whatsapp.settings import WhatsAppSettings
from begasist_channels_whatsapp.window import CustomerServiceWindow

__all__ = ["PART_TTL", "WINDOW_CLOSED", "CloudTransport", "RetryPolicy"]

PART_TTL: Final = timedelta(days=7)
"""How long an accepted part's wamid is kept: as long as core's sent ledger keeps a send."""

WINDOW_CLOSED: Final = (
    "the guest's 24-hour WhatsApp window is closed (they have not written in the last "
    "24 hours): free text and media cannot be sent; send an approved template instead"
)


@dataclass(frozen=True)
class RetryPolicy:
    """Delays between attempts: exponential from ``initial`` to ``maximum``, with jitter.

    A ``Retry-After`` longer than ``max_wait`` is not waited for in the send:
    it gives up at once and the runtime redelivers later, so one message never
    holds its stream for minutes.
    """

    initial: float = 0.5
    maximum: float = 8.0
    max_wait: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: from half its ceiling to the ceiling."""
        ceiling = min(self.maximum, self.initial * 2 ** (attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)


class CloudTransport:
    """The Cloud API transport of :class:`~begasist_channels_whatsapp.WhatsAppChannel`.

    ``send`` is idempotent per message id (core's sent ledger) and per part:
    each accepted part's wamid is kept at once, so a redelivery after a crash
    or a failure midway sends only the parts not yet accepted, never one
    twice. A crash inside a part's Graph call leaves its outcome unknown: the
    redelivery waits for Meta's status webhook to report the part (see
    :mod:`~begasist_channels_whatsapp.reconcile`) before sending it again.
    Safe under concurrent sends: shared state is the pacers (slots are
    reserved without awaiting) and the HTTP client (httpx pools connections).

    The HTTP client lives while :meth:`run` runs and is closed when it is
    cancelled; a send while ``run`` is not running (a test, a one-off) uses a
    client of its own for that send.
    """

    def __init__(
        self,
        context: ChannelContext[WhatsAppSettings],
        *,
        split_text: Callable[[str], Sequence[str]],
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._context = context
        self._settings = context.settings
        number, token = self._settings.phone_number_id, self._settings.access_token
        if number is None or token is None:
            # The settings validator requires both for transport "cloud": a bug if reached.
            raise ChannelError("the cloud transport needs phone_number_id and access_token")
        self._phone_number_id = number
        self._access_token = token
        self._split_text = split_text
        self.pacing = SendPacing(
            messages_per_second=self._settings.messages_per_second,
            per_recipient_interval=self._settings.per_recipient_interval_seconds,
            clock=clock,
        )
        self.window = CustomerServiceWindow(context.keys)
        self._retry = retry or RetryPolicy()
        self._running = False
        self._client: httpx.AsyncClient | None = None

    async def run(self) -> None:
        """Hold the shared HTTP client until cancelled, then close it."""
        self._running = True
        try:
            await anyio.sleep_forever()
        finally:
            self._running = False
            client, self._client = self._client, None
            if client is not None:
                with anyio.CancelScope(shield=True), anyio.move_on_after(0.5):
                    await client.aclose()

    async def command(self, command: ChannelCommand) -> None:
        """The Cloud API has no operator commands (the linked transport has ``logout``)."""
        raise UnsupportedCommand(f"the whatsapp cloud transport has no command {command.command!r}")

    async def send(self, message: Message) -> SendReceipt:
        """Send *message* as one Cloud API message per part; see the class doc for retries.

        Raises :class:`ReplyWindowClosed` for free text or media outside the
        guest's window, :class:`MetaRejected` or ``UnsendableMessage`` (both
        permanent) when retrying cannot help, and :class:`SendRetriesExhausted`
        (transient: redelivered later) when Meta stayed throttled or down.
        """
        recorded = await self._context.sent.get(message.id)
        if recorded is not None:
            return recorded
        plan = plan_message(message, self._split_text)
        keys = [part_key(message.id, index) for index in range(len(plan.payloads))]
        known = [await self._context.keys.get(key) for key in keys]
        for index, key in enumerate(keys):
            if known[index] is None:
                known[index] = await self._settle_uncertain(message.id, index, key)
        pending = any(wamid is None for wamid in known)
        if pending and plan.free_form and not await self.window.is_open(message.guest.address):
            raise ReplyWindowClosed(WINDOW_CLOSED)
        wamids: list[str] = []
        async with self.http() as http:
            graph = GraphClient(
                http,
                version=self._settings.graph_api_version,
                access_token=self._access_token.get_secret_value(),
            )
            for index, (key, payload) in enumerate(zip(keys, plan.payloads, strict=True)):
                wamid = known[index]
                if wamid is not None:
                    wamids.append(wamid.decode())
                    continue
                part = _Part(index, len(keys), message.guest.address)
                # Kept before the call: a successor finding it without a wamid knows
                # the outcome is unknown and asks the status webhooks first.
                await self._context.keys.set(
                    intent_key(message.id, index),
                    b"1",
                    ttl=PART_TTL,
                    patience=SENT_RECORD_PATIENCE,
                )
                tagged = {**payload, "biz_opaque_callback_data": callback_data(message.id, index)}
                accepted = await self._deliver(graph, tagged, part)
                # Kept before the next part goes: a crash now must not resend this one.
                await self._context.keys.set(
                    key, accepted, ttl=PART_TTL, patience=SENT_RECORD_PATIENCE
                )
                wamids.append(accepted)
        receipt = SendReceipt(message_id=message.id, provider_message_ids=tuple(wamids))
        await self._context.sent.record(receipt)
        return receipt

    async def _settle_uncertain(self, message_id: str, index: int, key: str) -> bytes | None:
        """The wamid of a part whose last Graph call's outcome is unknown, if Meta reports one.

        An intent without a wamid means a send died between its Graph call and
        keeping the answer. Meta's status webhook for the part (matched by its
        ``biz_opaque_callback_data``) records the wamid; it is waited for at most
        ``uncertain_send_wait_seconds``. Without it the part is sent again:
        at-least-once is the fallback, a lost reply being worse than a repeat.
        """
        if await self._context.keys.get(intent_key(message_id, index)) is None:
            return None
        seconds = self._settings.uncertain_send_wait_seconds
        wamid = await wait_for_part(self._context.keys, key, seconds, self.pacing.clock)
        if wamid is not None:
            self._context.logger.info(
                "whatsapp send of %s part %d: an earlier attempt was accepted as %s "
                "(reported by a status webhook); not sent again",
                message_id,
                index + 1,
                wamid.decode(),
            )
        else:
            self._context.logger.warning(
                "whatsapp send of %s part %d: an earlier attempt's outcome is unknown and no "
                "status webhook reported it within %.1f s; sending again (it may arrive twice)",
                message_id,
                index + 1,
                seconds,
            )
        return wamid

    @asynccontextmanager
    async def http(self) -> AsyncIterator[httpx.AsyncClient]:
        """The shared HTTP client while :meth:`run` runs, else a client for this block."""
        base_url = str(self._settings.graph_api_url)
        if self._running:
            if self._client is None:
                self._client = new_http_client(base_url)
            yield self._client
            return
        async with new_http_client(base_url) as client:
            yield client

    async def _deliver(self, graph: GraphClient, payload: dict[str, Any], part: _Part) -> str:
        """POST one part, retrying what is worth it; its wamid."""
        attempts = self._settings.send_attempts
        failure = "no attempt made"
        for attempt in range(1, attempts + 1):
            await self.pacing.acquire(part.recipient)
            try:
                return await graph.send_message(self._phone_number_id, payload)
            except GraphApiError as error:
                wait = await self._after_refusal(error, attempt, part)
                failure = str(error)
            except httpx.TransportError as error:
                # A timeout may hide an accepted message; without an idempotency key
                # in the Cloud API, retrying is the lesser evil than losing the reply.
                wait = self._retry.delay(attempt)
                failure = f"{type(error).__name__}: {error}"
            if attempt == attempts:
                break
            self._context.logger.warning(
                "whatsapp send%s: attempt %d of %d failed (%s); retrying in %.1f s",
                part.where(),
                attempt,
                attempts,
                failure,
                wait,
            )
            await self.pacing.clock.sleep(wait)
        raise SendRetriesExhausted(
            f"{failure}{part.where()}; gave up after {attempts} attempts, retrying later"
        )

    async def _after_refusal(self, error: GraphApiError, attempt: int, part: _Part) -> float:
        """The seconds to wait before the next attempt, or the permanent error to raise."""
        if error.code in REPLY_WINDOW_CODES:
            # Meta knows the window better than our record: forget it, so the
            # next free-text send fails fast instead of calling Meta again.
            await self.window.forget(part.recipient)
            raise ReplyWindowClosed(WINDOW_CLOSED + part.where()) from error
        if error.code in CREDENTIAL_CODES:
            self._context.logger.warning(
                "whatsapp send refused, credentials no longer valid: Meta error %s: %s "
                "(fbtrace_id %s)",
                error.code,
                error.title,
                error.fbtrace_id,
            )
            raise CredentialsRevoked(
                f"Meta error {error.code}: {error.title or 'invalid access token'}. The access "
                "token expired or was revoked: save a new one in the channel's settings; "
                "messages wait until then."
            ) from error
        kind = retry_kind(error.status, error.code)
        if kind is Retry.NEVER:
            what = f"Meta error {error.code}" if error.code is not None else "Graph API error"
            text = f"{what}: {error.title or f'HTTP {error.status}'}{part.where()}"
            self._context.logger.warning(
                "whatsapp send refused: %s (details: %s, fbtrace_id %s)",
                text,
                error.details,
                error.fbtrace_id,
            )
            raise MetaRejected(text, code=error.code, fbtrace_id=error.fbtrace_id) from error
        if error.retry_after is not None:
            if error.retry_after > self._retry.max_wait:
                raise SendRetriesExhausted(
                    f"{error}{part.where()}; "
                    f"Meta asks to wait {error.retry_after:.0f} s, retrying later"
                ) from error
            return error.retry_after
        wait = self._retry.delay(attempt)
        if kind is Retry.PAIR_RATE:
            return max(wait, self._settings.per_recipient_interval_seconds)
        return wait


@dataclass(frozen=True, slots=True)
class _Part:
    index: int
    count: int
    recipient: str

    def where(self) -> str:
        """`` (part 2 of 3; part 1 was sent)`` for a multi-part message; empty otherwise."""
        if self.count == 1:
            return ""
        if self.index == 0:
            sent = "none was sent"
        elif self.index == 1:
            sent = "part 1 was sent"
        else:
            sent = f"parts 1-{self.index} were sent"
        return f" (part {self.index + 1} of {self.count}; {sent})"
