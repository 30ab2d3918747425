"""An ASGI app served by uvicorn from a background thread, on a free port of one host."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["ThreadedServer"]


class ThreadedServer:
    """Serves *app* on *host* and a free port (``port``) until :meth:`stop`."""

    def __init__(self, app: Any, host: str) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((host, 0))
        self.port: int = listener.getsockname()[1]
        # log_config=None: the host's logging stays its own. A keep-alive past httpx's
        # pool expiry (5 s), as real servers keep: never a connection closed under a reuse.
        config = uvicorn.Config(
            app,
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=75,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [listener]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                listener.close()
                raise RuntimeError("the server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving (requests in flight first) and join the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
