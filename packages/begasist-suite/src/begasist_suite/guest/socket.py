"""``/guest/{hotel}/{channel}/socket``: a guest's WebSocket to a guest-socket channel.

The protocol's first frame is the suite's: the guest sends ``{"type": "hello",
"visitor", "token", "identifier", "identifier_hash", "name", "email", "language",
"embedder"}`` (visitor and token null on a first visit, limited per client address
and per hotel; ``embedder`` heeded only from the
suite's own framed page, :meth:`_GuestSession._page_origin`); the suite checks the token (or
mints a visitor id and token), asks the channel to admit the guest
(``admit_guest``: origin, identity HMAC), answers ``{"type": "session",
"visitor", "token"}`` (the token renewed: :mod:`begasist_suite.guest.tokens`) and the
channel's history frame, and from then on:

- each frame from the guest is rate-limited (per visitor and per client
  address), size-capped, handed to the channel's ``guest_frame`` and, if it
  gives an ingress body whose upload refs this suite issued to the visitor
  (:mod:`begasist_suite.guest.uploads`; else 4400), appended to the hotel's
  ingress stream as a ``webhook.received`` of the channel (the bot's
  ``parse`` reads it, as it reads a verified webhook); the channel's answer
  follows once it is there;
- an ``{"type": "earlier", "before": <message id>}`` frame is the suite's (rate-limited
  the same): answered ``{"type": "earlier", "before", "messages", "earlier"}`` with
  the page of the guest's own conversation before that message (the history frame
  holds the newest :data:`~begasist_suite.guest.history.HISTORY_LIMIT`; the session
  frame's ``earlier`` says whether there are older ones);
- frames the bot delivers for the guest's address (``context.guests``) are
  pushed as they come (:mod:`begasist_suite.guest.hub`).

Any refusal closes the socket with a ``GUEST_CLOSE_*`` code of
``begasist_core`` and stores and enqueues nothing. A hotel or channel that
does not serve guest sockets is refused at the handshake (HTTP 403, the same
for every hotel). Guests are not users: this route takes no cookie or token of
the staff app, and can reach only the conversation its visitor token opens.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, NoReturn

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    GUEST_CLOSE_NOT_FOUND,
    GUEST_CLOSE_RATE_LIMITED,
    GUEST_CLOSE_TOO_LARGE,
    GUEST_CLOSE_UNAUTHENTICATED,
    GUEST_CLOSE_UNAVAILABLE,
    REDIS_UNAVAILABLE,
    GuestAdmission,
    GuestHello,
    GuestHistoryItem,
    GuestIdentity,
    GuestRefused,
    WebhookReceived,
    make_event,
)
from begasist_core.models.names import InvalidName, validate_channel_name, validate_hotel_slug
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from begasist_suite.guest.assets import own_origin, page_origin
from begasist_suite.guest.clients import OpenSockets, client_key
from begasist_suite.guest.history import guest_history
from begasist_suite.guest.hub import GuestHub
from begasist_suite.guest.limits import WindowLimiter
from begasist_suite.guest.signing import GuestFileSigner
from begasist_suite.guest.tokens import VisitorTokens
from begasist_suite.ingress.batcher import IngressBatcher, IngressUnavailable
from begasist_suite.ingress.settings_cache import VerifyTarget, WebhookSettingsCache
from begasist_suite.services import Services

__all__ = ["Earlier", "Hello", "guest_socket"]

log = logging.getLogger(__name__)


class _Closed(Exception):
    """The socket was closed with a code; the handler returns."""


class Hello(BaseModel):
    """The guest's first frame (the suite's part of the protocol)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["hello"]
    visitor: Annotated[str | None, Field(max_length=64)] = None
    token: Annotated[str | None, Field(max_length=128)] = None
    identifier: Annotated[str | None, Field(max_length=320)] = None
    identifier_hash: Annotated[str | None, Field(max_length=256)] = None
    name: Annotated[str | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    """An address the guest left (a pre-chat form): recorded as an unproven contact."""
    language: Annotated[str | None, Field(max_length=35)] = None
    embedder: Annotated[str | None, Field(max_length=300)] = None
    """Only heeded from a page of this suite (a channel's framed guest page): the origin
    of the page embedding it, which is what the channel admits."""


class _Session(BaseModel):
    type: Literal["session"] = "session"
    visitor: str
    token: str
    earlier: bool
    """Whether the conversation has messages before the history frame's (ask for them
    with an :class:`Earlier` frame)."""


class Earlier(BaseModel):
    """A guest's frame asking for the messages before one they were shown (the suite's part
    of the protocol, like the hello), answered with an :class:`_EarlierPage`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["earlier"]
    before: Annotated[str, Field(min_length=1, max_length=64)]


class _EarlierPage(BaseModel):
    type: Literal["earlier"] = "earlier"
    before: str
    messages: list[GuestHistoryItem]
    """Oldest first, the newest just before ``before``; empty for a message that is not
    of this guest's conversation."""
    earlier: bool
    """Whether there are messages before these too."""


@websocket("/guest/{hotel:str}/{channel:str}/socket", include_in_schema=False)
async def guest_socket(
    socket: WebSocket[Any, Any, Any], hotel: FromPath[str], channel: FromPath[str]
) -> None:
    """A guest's socket (module docstring)."""
    state = socket.app.state
    services: Services = state.services
    try:
        validate_hotel_slug(hotel)
        validate_channel_name(channel)
        cache: WebhookSettingsCache = state.guest_settings
        target = await cache.target(hotel, channel)
    except (InvalidName, ValueError):
        target = VerifyTarget(None, None)
    except Exception:  # the store failing: the widget reconnects later
        log.warning("guest socket %s/%s: settings unavailable", hotel, channel, exc_info=True)
        await socket.close(code=GUEST_CLOSE_UNAVAILABLE, reason="unavailable")
        return
    if target.channel_class is None or target.settings is None:
        await socket.close(code=GUEST_CLOSE_NOT_FOUND, reason="not found")
        return
    await socket.accept()
    session = _GuestSession(socket, services, hotel, channel, target)
    # except*: what ends a session may come out of its task group wrapped in a group.
    try:
        await session.serve()
    except* _Closed:
        pass  # closed with its code already
    except* WebSocketDisconnect:
        pass  # the guest left
    except* OSError:
        # uvicorn's ClientDisconnected: the guest left while a frame was being written.
        # Nothing to close and nothing lost (the store has every message): no error.
        pass


class _GuestSession:
    """One guest socket's life, once accepted."""

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
        self.channel_class: Any = target.channel_class
        self.channel_settings = target.settings
        state = socket.app.state
        self.tokens: VisitorTokens = state.visitor_tokens
        self.signer: GuestFileSigner = state.guest_file_signer
        self.limiter: WindowLimiter = state.guest_limiter
        self.hub: GuestHub = state.guest_hub
        self.batcher: IngressBatcher = state.ingress_batcher
        self.client = client_key(socket.client.host if socket.client else None)
        self.open_sockets: OpenSockets = state.guest_open_sockets
        self.settings_cache: WebhookSettingsCache = state.guest_settings
        self.hello: GuestHello | None = None

    async def close(self, code: int, reason: str) -> NoReturn:
        await self.socket.close(code=code, reason=reason[:120])
        raise _Closed

    async def serve(self) -> None:
        settings = self.services.settings
        with self.open_sockets.hold(self.client, settings.guest_address_open_sockets) as held:
            if not held:
                await self.close(GUEST_CLOSE_RATE_LIMITED, "too many open connections")
            await self._serve()

    async def _serve(self) -> None:
        settings = self.services.settings
        if not await self._allowed("connect", self.client, settings.guest_address_connections):
            await self.close(GUEST_CLOSE_RATE_LIMITED, "too many connections")
        first: bytes | None = None
        with anyio.move_on_after(settings.guest_hello_timeout_seconds):
            first = await self._receive()
        if first is None:
            await self.close(GUEST_CLOSE_BAD_FRAME, "expected hello")
        try:
            hello = Hello.model_validate_json(first)
        except ValidationError:
            await self.close(GUEST_CLOSE_BAD_FRAME, "expected hello")
        admission, visitor, token = await self._admit(hello)
        if admission.verified_identity is not None:
            await self._link(admission)
        if admission.contact_email is not None:
            await self.services.store.add_guest_contact(
                self.hotel,
                GuestIdentity(
                    channel=self.channel,
                    address=admission.address,
                    display_name=admission.display_name,
                ),
                GuestIdentity(
                    channel="email",
                    address=admission.contact_email,
                    display_name=admission.display_name,
                ),
            )
        async with self.hub.subscribe(self.hotel, self.channel, admission.address) as frames:
            history = await guest_history(
                self.services.store, self.hotel, self.channel, admission, self._media_url
            )
            session = _Session(visitor=visitor, token=token, earlier=history.earlier)
            await self.socket.send_text(session.model_dump_json())
            frame = self.channel_class.guest_history(
                admission, history.items, self.channel_settings
            )
            await self.socket.send_text(frame.decode("utf-8"))
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._push, frames)
                try:
                    await self._read(admission, visitor)
                finally:
                    tasks.cancel_scope.cancel()

    async def _receive(self) -> bytes:
        """The next text frame as UTF-8 bytes; refuses binary and oversized ones."""
        event = await self.socket.receive()
        if event["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(detail="guest left", code=event.get("code", 1000))
        text = event.get("text")
        if not isinstance(text, str):
            await self.close(GUEST_CLOSE_BAD_FRAME, "text frames only")
        frame = text.encode("utf-8")
        if len(frame) > self.services.settings.guest_max_frame_bytes:
            await self.close(GUEST_CLOSE_TOO_LARGE, "frame too large")
        return frame

    async def _admit(self, hello: Hello) -> tuple[GuestAdmission, str, str]:
        visitor, token = hello.visitor, hello.token
        if visitor is None and token is None:
            await self._may_mint()
            visitor, token = self.tokens.mint(self.hotel, self.channel)
            first_visit = True
        elif (
            visitor is None
            or token is None
            or not self.tokens.check(self.hotel, self.channel, visitor, token)
        ):
            await self.close(GUEST_CLOSE_UNAUTHENTICATED, "visitor token invalid")
        else:
            token = self.tokens.token(self.hotel, self.channel, visitor)  # renewed
            first_visit = False
        try:
            guest_hello = GuestHello(
                origin=self._page_origin(hello),
                visitor_id=visitor,
                first_visit=first_visit,
                identifier=hello.identifier,
                identifier_hash=hello.identifier_hash,
                display_name=hello.name,
                language=hello.language,
                email=hello.email,
            )
            self.hello = guest_hello
            admission: GuestAdmission = self.channel_class.admit_guest(
                guest_hello, self.channel_settings
            )
        except ValidationError:
            await self.close(GUEST_CLOSE_BAD_FRAME, "malformed hello")
        except GuestRefused as refused:
            log.info(
                "guest socket %s/%s refused (%d): %s",
                self.hotel,
                self.channel,
                refused.code,
                refused.reason,
            )
            await self.close(refused.code, refused.reason)
        except Exception:  # a plugin bug on odd input: refuse, never crash the socket task
            log.warning(
                "guest socket %s/%s: admit_guest failed", self.hotel, self.channel, exc_info=True
            )
            await self.close(GUEST_CLOSE_BAD_FRAME, "refused")
        return admission, visitor, token

    async def _may_mint(self) -> None:
        """Refuse a new visitor over the limits: per client address at this hotel (one
        address cannot mint visitors without end, each with a frame limit of its own),
        then per hotel (counted only for addresses within theirs, so that each hotel's
        flood stops at its own limit)."""
        settings = self.services.settings
        address = f"{self.hotel}/{self.client}"
        if not await self._allowed(
            "new-visitor-address", address, settings.guest_address_new_visitors
        ) or not await self._allowed(
            "new-visitor-hotel", self.hotel, settings.guest_hotel_new_visitors
        ):
            await self.close(GUEST_CLOSE_RATE_LIMITED, "too many new visitors")

    def _page_origin(self, hello: Hello) -> str | None:
        """The origin the channel admits (:func:`~begasist_suite.guest.assets.page_origin`)."""
        own = own_origin(
            str(self.socket.url),
            self.socket.headers.get("host"),
            self.services.settings.public_url,
        )
        return page_origin(self.socket.headers.get("origin"), own, hello.embedder)

    async def _link(self, admission: GuestAdmission) -> None:
        """Make the visitor's identity one of the guest the proven identity belongs to."""
        assert admission.verified_identity is not None
        store = self.services.store
        known = await store.guest_for_identity(self.hotel, admission.verified_identity)
        await store.link_identity(
            self.hotel,
            known.id,
            GuestIdentity(
                channel=self.channel,
                address=admission.address,
                display_name=admission.display_name,
            ),
        )

    async def _push(self, frames: MemoryObjectReceiveStream[bytes]) -> None:
        async for frame in frames:
            await self.socket.send_text(frame.decode("utf-8", "replace"))

    async def _read(self, admission: GuestAdmission, visitor: str) -> None:
        settings = self.services.settings
        while True:
            frame = None
            with anyio.move_on_after(settings.guest_idle_seconds):
                frame = await self._receive()
            if frame is None:
                await self.close(1000, "idle")
            await self._still_admitted(admission)
            if not await self._allowed(
                "visitor", f"{self.hotel}/{self.channel}/{visitor}", settings.guest_visitor_frames
            ) or not await self._allowed("address", self.client, settings.guest_address_frames):
                await self.close(GUEST_CLOSE_RATE_LIMITED, "too many messages")
            if await self._earlier(admission, frame):
                continue
            try:
                ingress = self.channel_class.guest_frame(admission, frame, self.channel_settings)
            except GuestRefused as refused:
                await self.close(refused.code, refused.reason)
            except Exception:  # a plugin bug on odd input: refuse the frame, enqueue nothing
                log.warning(
                    "guest socket %s/%s: guest_frame failed",
                    self.hotel,
                    self.channel,
                    exc_info=True,
                )
                await self.close(GUEST_CLOSE_BAD_FRAME, "refused")
            if ingress is None:
                continue
            for ref in ingress.uploads:
                if self.signer.check_ref(self.hotel, self.channel, visitor, ref) is None:
                    await self.close(GUEST_CLOSE_BAD_FRAME, "unknown attachment")
            event = make_event(
                self.hotel,
                WebhookReceived(
                    channel=self.channel,
                    headers={"content-type": ingress.content_type},
                    body=ingress.body,
                ),
            )
            try:
                await self.batcher.publish(self.services.names.ingress(self.hotel), event)
            except IngressUnavailable as unavailable:
                log.warning(
                    "guest frame %s/%s not enqueued: %s", self.hotel, self.channel, unavailable
                )
                await self.close(GUEST_CLOSE_UNAVAILABLE, "try again later")
            if ingress.answer is not None:
                await self.socket.send_text(ingress.answer.decode("utf-8", "replace"))

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
        answer = _EarlierPage(before=asked.before, messages=page.items, earlier=page.earlier)
        await self.socket.send_text(answer.model_dump_json())
        return True

    async def _still_admitted(self, admission: GuestAdmission) -> None:
        """The hotel's settings may have changed since the socket opened (the channel
        disabled, an origin taken off the list, the identity secret replaced): each frame
        is taken under the current ones, and a socket they no longer admit is closed."""
        try:
            target = await self.settings_cache.target(self.hotel, self.channel)
        except Exception:  # the store failing: the widget reconnects later
            await self.close(GUEST_CLOSE_UNAVAILABLE, "try again later")
        if target.settings is None or target.channel_class is None:
            await self.close(GUEST_CLOSE_NOT_FOUND, "not found")
        if target.settings is self.channel_settings:
            return
        assert self.hello is not None
        try:
            again = target.channel_class.admit_guest(self.hello, target.settings)
        except GuestRefused as refused:
            await self.close(refused.code, refused.reason)
        except Exception:
            await self.close(GUEST_CLOSE_BAD_FRAME, "refused")
        if again.address != admission.address:
            await self.close(GUEST_CLOSE_UNAUTHENTICATED, "session changed: reconnect")
        self.channel_settings = target.settings

    async def _allowed(self, kind: str, value: str, limit: int) -> bool:
        try:
            return await self.limiter.allow(kind, value, limit)
        except REDIS_UNAVAILABLE:
            await self.close(GUEST_CLOSE_UNAVAILABLE, "try again later")
