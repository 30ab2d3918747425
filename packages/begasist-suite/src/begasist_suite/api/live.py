"""``/api/v1/hotels/{hotel}/live``: a WebSocket of the hotel's inbox notices."""

from __future__ import annotations

import contextlib
from typing import Any, Final

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    WebSocketDisconnect,
)
from litestar.params import FromPath

from begasist_suite.auth.origins import origin_allowed
from begasist_suite.auth.principal import Principal, hotel_access, resolve_principal
from begasist_suite.inbox.live import access_channel, inbox_channel
from begasist_suite.services import Services
from begasist_suite.store.records import Role

__all__ = ["CLOSE_ACCESS_LOST", "CLOSE_SIGNED_OUT", "LIVE_ROLE", "live_inbox"]

LIVE_ROLE: Final = Role.AGENT
"""What the socket needs in its hotel: the inbox's role."""
CLOSE_SIGNED_OUT: Final = 4401
"""Closed: the session or token that opened the socket was revoked or expired, or the
account was disabled."""
CLOSE_ACCESS_LOST: Final = 4403
"""Closed: the caller is no longer a member of the hotel (removed, or demoted below
:data:`LIVE_ROLE`), or the hotel was deleted."""


@websocket("/api/v1/hotels/{hotel:str}/live")
async def live_inbox(
    socket: WebSocket[Any, Any, Any],
    hotel: FromPath[str],
    channels: NamedDependency[ChannelsPlugin],
) -> None:
    """Sends a JSON notice per change in the hotel's inbox (``{"kind": ..., ids}``).

    Authenticated like the API (session cookie or bearer token); a caller
    without access to the hotel is refused at the handshake (HTTP 403, the
    same answer for every hotel, so it tells nothing about which exist). A
    browser page of another origin than the suite's own or one in
    ``BEGASIST_LIVE_ALLOWED_ORIGINS`` is refused the same way, before any
    credential is looked at; a client sending no ``Origin`` (a script) is not.

    An open socket keeps being checked: closed with 4401 when its session or
    token is revoked or expires or its account is disabled, and 4403 when its
    caller stops being a member of the hotel (removed or demoted below
    :data:`LIVE_ROLE`). Every replica announces such changes on a Redis
    pub/sub channel (``inbox/live.py``'s ``access_channel``) and every socket
    on every replica re-checks its caller at each announcement, so it closes
    at once wherever the change was made; a re-check every
    ``BEGASIST_LIVE_RECHECK_SECONDS`` covers what sends no announcement (the
    CLI in another process, a notice lost while Redis was down, an expiry).
    """
    # The session cookie is SameSite=Strict as well: two locks against another
    # site's page opening this socket with a staff session (WebSocket hijacking).
    services: Services = socket.app.state.services
    if not origin_allowed(socket, services.settings):
        await socket.close(code=4403, reason="origin not allowed")
        return
    try:
        principal = await resolve_principal(socket, services)
        (await hotel_access(hotel, principal, services)).require(LIVE_ROLE)
    except (NotAuthorizedException, PermissionDeniedException, NotFoundException):
        await socket.close(code=4404, reason="not found")  # uvicorn answers the handshake 403
        return
    await socket.accept()
    prefix = services.settings.prefix
    announced, announcements = anyio.create_memory_object_stream[object](1)

    async def announce(_: bytes) -> None:
        with contextlib.suppress(anyio.WouldBlock):  # one waiting re-check covers many
            announced.send_nowait(None)

    # The streams first: closed however the subscriptions below end (one failing to
    # start, the client gone), never left for the garbage collector to find open.
    async with (
        announced,
        announcements,
        channels.start_subscription([inbox_channel(prefix, hotel)]) as subscriber,
        subscriber.run_in_background(socket.send_text),
        channels.start_subscription([access_channel(prefix)]) as access_subscriber,
        access_subscriber.run_in_background(announce),
        anyio.create_task_group() as tasks,
    ):

        async def guard() -> None:
            code, reason = await _until_access_lost(services, principal, hotel, announcements)
            with contextlib.suppress(Exception):  # the client may be gone already
                await socket.close(code=code, reason=reason)
            tasks.cancel_scope.cancel()

        tasks.start_soon(guard)
        # The client leaving ends the loop: the socket is gone, there is nothing to close
        # (left to Litestar, closing it raised from uvicorn and logged a false error).
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await socket.receive_data(mode="text")
                if message == "ping":
                    await socket.send_text('{"kind":"pong"}')
        tasks.cancel_scope.cancel()


async def _until_access_lost(
    services: Services,
    principal: Principal,
    hotel: str,
    announcements: MemoryObjectReceiveStream[object],
) -> tuple[int, str]:
    """Wait, re-checking the caller at each announcement and every recheck period, until
    they lose access: the close code and reason."""
    while True:
        with anyio.move_on_after(services.settings.live_recheck_seconds):
            await announcements.receive()
        lost = await _lost_access(services, principal, hotel)
        if lost is not None:
            return lost


async def _lost_access(
    services: Services, principal: Principal, hotel: str
) -> tuple[int, str] | None:
    """Why the socket's caller may no longer have it (code, reason), or None."""
    store = services.store
    if await store.get_credential(principal.credential.digest) is None:
        return CLOSE_SIGNED_OUT, "signed out"
    user = None if principal.user is None else await store.get_user(principal.user.id)
    if user is None or user.disabled:
        return CLOSE_SIGNED_OUT, "account disabled"
    refreshed = Principal(credential=principal.credential, user=user)
    try:
        (await hotel_access(hotel, refreshed, services)).require(LIVE_ROLE)
    except (NotFoundException, PermissionDeniedException):
        return CLOSE_ACCESS_LOST, "no longer a member of this hotel"
    return None
