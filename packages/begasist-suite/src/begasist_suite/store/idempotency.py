"""The store's ``Idempotency-Key`` records: one per caller, route and key, kept a day.

They live in the ``credentials`` collection, whose indexed fields fit them
exactly (``kind``, ``user_id``, ``hotel``, ``expires_at``) and where no new
collection is needed (Astra allows ten; the store uses ten). ``kind`` is
``idempotency``, which no listing of sessions or tokens asks for, and the
``_id`` starts with ``idem|``, which no credential digest (64 hex digits)
does. ``hotel`` is set for a hotel's routes, so deleting the hotel deletes
them.

A record starts ``pending`` with a short lease, before the request's effect,
so a second request with the key meanwhile is told to wait; it becomes
``done`` with the response to replay. ``expires_at`` is both the purge time
and the compare-and-set token: a take-over of an abandoned record (its lease
ran out: the request failed, or its process died) moves it, so the attempt
it took over can no longer finish the record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from begasist_core import utc_now

from begasist_suite.store.base import _CAS_ATTEMPTS, StoreBase
from begasist_suite.store.documents import DuplicateDocument, iso

__all__ = [
    "IDEMPOTENCY_KIND",
    "IdempotencyClaim",
    "IdempotencyStore",
    "KeyInUse",
    "KeyReused",
    "StoredResponse",
]

IDEMPOTENCY_KIND: Final = "idempotency"
_PREFIX: Final = "idem|"


class KeyReused(Exception):
    """The key was used with another request (another body) by this caller on this route."""


class KeyInUse(Exception):
    """A request with this key is in progress: try again in :attr:`retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("a request with this Idempotency-Key is in progress")
        self.retry_after = retry_after


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a key, to answer again."""

    status_code: int
    body: str
    """The JSON body, or its ciphertext when :attr:`encrypted`."""
    encrypted: bool = False


@dataclass(frozen=True)
class IdempotencyClaim:
    """This request's hold on a key: run the effect, then finish (or release) the claim."""

    record_id: str
    token: str
    """The record's ``expires_at`` as claimed: what finish and release compare."""
    resumed: bool
    """An earlier attempt with this key started and did not finish: on a database
    without transactions (Astra), part of its effect may be stored."""
    started: str
    """When the key's first attempt began: a key used again after it expired makes
    new ids, not the ones of what it made a day before."""

    def derived_id(self, purpose: str) -> str:
        """An id for what the effect creates, the same on every attempt with this key."""
        seed = f"{self.record_id}|{self.started}|{purpose}"
        return f"k{hashlib.sha256(seed.encode()).hexdigest()[:25]}"


def _record_id(caller: str, route: str, key: str) -> str:
    scope = "\n".join((caller, route, key))
    return _PREFIX + hashlib.sha256(scope.encode("utf-8")).hexdigest()


class IdempotencyStore(StoreBase):
    """Begin, finish, release and purge the records of ``Idempotency-Key`` requests."""

    async def begin_idempotent(
        self,
        *,
        caller: str,
        hotel: str | None,
        route: str,
        key: str,
        fingerprint: str,
        lease: timedelta,
        keep: timedelta,
        now: datetime | None = None,
    ) -> IdempotencyClaim | StoredResponse:
        """Claim *key* for this request, or answer what its first request answered.

        *caller* (a user id), *route* (method and path) and *key* name the
        record; *fingerprint* identifies the request (its body). Raises
        :class:`KeyReused` when the record's fingerprint differs, and
        :class:`KeyInUse` while another attempt holds it.
        """
        record_id = _record_id(caller, route, key)
        for _ in range(_CAS_ATTEMPTS):
            moment = now or utc_now()
            fresh: dict[str, Any] = {
                "kind": IDEMPOTENCY_KIND,
                "user_id": caller,
                "hotel": hotel,
                "route": route,
                "fingerprint": fingerprint,
                "state": "pending",
                "lease_until": iso(moment + lease),
                "expires_at": iso(moment + keep),
                "created_at": iso(moment),
            }
            try:
                await self._credentials.insert({"_id": record_id, **fresh})
                return IdempotencyClaim(
                    record_id, fresh["expires_at"], resumed=False, started=fresh["created_at"]
                )
            except DuplicateDocument:
                pass
            found = await self._credentials.find_one({"_id": record_id})
            if found is None:
                continue  # purged since the insert failed
            cas = {"_id": record_id, "expires_at": found["expires_at"]}
            if found["expires_at"] <= iso(moment):  # kept long enough: the key is free again
                if await self._credentials.update_one(cas, {"$set": fresh}) is not None:
                    return IdempotencyClaim(
                        record_id, fresh["expires_at"], resumed=False, started=fresh["created_at"]
                    )
                continue
            if found.get("fingerprint") != fingerprint:
                raise KeyReused(route)
            if found.get("state") == "done":
                return StoredResponse(
                    status_code=int(found["status_code"]),
                    body=str(found["body"]),
                    encrypted=bool(found.get("encrypted")),
                )
            lease_until = datetime.fromisoformat(str(found["lease_until"]))
            if lease_until > moment:
                raise KeyInUse(retry_after=max(1, round((lease_until - moment).total_seconds())))
            taken = await self._credentials.update_one(
                cas,
                {"$set": {"lease_until": fresh["lease_until"], "expires_at": fresh["expires_at"]}},
            )
            if taken is not None:
                return IdempotencyClaim(
                    record_id, fresh["expires_at"], resumed=True, started=str(found["created_at"])
                )
        raise KeyInUse(retry_after=1)

    async def finish_idempotent(self, claim: IdempotencyClaim, response: StoredResponse) -> bool:
        """Record *response* as the key's answer; False if the claim was taken over."""
        finished = await self._credentials.update_one(
            {"_id": claim.record_id, "expires_at": claim.token},
            {
                "$set": {
                    "state": "done",
                    "status_code": response.status_code,
                    "body": response.body,
                    "encrypted": response.encrypted,
                }
            },
        )
        return finished is not None

    async def release_idempotent(self, claim: IdempotencyClaim) -> None:
        """Give up the claim unfinished: the next request with the key runs at once."""
        await self._credentials.update_one(
            {"_id": claim.record_id, "expires_at": claim.token},
            {"$set": {"lease_until": iso(utc_now())}},
        )

    async def purge_idempotency(self, *, now: datetime | None = None) -> int:
        """Delete the records kept long enough; return how many."""
        return await self._credentials.delete_many(
            {"kind": IDEMPOTENCY_KIND, "expires_at": {"$lte": iso(now or utc_now())}}
        )
