"""``/guest/{hotel}/{channel}/socket``: a guest's WebSocket to a guest-socket channel.

The protocol's first frame is the suite's: the guest sends ``{"type": "hello",
"visitor", "token", "identifier", "identifier_hash", "name", "email", "language",
"embedder"}`` (visitor and token null on a first visit; ``embedder`` heeded only
from the suite's own framed page, and only when ``BEGASIST_PUBLIC_URL`` names
the suite's origin: :func:`~begasist_suite.guest.assets.page_origin`); the
suite checks the token (or makes a visitor id), asks the channel to admit the
guest (``admit_guest``: origin, identity HMAC), counts a new visitor against
its client's limits only then (:mod:`begasist_suite.guest.admission`), answers
``{"type": "session", "visitor", "token"}`` (the token renewed:
:mod:`begasist_suite.guest.tokens`) and the channel's history frame, and from
then on:

- each frame from the guest is rate-limited (per visitor and per client
  address, :mod:`begasist_suite.guest.rates`), size-capped, handed to the
  channel's ``guest_frame`` and, if it gives an ingress body, taken to the
  hotel's ingress stream as a ``webhook.received`` of the channel (the bot's
  ``parse`` reads it, as it reads a verified webhook) once it passes
  :mod:`begasist_suite.guest.intake` (receipts only for replies this socket
  showed, the visitor's own upload refs, the hotel's backlog and frame
  budget, new conversations); the channel's answer follows once it is there;
- an ``{"type": "earlier", "before": <message id>}`` frame is the suite's (rate-limited
  the same): answered ``{"type": "earlier", "before", "messages", "earlier"}`` with
  the page of the guest's own conversation before that message (the history frame
  holds the newest :data:`~begasist_suite.guest.history.HISTORY_LIMIT`; the session
  frame's ``earlier`` says whether there are older ones);
- frames the bot delivers for the guest's address (``context.guests``) are
  pushed as they come (:mod:`begasist_suite.guest.hub`).

Every frame the suite writes has ``BEGASIST_GUEST_SEND_TIMEOUT_SECONDS`` to go
out (:mod:`begasist_suite.guest.sending`); a guest that reads nothing is cut
off. Open sockets are capped per client and per replica
(:mod:`begasist_suite.guest.clients`).

Any refusal closes the socket with a ``GUEST_CLOSE_*`` code of
``begasist_core`` and stores and enqueues nothing. A hotel or channel that
does not serve guest sockets is refused at the handshake (HTTP 403, the same
for every hotel). Guests are not users: this route takes no cookie or token of
the staff app, and can reach only the conversation its visitor token opens.
"""

from __future__ import annotations

import logging
from typing import Any

from begasist_core import GUEST_CLOSE_NOT_FOUND, GUEST_CLOSE_UNAVAILABLE
from begasist_core.models.names import InvalidName, validate_channel_name, validate_hotel_slug
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from begasist_suite.guest.protocol import Refusal
from begasist_suite.guest.sending import SendStalled
from begasist_suite.guest.session import GuestSession
from begasist_suite.ingress.settings_cache import VerifyTarget, WebhookSettingsCache

__all__ = ["guest_socket"]

log = logging.getLogger(__name__)


@websocket("/guest/{hotel:str}/{channel:str}/socket", include_in_schema=False)
async def guest_socket(
    socket: WebSocket[Any, Any, Any], hotel: FromPath[str], channel: FromPath[str]
) -> None:
    """A guest's socket (module docstring)."""
    try:
        validate_hotel_slug(hotel)
        validate_channel_name(channel)
        cache: WebhookSettingsCache = socket.app.state.guest_settings
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
    session = GuestSession(socket, socket.app.state.services, hotel, channel, target)
    # except*: what ends a session may come out of its task group wrapped in a group.
    try:
        await session.serve()
    except* Refusal as refused:
        refusal = _first(refused)
        await session.sender.close(refusal.code, refusal.reason)
    except* SendStalled:
        log.info("guest socket %s/%s: the guest reads nothing; cut off", hotel, channel)
    except* WebSocketDisconnect:
        pass  # the guest left
    except* OSError:
        # uvicorn's ClientDisconnected: the guest left while a frame was being written.
        # Nothing to close and nothing lost (the store has every message): no error.
        pass


def _first(group: BaseExceptionGroup[Refusal]) -> Refusal:
    """The first refusal of *group* (one, unless two tasks refused at once)."""
    found = group.exceptions[0]
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found
