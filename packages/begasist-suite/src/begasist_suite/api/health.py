"""``/health`` (liveness: the process answers) and ``/ready`` (its parts work)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

import anyio
from litestar import Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from pydantic import BaseModel, Field

from begasist_suite.api.dependencies import ServicesDep
from begasist_suite.asgi.request_id import current_request
from begasist_suite.services import Services

__all__ = ["EVENT_CONSUMER", "OUTBOX_RELAY", "Readiness", "health", "ready"]

log = logging.getLogger("begasist.ready")

STORE: Final = "store"
REDIS: Final = "redis"
EVENT_CONSUMER: Final = "event consumer"
OUTBOX_RELAY: Final = "outbox relay"
PROBE_SECONDS: Final = 2.0
"""How long the store and Redis get to answer a readiness probe."""
WORKING: Final = frozenset({"ok", "running", "off"})


class Readiness(BaseModel):
    """What ``/ready`` answers: each part's state and, when one is not working, why."""

    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(
        description="store and redis: 'ok' or what failed; event consumer and outbox relay: "
        "'running', 'not running', or 'off' (BEGASIST_CONSUMER=false)"
    )
    reason: str | None = Field(default=None, description="the parts not working (503 only)")


@get("/health", tags=["health"])
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get(
    "/ready",
    tags=["health"],
    responses={
        HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
            data_container=Readiness, description="A part is not working: the reason names it."
        )
    },
)
async def ready(services: ServicesDep) -> Response[Readiness]:
    """Readiness: the store and Redis answer, the event consumer and the outbox relay run."""
    checks = {
        STORE: await _probe(services.store.ping),
        REDIS: await _probe(services.redis.ping),
        EVENT_CONSUMER: _task_state(services, EVENT_CONSUMER),
        OUTBOX_RELAY: _task_state(services, OUTBOX_RELAY),
    }
    failing = [f"{part}: {state}" for part, state in checks.items() if state not in WORKING]
    reason = "; ".join(failing) or None
    _log_change(services, reason)
    if reason is None:
        return Response(Readiness(status="ready", checks=checks), status_code=HTTP_200_OK)
    context = current_request()
    if context is not None:
        context.error_logged = True  # logged once per change above, not at every probe
    return Response(
        Readiness(status="not ready", checks=checks, reason=reason),
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
    )


async def _probe(probe: Callable[[], Awaitable[Any]]) -> str:
    try:
        with anyio.fail_after(PROBE_SECONDS):
            await probe()
    except TimeoutError:
        return f"no answer within {PROBE_SECONDS:g} s"
    except Exception as error:
        # The type only: a message could carry a URL with its credentials.
        return f"failed ({type(error).__name__})"
    return "ok"


def _task_state(services: Services, name: str) -> str:
    if name == EVENT_CONSUMER and not services.settings.consumer:
        return "off"
    return "running" if name in services.running else "not running"


def _log_change(services: Services, reason: str | None) -> None:
    """A WARNING when the suite stops being ready, an INFO when it is again; nothing else."""
    previous = services.not_ready_reason
    if reason == previous:
        return
    services.not_ready_reason = reason
    if reason is not None:
        log.warning("not ready: %s", reason)
    elif previous is not None:
        log.info("ready again")
