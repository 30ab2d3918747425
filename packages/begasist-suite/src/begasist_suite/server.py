"""uvicorn's settings for serving the suite: one place for ``serve``, ``dev`` and the tests."""

from __future__ import annotations

from typing import Any

import uvicorn

from begasist_suite.config import SuiteSettings

__all__ = ["server_config"]


def server_config(
    app: Any, settings: SuiteSettings, *, host: str, port: int, access_log: bool = True
) -> uvicorn.Config:
    """The uvicorn config that serves *app*.

    One worker ("auto" picks uvloop and httptools when installed): the app owns
    its consumer and connections, and replicas are separate processes. uvicorn
    configures no logging of its own (``log_config=None``): its loggers
    propagate to the root handlers that
    :func:`begasist_core.log_redaction.configure_logging` set up, redacted.
    h11 (when httptools is missing) closes a header block over
    ``max_header_bytes`` itself; httptools does not, and the app's guard answers
    431 for it (:mod:`begasist_suite.asgi.guard`).
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",
        http="auto",
        workers=None,
        proxy_headers=True,
        lifespan="on",
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=access_log,
        server_header=False,
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
