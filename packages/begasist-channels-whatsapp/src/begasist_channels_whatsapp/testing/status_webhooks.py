"""The Graph stand-in's status webhooks: a signed ``sent`` status for each accepted message.

Meta tells the business about each message it accepted by a status webhook,
signed with the app secret (``X-Hub-Signature-256``) and carrying the
``biz_opaque_callback_data`` the send gave. :class:`StatusWebhooks` does the
same for the stand-in: given a callback per ``phone_number_id``, it POSTs each
accepted message's status there ``delay`` seconds after acceptance (before
the stand-in's ``latency`` has passed, as a real status may beat the answer),
from a thread of its own, retrying a refused or failed POST (as Meta does)
for at most ``give_up_after`` seconds.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

__all__ = ["StatusCallback", "StatusWebhooks", "signed_status"]

_FIRST_RETRY: Final = 0.25
_MAX_RETRY: Final = 2.0


@dataclass(frozen=True, slots=True)
class StatusCallback:
    """Where the statuses of one phone number go, and the app secret they are signed with."""

    url: str
    app_secret: str


def signed_status(
    callback: StatusCallback,
    *,
    phone_number_id: str,
    wamid: str,
    recipient: str,
    callback_data: str | None,
    sent_at: int,
) -> tuple[bytes, dict[str, str]]:
    """A ``sent`` status delivery as Meta posts it, and its headers (signature included)."""
    status: dict[str, Any] = {
        "id": wamid,
        "status": "sent",
        "timestamp": str(sent_at),
        "recipient_id": recipient,
    }
    if callback_data is not None:
        status["biz_opaque_callback_data"] = callback_data
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
        "statuses": [status],
    }
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": value}]}],
    }
    body = json.dumps(delivery, separators=(",", ":")).encode()
    digest = hmac.new(callback.app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"}


@dataclass(order=True, slots=True)
class _Post:
    due: float
    order: int
    url: str
    body: bytes
    headers: dict[str, str]
    give_up_at: float
    retry: float = _FIRST_RETRY


class StatusWebhooks:
    """Posts status webhooks from a background thread; see the module doc."""

    def __init__(
        self,
        callbacks: Mapping[str, StatusCallback],
        *,
        delay: float = 0.05,
        give_up_after: float = 60.0,
    ) -> None:
        self.callbacks = dict(callbacks)
        self.delay = delay
        self.give_up_after = give_up_after
        self.delivered = 0
        """How many POSTs were answered 2xx."""
        self.abandoned = 0
        """How many statuses were given up on (no 2xx within ``give_up_after``)."""
        self._queue: list[_Post] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="graph-standin-statuses", daemon=True
        )
        self._thread.start()

    def accepted(
        self, *, phone_number_id: str, wamid: str, recipient: str, payload: Mapping[str, Any]
    ) -> None:
        """Schedule the ``sent`` status of an accepted message (none for an unknown number)."""
        callback = self.callbacks.get(phone_number_id)
        if callback is None:
            return
        data = payload.get("biz_opaque_callback_data")
        body, headers = signed_status(
            callback,
            phone_number_id=phone_number_id,
            wamid=wamid,
            recipient=recipient,
            callback_data=data if isinstance(data, str) else None,
            sent_at=int(time.time()),
        )
        now = time.monotonic()
        post = _Post(
            now + self.delay, next(self._order), callback.url, body, headers,
            now + self.give_up_after,
        )  # fmt: skip
        with self._wake:
            heapq.heappush(self._queue, post)
            self._wake.notify()

    def stop(self) -> None:
        """Stop posting (what is still queued is dropped) and wait for the thread."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=10)

    def _next(self) -> _Post | None:
        with self._wake:
            while not self._stopping:
                now = time.monotonic()
                if self._queue and self._queue[0].due <= now:
                    return heapq.heappop(self._queue)
                self._wake.wait(self._queue[0].due - now if self._queue else None)
            return None

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while (post := self._next()) is not None:
                try:
                    answer = client.post(post.url, content=post.body, headers=post.headers)
                    ok = answer.is_success
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.delivered += 1
                elif time.monotonic() + post.retry > post.give_up_at:
                    self.abandoned += 1
                else:
                    post.due = time.monotonic() + post.retry
                    post.retry = min(post.retry * 2, _MAX_RETRY)
                    with self._wake:
                        heapq.heappush(self._queue, post)
