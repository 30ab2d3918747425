"""``/api/v1/hotels/{hotel}/live``: a WebSocket of the hotel's inbox notices."""

from __future__ import annotations

import contextlib
from typing import Any

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
from begasist_suite.auth.principal import hotel_access, resolve_principal
from begasist_suite.inbox.live import inbox_channel
from begasist_suite.services import Services

__all__ = ["live_inbox"]


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
    """
    # The session cookie is SameSite=Strict as well: two locks against another
    # site's page opening this socket with a staff session (WebSocket hijacking).
    services: Services = socket.app.state.services
    if not origin_allowed(socket, services.settings):
        await socket.close(code=4403, reason="origin not allowed")
        return
    try:
        principal = await resolve_principal(socket, services)
        await hotel_access(hotel, principal, services)
    except (NotAuthorizedException, PermissionDeniedException, NotFoundException):
        await socket.close(code=4404, reason="not found")  # uvicorn answers the handshake 403
        return
    await socket.accept()
    async with (
        channels.start_subscription([inbox_channel(services.settings.prefix, hotel)]) as subscriber,
        subscriber.run_in_background(socket.send_text),
    ):
        # The client leaving ends the loop: the socket is gone, there is nothing to close
        # (left to Litestar, closing it raised from uvicorn and logged a false error).
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await socket.receive_data(mode="text")
                if message == "ping":
                    await socket.send_text('{"kind":"pong"}')
