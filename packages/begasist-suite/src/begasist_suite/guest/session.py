"""One guest socket's life once accepted: the hello, the history, then frames both ways.

The route (:mod:`begasist_suite.guest.socket`) says what the protocol is; this
runs it. A refusal anywhere raises :class:`~begasist_suite.guest.protocol.Refusal`,
which the route turns into a close frame.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    GUEST_CLOSE_NOT_FOUND,
    GUEST_CLOSE_RATE_LIMITED,
    GUEST_CLOSE_TOO_LARGE,
    GUEST_CLOSE_UNAUTHENTICATED,
    GUEST_CLOSE_UNAVAILABLE,
    GuestAdmission,
    GuestIdentity,
    GuestIngress,
    GuestRefused,
)
from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect
from pydantic import ValidationError

from begasist_suite.guest.admission import Admitted, Gate, admit, admit_again
from begasist_suite.guest.assets import page_origin
from begasist_suite.guest.clients import OpenSockets, SocketRefusal, client_tiers
from begasist_suite.guest.history import guest_history
from begasist_suite.guest.hub import GuestHub, GuestPush
from begasist_suite.guest.intake import GuestIntake
from begasist_suite.guest.protocol import Earlier, EarlierPage, Hello, Refusal, SessionFrame
from begasist_suite.guest.rates import GuestRates
from begasist_suite.guest.sending import GuestSender
from begasist_suite.guest.signing import GuestFileSigner
from begasist_suite.ingress.settings_cache import VerifyTarget, WebhookSettingsCache
from begasist_suite.services import Services

__all__ = ["GuestSession"]

log = logging.getLogger(__name__)


class GuestSession:
    """One guest socket's life, once accepted (module docstring)."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        services: Services,
        hotel: str,
        channel: str,
        target: VerifyTarget,
    ) -> None:
        self.socket = socket
        self.services = services
        self.hotel = hotel
        self.channel = channel
        assert target.settings is not None  # the route refused a channel that is not enabled
        self.channel_class: Any = target.channel_class
        self.channel_settings = target.settings
        state = socket.app.state
        settings = services.settings
        self.signer: GuestFileSigner = state.guest_file_signer
        self.hub: GuestHub = state.guest_hub
        self.open_sockets: OpenSockets = state.guest_open_sockets
        self.settings_cache: WebhookSettingsCache = state.guest_settings
        host = socket.client.host if socket.client else None
        self.tiers = client_tiers(host, settings.guest_prefix_factor)
        self.rates = GuestRates(state.guest_limiter, settings, hotel, channel, self.tiers)
        self.sender = GuestSender(socket, settings.guest_send_timeout_seconds)

    async def serve(self) -> None:
        """Run the session until the guest leaves or it is refused (Refusal)."""
        settings = self.services.settings
        with self.open_sockets.hold(self.tiers, settings.guest_address_open_sockets) as refused:
            if refused is SocketRefusal.CLIENT:
                raise Refusal(GUEST_CLOSE_RATE_LIMITED, refused.value)
            if refused is SocketRefusal.REPLICA:
                raise Refusal(GUEST_CLOSE_UNAVAILABLE, refused.value)
            await self._serve()

    async def _serve(self) -> None:
        await self.rates.connection()
        first: bytes | None = None
        with anyio.move_on_after(self.services.settings.guest_hello_timeout_seconds):
            first = await self._receive()
        if first is None:
            raise Refusal(GUEST_CLOSE_BAD_FRAME, "expected hello")
        try:
            hello = Hello.model_validate_json(first)
        except ValidationError:
            raise Refusal(GUEST_CLOSE_BAD_FRAME, "expected hello") from None
        gate = Gate(
            self.hotel,
            self.channel,
            self.channel_class,
            self.channel_settings,
            self.socket.app.state.visitor_tokens,
            self.rates,
        )
        admitted = await admit(gate, hello, self._page_origin(hello))
        await self._record_identities(admitted.admission)
        admission = admitted.admission
        async with self.hub.subscribe(self.hotel, self.channel, admission.address) as pushes:
            history = await guest_history(
                self.services.store, self.hotel, self.channel, admission, self._media_url
            )
            self.sender.showed(history.items)
            session = SessionFrame(
                visitor=admitted.visitor, token=admitted.token, earlier=history.earlier
            )
            await self.sender.send(session.model_dump_json())
            frame = self.channel_class.guest_history(
                admission, history.items, self.channel_settings
            )
            await self.sender.send(frame.decode("utf-8"))
            intake = GuestIntake(
                services=self.services,
                hotel=self.hotel,
                channel=self.channel,
                visitor=admitted.visitor,
                batcher=self.socket.app.state.ingress_batcher,
                backlog=self.socket.app.state.ingress_backlog,
                signer=self.signer,
                rates=self.rates,
                sender=self.sender,
                new_conversation=not history.items and not history.earlier,
            )
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._push, pushes)
                try:
                    await self._read(admitted, intake)
                finally:
                    tasks.cancel_scope.cancel()

    async def _receive(self) -> bytes:
        """The next text frame as UTF-8 bytes; refuses binary and oversized ones."""
        event = await self.socket.receive()
        if event["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(detail="guest left", code=event.get("code", 1000))
        text = event.get("text")
        if not isinstance(text, str):
            raise Refusal(GUEST_CLOSE_BAD_FRAME, "text frames only")
        frame = text.encode("utf-8")
        if len(frame) > self.services.settings.guest_max_frame_bytes:
            raise Refusal(GUEST_CLOSE_TOO_LARGE, "frame too large")
        return frame

    def _page_origin(self, hello: Hello) -> str | None:
        """The origin the channel admits (:func:`~begasist_suite.guest.assets.page_origin`)."""
        return page_origin(
            self.socket.headers.get("origin"), self.services.settings.public_url, hello.embedder
        )

    async def _record_identities(self, admission: GuestAdmission) -> None:
        """Link a proven identity to the visitor's, and keep a contact the guest left."""
        store = self.services.store
        visitor = GuestIdentity(
            channel=self.channel, address=admission.address, display_name=admission.display_name
        )
        if admission.verified_identity is not None:
            known = await store.guest_for_identity(self.hotel, admission.verified_identity)
            await store.link_identity(self.hotel, known.id, visitor)
        if admission.contact_email is not None:
            contact = GuestIdentity(
                channel="email",
                address=admission.contact_email,
                display_name=admission.display_name,
            )
            await store.add_guest_contact(self.hotel, visitor, contact)

    async def _push(self, pushes: MemoryObjectReceiveStream[GuestPush]) -> None:
        async for push in pushes:
            if push.message_id is not None:
                self.sender.pushed(push.message_id)
            await self.sender.send(push.frame.decode("utf-8", "replace"))

    async def _read(self, admitted: Admitted, intake: GuestIntake) -> None:
        settings = self.services.settings
        while True:
            frame = None
            with anyio.move_on_after(settings.guest_idle_seconds):
                frame = await self._receive()
            if frame is None:
                raise Refusal(1000, "idle")
            await self._still_admitted(admitted)
            await self.rates.frame(admitted.visitor)
            if await self._earlier(admitted.admission, frame):
                continue
            ingress = self._channel_frame(admitted.admission, frame)
            if ingress is not None:
                await intake.take(ingress)

    def _channel_frame(self, admission: GuestAdmission, frame: bytes) -> GuestIngress | None:
        try:
            ingress: GuestIngress | None = self.channel_class.guest_frame(
                admission, frame, self.channel_settings
            )
        except GuestRefused as refused:
            raise Refusal(refused.code, refused.reason) from None
        except Exception:  # a plugin bug on odd input: refuse the frame, enqueue nothing
            log.warning(
                "guest socket %s/%s: guest_frame failed", self.hotel, self.channel, exc_info=True
            )
            raise Refusal(GUEST_CLOSE_BAD_FRAME, "refused") from None
        return ingress

    def _media_url(self, key: str) -> str:
        return self.signer.media_url(self.hotel, self.channel, key)

    async def _earlier(self, admission: GuestAdmission, frame: bytes) -> bool:
        """Answer *frame* if it is an :class:`Earlier` (True); leave it to the channel if not."""
        try:
            asked = Earlier.model_validate_json(frame)
        except ValidationError:
            return False
        page = await guest_history(
            self.services.store,
            self.hotel,
            self.channel,
            admission,
            self._media_url,
            before=asked.before,
        )
        self.sender.showed(page.items)
        answer = EarlierPage(before=asked.before, messages=page.items, earlier=page.earlier)
        await self.sender.send(answer.model_dump_json())
        return True

    async def _still_admitted(self, admitted: Admitted) -> None:
        """The hotel's settings may have changed since the socket opened (the channel
        disabled, an origin taken off the list, the identity secret replaced): each frame
        is taken under the current ones, and a socket they no longer admit is closed."""
        try:
            target = await self.settings_cache.target(self.hotel, self.channel)
        except Exception:  # the store failing: the widget reconnects later
            raise Refusal(GUEST_CLOSE_UNAVAILABLE, "try again later") from None
        if target.settings is None or target.channel_class is None:
            raise Refusal(GUEST_CLOSE_NOT_FOUND, "not found")
        if target.settings is self.channel_settings:
            return
        again = admit_again(
            self.hotel, self.channel, target.channel_class, admitted.hello, target.settings
        )
        if again.address != admitted.admission.address:
            raise Refusal(GUEST_CLOSE_UNAUTHENTICATED, "session changed: reconnect")
        self.channel_settings = target.settings
