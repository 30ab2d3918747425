"""``/api/v1/hotels/{hotel}/live``: a WebSocket of the hotel's inbox notices."""

from __future__ import annotations

from typing import Any

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath

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
    same answer for every hotel, so it tells nothing about which exist).
    """
    # The session cookie is SameSite=Strict, so another site's page cannot open
    # this socket with it (no cross-site WebSocket hijacking).
    services: Services = socket.app.state.services
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
        while True:
            message = await socket.receive_data(mode="text")  # returns on disconnect (raises)
            if message == "ping":
                await socket.send_text('{"kind":"pong"}')
