"""The chaos soak's load: signed WhatsApp webhooks and staff replies, retried as their senders do.

A webhook is Meta's Cloud API delivery of one text message, signed with the
app secret (``X-Hub-Signature-256``); the text and the wamid are unique, so
the store can be checked message by message. Like Meta, the poster sends the
same body again until it gets a 200 (refused connections, 5xx, timeouts),
within a retry budget.

A staff reply goes through the API as the manager's bearer token, with an
``Idempotency-Key`` and a unique reply token in its text, so the Graph API
stand-in's records say how many times each reply reached Meta. A reply is
retried with the same key and body until a 2xx (also on 409, an earlier try
still in progress), within the same budget; it counts as accepted once any
try answered 2xx.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
import httpx
from anyio.abc import TaskGroup

__all__ = [
    "APP_SECRET",
    "INBOUND_TOKEN",
    "REPLY_TOKEN",
    "Inbound",
    "Ledger",
    "Reply",
    "phone_number_id",
]

APP_SECRET: Final = "soak-app-secret"
INBOUND_TOKEN: Final = re.compile(r"\bin-[0-9]{6}\b")
REPLY_TOKEN: Final = re.compile(r"\bre-[0-9]{5}\b")
FIRST_RETRY: Final = 0.25
LAST_RETRY: Final = 2.0
"""Retry delays double from the first to the last (Meta's own back off is slower still)."""


def phone_number_id(hotel_index: int) -> str:
    """The hotel's Cloud API number id: the channel skips changes for another number."""
    return f"1065403522{hotel_index:05d}"


def guest_number(hotel_index: int, guest: int) -> str:
    return f"346{hotel_index:02d}{guest:06d}"


@dataclass
class Inbound:
    """One guest message: its webhook, and what became of each try to deliver it."""

    n: int
    hotel: str
    kind: str
    """``warm-up``, ``load`` or ``marker`` (sent right after a bot kill, to time the takeover)."""
    number: str
    guest: str
    statuses: Counter[str] = field(default_factory=Counter)
    accepted_at: float | None = None
    """Wall time of the first 200."""

    @property
    def token(self) -> str:
        return f"in-{self.n:06d}"

    @property
    def wamid(self) -> str:
        return f"wamid.SOAK{self.n:06d}"

    def signed(self, sent_at: int) -> tuple[bytes, dict[str, str]]:
        """The delivery as Meta sends it, and its headers; the same bytes on every retry."""
        message = {
            "from": self.guest,
            "id": self.wamid,
            "timestamp": str(sent_at),
            "type": "text",
            "text": {"body": f"Hola, una pregunta ({self.token})"},
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": self.number},
            "contacts": [{"profile": {"name": f"Guest {self.guest}"}, "wa_id": self.guest}],
            "messages": [message],
        }
        change = {"field": "messages", "value": value}
        delivery = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [change]}],
        }
        body = json.dumps(delivery, separators=(",", ":")).encode()
        signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return body, {
            "content-type": "application/json",
            "x-hub-signature-256": f"sha256={signature}",
        }


@dataclass
class Reply:
    """One staff reply and what became of each try to post it."""

    n: int
    hotel: str
    conversation_id: str
    run: str
    statuses: Counter[str] = field(default_factory=Counter)
    accepted_at: float | None = None
    message_ids: set[str] = field(default_factory=set)
    """The message ids the 2xx answers carried (more than one: the key was not honoured)."""

    @property
    def token(self) -> str:
        return f"re-{self.n:05d}"

    @property
    def key(self) -> str:
        return f"soak-{self.run}-{self.token}"

    @property
    def text(self) -> str:
        return f"Gracias por escribir: su habitación está lista ({self.token})."


def _outcome(answer: httpx.Response | httpx.TransportError) -> str:
    if isinstance(answer, httpx.TransportError):
        return type(answer).__name__
    return str(answer.status_code)


async def deliver_webhook(client: httpx.AsyncClient, item: Inbound, budget: float) -> None:
    """POST the webhook until a 200 or until *budget* seconds after the first try."""
    body, headers = item.signed(int(time.time()))
    path = f"/webhooks/{item.hotel}/whatsapp"
    began = time.monotonic()
    delay = FIRST_RETRY
    while True:
        answer: httpx.Response | httpx.TransportError
        try:
            answer = await client.post(path, content=body, headers=headers)
        except httpx.TransportError as error:
            answer = error
        outcome = _outcome(answer)
        item.statuses[outcome] += 1
        if outcome == "200":
            item.accepted_at = time.time()
            return
        if time.monotonic() - began + delay > budget:
            return
        await anyio.sleep(delay)
        delay = min(delay * 2, LAST_RETRY)


def _retryable(answer: httpx.Response | httpx.TransportError) -> bool:
    if isinstance(answer, httpx.TransportError):
        return True
    return answer.status_code >= 500 or answer.status_code in (409, 429)


def _retry_after(answer: httpx.Response | httpx.TransportError, default: float) -> float:
    if isinstance(answer, httpx.Response):
        try:
            return min(float(answer.headers.get("retry-after", default)), 5.0)
        except ValueError:
            pass
    return default


async def deliver_reply(client: httpx.AsyncClient, item: Reply, token: str, budget: float) -> None:
    """POST the reply with its key until a 2xx, a final 4xx, or *budget* seconds have passed."""
    path = f"/api/v1/hotels/{item.hotel}/conversations/{item.conversation_id}/messages"
    headers = {"authorization": f"Bearer {token}", "idempotency-key": item.key}
    body: dict[str, Any] = {"text": item.text}
    began = time.monotonic()
    delay = FIRST_RETRY
    while True:
        answer: httpx.Response | httpx.TransportError
        try:
            answer = await client.post(path, json=body, headers=headers)
        except httpx.TransportError as error:
            answer = error
        item.statuses[_outcome(answer)] += 1
        if isinstance(answer, httpx.Response) and answer.is_success:
            item.accepted_at = item.accepted_at or time.time()
            with contextlib.suppress(ValueError, KeyError, TypeError):
                item.message_ids.add(str(answer.json()["id"]))
            return
        wait = _retry_after(answer, delay)
        if not _retryable(answer) or time.monotonic() - began + wait > budget:
            return
        await anyio.sleep(wait)
        delay = min(delay * 2, LAST_RETRY)


@dataclass
class Ledger:
    """Every webhook and reply the soak sends, and the task group that sends them."""

    hotels: list[str]
    client: httpx.AsyncClient
    api_token: str
    budget: float
    """Seconds each sender keeps retrying."""
    run: str
    inbound: list[Inbound] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    group: TaskGroup | None = None
    """Where the deliveries run; set by whoever waits for them."""
    _serial: itertools.count[int] = field(default_factory=itertools.count)

    def webhook(self, hotel_index: int, guest: int, kind: str) -> Inbound:
        item = Inbound(
            n=next(self._serial),
            hotel=self.hotels[hotel_index],
            kind=kind,
            number=phone_number_id(hotel_index),
            guest=guest_number(hotel_index, guest),
        )
        self.inbound.append(item)
        assert self.group is not None
        self.group.start_soon(deliver_webhook, self.client, item, self.budget)
        return item

    def marker(self, hotel: str) -> Inbound:
        return self.webhook(self.hotels.index(hotel), 0, "marker")

    def reply(self, hotel: str, conversation_id: str) -> None:
        item = Reply(len(self.replies), hotel, conversation_id, self.run)
        self.replies.append(item)
        assert self.group is not None
        self.group.start_soon(deliver_reply, self.client, item, self.api_token, self.budget)

    async def post_steadily(
        self,
        webhooks: int,
        guests: int,
        replies: int,
        conversations: list[tuple[str, str]],
        seconds: float,
        started: float,
    ) -> None:
        """*webhooks* (guests in turn, hotels in turn) and *replies* (to *conversations* in
        turn), each at a steady rate over *seconds* from *started* (``time.monotonic()``),
        whatever the answers."""

        async def at(offset: float) -> None:
            await anyio.sleep(max(started + offset - time.monotonic(), 0))

        async def post_webhooks() -> None:
            for n in range(webhooks):
                await at(n * seconds / webhooks)
                slot = n % (len(self.hotels) * guests)
                self.webhook(slot % len(self.hotels), slot // len(self.hotels), "load")

        async def post_replies() -> None:
            for n in range(replies):
                await at((n + 0.5) * seconds / replies)
                self.reply(*conversations[n % len(conversations)])

        async with anyio.create_task_group() as group:
            group.start_soon(post_webhooks)
            group.start_soon(post_replies)

    def progress(self) -> str:
        accepted = sum(i.accepted_at is not None for i in self.inbound)
        replied = sum(r.accepted_at is not None for r in self.replies)
        return (
            f"webhooks accepted {accepted:,}/{len(self.inbound):,}, "
            f"replies {replied}/{len(self.replies)}"
        )
