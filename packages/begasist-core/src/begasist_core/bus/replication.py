"""Waiting for replicas before a write is acknowledged (``WAIT``), so a failover cannot lose it.

Redis replicates asynchronously: an entry the master took and answered for,
but had not yet sent to a replica, is gone when Sentinel promotes that
replica. Where an answer tells someone else they may forget the data (a
webhook's 200 to its provider), :class:`ReplicaWait` makes the write wait for
replicas first. ``WAIT`` counts the writes of its own connection, so it goes
in the same pipeline as them (:func:`add_wait`, :func:`check_wait`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio.client import Pipeline

__all__ = ["NotReplicated", "ReplicaWait", "add_wait", "check_wait"]


class NotReplicated(Exception):
    """The write is on the master, but fewer replicas than asked acknowledged it in time.

    It may still be lost in a failover: answer so the sender retries (503).
    The entry itself stays, so a retry writes a duplicate, which the
    idempotency keys downstream make harmless.
    """

    def __init__(self, acknowledged: int, wanted: int) -> None:
        super().__init__(f"{acknowledged} of {wanted} replicas acknowledged the write in time")
        self.acknowledged = acknowledged
        self.wanted = wanted


@dataclass(frozen=True, slots=True)
class ReplicaWait:
    """``WAIT replicas timeout_ms`` after a write (``BEGASIST_REDIS_WAIT_*``)."""

    replicas: int
    timeout_ms: int

    @classmethod
    def of(cls, replicas: int, timeout_ms: int) -> ReplicaWait | None:
        """The wait for these settings, or None when *replicas* is 0 (do not wait)."""
        return cls(replicas, timeout_ms) if replicas > 0 else None


def add_wait(pipe: Pipeline, wait: ReplicaWait) -> None:
    """Queue ``WAIT`` as *pipe*'s last command: it covers every write queued before it."""
    pipe.execute_command("WAIT", wait.replicas, wait.timeout_ms)


def check_wait(result: Any, wait: ReplicaWait) -> None:
    """Raise :class:`NotReplicated` (or the error) unless ``WAIT``'s *result* is enough."""
    if isinstance(result, BaseException):
        raise result
    if int(result) < wait.replicas:
        raise NotReplicated(int(result), wait.replicas)
