"""``Idempotency-Key`` on the API's creating POSTs: a retry answers what the first request did.

A route opts in with ``dependencies=IDEMPOTENT`` and runs its effect through
:meth:`Idempotency.run`. The contract (also in the OpenAPI header parameter
and docs/suite.md):

- the same key, caller and route with the same body answers the first
  response again, status and body, with ``Idempotent-Replayed: true``;
- the same key with another body answers 422; while the first request with
  the key is in progress, 409 with ``Retry-After``;
- a first request that fails (any error answer) keeps no answer, only the
  key's body: a retry with that body runs again;
- keys are kept 24 hours, in the store (not Redis: they work while it is
  down), then purged; another user's same key is another key.

The effect and the recorded response are one transaction where the store has
them (SQLite). Where it has not (Astra), the effect must be idempotent itself:
what it creates takes its id from the key (:meth:`Attempt.derived_id`), so a
retry after a crash between the effect and the record finds it made and
finishes the record. A response holding a secret (a token shown once) is
stored encrypted with the suite's secret box.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Final, TypeVar

import anyio
import pydantic_core
from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.exceptions import HTTPException
from litestar.params import HeaderParameter

from begasist_suite.api.dependencies import PrincipalDep, ServicesDep
from begasist_suite.secret_box import UndecryptableSecret
from begasist_suite.services import Services
from begasist_suite.store.idempotency import (
    IdempotencyClaim,
    KeyInUse,
    KeyReused,
    StoredResponse,
)

__all__ = [
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENT",
    "KEEP",
    "KEY_PATTERN",
    "LEASE",
    "REPLAYED_HEADER",
    "REPLAY_HEADERS",
    "Attempt",
    "Idempotency",
    "IdempotencyDep",
    "request_fingerprint",
]

T = TypeVar("T")

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
KEY_PATTERN: Final = r"^[A-Za-z0-9_.:~+/=-]{8,255}$"
"""8 to 255 characters: letters, digits and ``_ . : ~ + / = -`` (a UUID or ULID fits)."""
KEEP: Final = timedelta(hours=24)
"""How long a key is kept (then purged): a retry within this answers the first response."""
LEASE: Final = timedelta(seconds=30)
"""How long a request holds its key; one that died is taken over after this."""

_CONTRACT = (
    "Makes a retry safe: the same key (by the same caller, on the same path) with the "
    "same body answers the first response again, status and body, with "
    "`Idempotent-Replayed: true`, and has no second effect. The same key with another "
    "body answers 422; while the first request is in progress, 409 with `Retry-After`. "
    "A request answered with an error keeps no answer: a retry runs again. Keys are kept "
    "24 hours. 8 to 255 characters of `A-Z a-z 0-9 _ . : ~ + / = -`; use a new random "
    "one (a UUID) per operation."
)

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=IDEMPOTENCY_HEADER,
        required=False,
        pattern=KEY_PATTERN,
        min_length=8,
        max_length=255,
        description=_CONTRACT,
    ),
]

REPLAY_HEADERS: Final = [
    ResponseHeader(
        name=REPLAYED_HEADER,
        value="true",  # gives the header its schema (a string); never set by this
        documentation_only=True,
        description="`true` when this is the stored first response to the Idempotency-Key.",
    )
]
"""The routes' ``response_headers``: documents the replay header in the OpenAPI."""


@dataclass(frozen=True)
class Attempt:
    """What an effect run through :meth:`Idempotency.run` knows about its key."""

    claim: IdempotencyClaim | None

    def derived_id(self, purpose: str) -> str | None:
        """The id of what the effect creates for *purpose*, from the key (None without one)."""
        return None if self.claim is None else self.claim.derived_id(purpose)

    @property
    def resumed(self) -> bool:
        """An earlier attempt with this key did not finish (part of it may be stored)."""
        return self.claim is not None and self.claim.resumed


class Idempotency:
    """One request's ``Idempotency-Key`` (or none): runs its effect at most once per key."""

    def __init__(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        *,
        caller: str,
        key: str | None,
        fingerprint: str,
    ) -> None:
        self._request = request
        self._services = services
        self._caller = caller
        self.key = key
        self._fingerprint = fingerprint

    async def run(
        self, effect: Callable[[Attempt], Awaitable[Any]], *, secret: bool = False
    ) -> Response[Any]:
        """Run *effect* (in one store transaction where there are) and answer its result
        as JSON with the route's status code, or the first answer to this key again.

        *secret*: the answer holds a secret, so it is stored encrypted.
        """
        store = self._services.store
        status_code = self._request.route_handler.status_code or 200
        if self.key is None:
            async with store.unit_of_work():
                result = await effect(Attempt(None))
            return _answer(status_code, pydantic_core.to_json(result))
        try:
            begun = await store.begin_idempotent(
                caller=self._caller,
                hotel=self._request.path_params.get("hotel"),
                route=f"{self._request.method} {self._request.url.path.rstrip('/')}",
                key=self.key,
                fingerprint=self._fingerprint,
                lease=LEASE,
                keep=KEEP,
            )
        except KeyReused:
            raise HTTPException(
                status_code=422,
                detail=f"this {IDEMPOTENCY_HEADER} was used with another request body",
            ) from None
        except KeyInUse as busy:
            raise _in_progress(busy.retry_after) from None
        if isinstance(begun, StoredResponse):
            return self._replay(begun)
        try:
            async with store.unit_of_work():
                body = pydantic_core.to_json(await effect(Attempt(begun)))
                text = body.decode("utf-8")
                stored = StoredResponse(
                    status_code=status_code,
                    body=self._services.secret_box.encrypt(text) if secret else text,
                    encrypted=secret,
                )
                if not await store.finish_idempotent(begun, stored):
                    # Held too long and taken over: that attempt answers. Roll this one back.
                    raise _in_progress(1)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await store.release_idempotent(begun)
            raise
        return _answer(status_code, body)

    def _replay(self, stored: StoredResponse) -> Response[Any]:
        body = stored.body
        if stored.encrypted:
            try:
                body = self._services.secret_box.decrypt(body)
            except UndecryptableSecret:
                raise HTTPException(
                    status_code=409,
                    detail=f"the first response to this {IDEMPOTENCY_HEADER} does not decrypt "
                    "with BEGASIST_SECRET_KEY (it changed): it cannot be answered again",
                ) from None
        return _answer(stored.status_code, body.encode("utf-8"), replayed=True)


def _answer(status_code: int, body: bytes, *, replayed: bool = False) -> Response[Any]:
    return Response(
        content=body,
        status_code=status_code,
        media_type=MediaType.JSON,
        headers={REPLAYED_HEADER: "true"} if replayed else None,
    )


def _in_progress(retry_after: int) -> HTTPException:
    return HTTPException(
        status_code=409,
        detail=f"a request with this {IDEMPOTENCY_HEADER} is in progress; retry later",
        headers={"Retry-After": str(retry_after)},
    )


def request_fingerprint(body: bytes, query: str) -> str:
    """The request's identity: its JSON body however it is spaced or ordered, and its query."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(query.encode("utf-8") + b"\n" + canonical).hexdigest()


async def _idempotency(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Idempotency:
    credential = principal.credential
    caller = principal.user.id if principal.user is not None else f"credential:{credential.id}"
    return Idempotency(
        request,
        services,
        caller=caller,
        key=idempotency_key,
        fingerprint=request_fingerprint(await request.body(), request.url.query),
    )


IdempotencyDep = NamedDependency[Idempotency]

IDEMPOTENT: Final = {"idempotency": Provide(_idempotency)}
"""A route's ``dependencies``: it takes ``idempotency: IdempotencyDep`` and the header."""
