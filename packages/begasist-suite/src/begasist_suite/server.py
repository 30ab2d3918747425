"""uvicorn's settings for serving the suite: one place for ``serve``, ``dev`` and the tests."""

from __future__ import annotations

from typing import Any

import uvicorn

from begasist_suite.config import SuiteSettings
from begasist_suite.request_head import request_head_protocol
from begasist_suite.socket_writes import write_deadline_protocol

__all__ = ["server_config"]


def server_config(
    app: Any, settings: SuiteSettings, *, host: str, port: int, access_log: bool = True
) -> uvicorn.Config:
    """The uvicorn config that serves *app*.

    One worker (uvloop when installed): the app owns its consumer and
    connections, and replicas are separate processes. HTTP is httptools with
    a deadline and a size bound for request heads
    (:mod:`begasist_suite.request_head`: ``request_read_timeout_seconds``, as
    for bodies, and ``max_header_bytes``); exact header counts and sizes are
    the app's guard's (:mod:`begasist_suite.asgi.guard`). WebSockets are
    uvicorn's ``websockets`` protocol with a deadline on stalled writes
    (:mod:`begasist_suite.socket_writes`). uvicorn
    configures no logging of its own (``log_config=None``): its loggers
    propagate to the root handlers that
    :func:`begasist_core.log_redaction.configure_logging` set up, redacted.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",
        http=request_head_protocol(
            settings.request_read_timeout_seconds, settings.max_header_bytes
        ),
        workers=None,
        proxy_headers=True,
        lifespan="on",
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=access_log,
        server_header=False,
        # WebSocket messages are bounded where they are read, before they are whole:
        # the guest socket's frame limit (the staff's live socket sends nothing larger),
        # and no compression (a small compressed frame could unfold to the limit).
        ws=write_deadline_protocol(settings.guest_send_timeout_seconds),
        ws_max_size=settings.guest_max_frame_bytes,
        ws_per_message_deflate=False,
        # Live and guest sockets stay open for hours: a shutdown asks them to close, then
        # cancels what is still running after this long instead of waiting for ever.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
