"""A guest's frame on its way to the hotel's ingress stream, and what it must pass first.

In order, and enqueueing nothing until the last step:

- a receipt (``GuestIngress.receipt_for``) for a reply this socket did not show
  or push is dropped: nothing stored, nothing enqueued, the socket stays open;
- each upload ref must be one this suite issued to the visitor (4400);
- the hotel's ingress backlog must be under ``BEGASIST_GUEST_INGRESS_BACKLOG``
  (:mod:`begasist_suite.ingress.backlog`; 1013): while the bot is down or
  behind, guests cannot push out entries it has not read;
- the hotel's guest frames per window, ``BEGASIST_GUEST_HOTEL_FRAMES`` (1013);
- the first message of a visitor with no conversation yet counts as a new one
  (:meth:`~begasist_suite.guest.rates.GuestRates.new_conversation`; 4429);

then each file it names is kept for good (copied from the pending area into
the hotel's media store, :mod:`begasist_suite.guest.pending`; a file swept
meanwhile closes with 4400 "attachment expired"), the body is written to the
stream as a ``webhook.received`` of the channel (1013 when it cannot be) and
the channel's answer, if any, is sent.
"""

from __future__ import annotations

import logging
import time

from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    GUEST_CLOSE_UNAVAILABLE,
    REDIS_UNAVAILABLE,
    GuestIngress,
    WebhookReceived,
    make_event,
)

from begasist_suite.guest.pending import GuestFiles
from begasist_suite.guest.protocol import Refusal
from begasist_suite.guest.rates import GuestRates
from begasist_suite.guest.sending import GuestSender
from begasist_suite.guest.signing import GuestFileSigner
from begasist_suite.ingress.backlog import IngressBacklog
from begasist_suite.ingress.batcher import IngressBatcher, IngressUnavailable
from begasist_suite.services import Services

__all__ = ["GuestIntake"]

log = logging.getLogger(__name__)

BUSY = "busy: try again later"

_WARN_EVERY_SECONDS = 60.0
_last_warning: dict[str, float] = {}
"""When each hotel's refusals were last logged: a flood logs once a minute, not per frame."""


class GuestIntake:
    """Takes one session's frames to its hotel's ingress stream (module docstring)."""

    def __init__(
        self,
        *,
        services: Services,
        hotel: str,
        channel: str,
        visitor: str,
        batcher: IngressBatcher,
        backlog: IngressBacklog,
        signer: GuestFileSigner,
        rates: GuestRates,
        sender: GuestSender,
        new_conversation: bool,
    ) -> None:
        self._services = services
        self._hotel = hotel
        self._channel = channel
        self._visitor = visitor
        self._batcher = batcher
        self._backlog = backlog
        self._signer = signer
        self._rates = rates
        self._sender = sender
        self._new_conversation = new_conversation
        self._files = GuestFiles(services.settings.media_dir)

    async def take(self, ingress: GuestIngress) -> None:
        """Enqueue *ingress* and send its answer, drop it, or raise Refusal."""
        if ingress.receipt_for is not None and not self._sender.was_shown(ingress.receipt_for):
            return
        uploads = []
        for ref in ingress.uploads:
            upload = self._signer.check_ref(self._hotel, self._channel, self._visitor, ref)
            if upload is None:
                raise Refusal(GUEST_CLOSE_BAD_FRAME, "unknown attachment")
            uploads.append(upload)
        await self._room_in_backlog()
        await self._rates.hotel_frame()
        if self._new_conversation:
            await self._rates.new_conversation()
        for upload in uploads:
            # Accepted now, so kept now: the pending area's sweep must not take a file
            # whose message waits in the stream (a bot down for longer than it keeps them).
            if not await self._files.keep(self._hotel, upload.key):
                raise Refusal(GUEST_CLOSE_BAD_FRAME, "attachment expired: upload it again")
        event = make_event(
            self._hotel,
            WebhookReceived(
                channel=self._channel,
                headers={"content-type": ingress.content_type},
                body=ingress.body,
            ),
        )
        try:
            await self._batcher.publish(self._services.names.ingress(self._hotel), event)
        except IngressUnavailable as unavailable:
            log.warning(
                "guest frame %s/%s not enqueued: %s", self._hotel, self._channel, unavailable
            )
            raise Refusal(GUEST_CLOSE_UNAVAILABLE, "try again later") from None
        self._new_conversation = False
        if ingress.answer is not None:
            await self._sender.send(ingress.answer.decode("utf-8", "replace"))

    async def _room_in_backlog(self) -> None:
        limit = self._services.settings.guest_ingress_backlog
        try:
            backlog = await self._backlog.entries(self._hotel)
        except REDIS_UNAVAILABLE:
            raise Refusal(GUEST_CLOSE_UNAVAILABLE, "try again later") from None
        if backlog >= limit:
            now = time.monotonic()
            if now - _last_warning.get(self._hotel, -_WARN_EVERY_SECONDS) >= _WARN_EVERY_SECONDS:
                _last_warning[self._hotel] = now
                log.warning(
                    "%s: guest frames refused, %d ingress entries not yet handled by its bot",
                    self._hotel,
                    backlog,
                )
            raise Refusal(GUEST_CLOSE_UNAVAILABLE, BUSY)
