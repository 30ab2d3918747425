"""Live inbox updates: small JSON notices on a Litestar channel per hotel, over Redis.

Every suite replica publishes and subscribes through Redis pub/sub, so a
browser connected to any replica sees what any replica stored. Notices say
what changed (ids), not the data: the page fetches it through the API, where
access is checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final, Literal

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectSendStream
from litestar.channels import ChannelsPlugin

__all__ = ["ACCESS_NOTICE", "LiveUpdates", "NoticeKind", "access_channel", "inbox_channel"]

log = logging.getLogger(__name__)

QUEUED_NOTICES: Final = 1000
"""Notices waiting to be published; more are dropped (Redis is slow or down)."""

_Notice = tuple[dict[str, Any], str]

NoticeKind = Literal[
    "message.created",
    "message.status",
    "message.changed",
    "conversation.updated",
    "conversation.read",
    "draft.created",
    "draft.decided",
    "channel.state",
]


def inbox_channel(prefix: str, hotel: str) -> str:
    """The Litestar channel of *hotel*'s inbox.

    The prefix is in the name because Litestar's Redis pub/sub backend does not
    prefix channels itself: two installations sharing a Redis stay apart.
    """
    return f"{prefix}:inbox:{hotel}"


def access_channel(prefix: str) -> str:
    """The Litestar channel where any replica says that someone's access may have changed:
    every live socket, on every replica, re-checks its caller when a notice arrives."""
    return f"{prefix}:access"


ACCESS_NOTICE: Final = {"kind": "access.changed"}


class LiveUpdates:
    """Publishes notices; without a channels plugin (tests, CLI) it publishes nothing.

    Notices go out from :meth:`run`, a task of their own, never from the code
    that stored the change: a notice is best-effort (the page fetches the data
    anyway), so while Redis is down they are dropped, with one warning per
    outage, and nothing that stored a change waits or fails for one. (Litestar's
    own publish queue is not used: its worker dies at the first Redis error,
    after which no notice goes out and shutdown waits for it forever.)
    """

    def __init__(
        self,
        plugin: ChannelsPlugin | None,
        prefix: str = "",
        *,
        defer: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self._plugin = plugin
        self._prefix = prefix
        # The store's after_commit: a notice goes out once what it announces can
        # be read through the API, and not at all if it was rolled back.
        self._defer = defer
        self._sender: MemoryObjectSendStream[_Notice] | None = None
        """Where notices queue while :meth:`run` runs (None otherwise: they are dropped)."""
        self._scope: anyio.CancelScope | None = None
        self._failing = False

    def notify(self, hotel: str, kind: NoticeKind, **ids: Any) -> None:
        """Publish a notice, after the store commits what it announces."""
        if self._plugin is None:
            return
        notice = ({"kind": kind, "hotel": hotel, **ids}, inbox_channel(self._prefix, hotel))

        def enqueue() -> None:
            sender = self._sender
            if sender is None:
                return  # not running (starting or stopped)
            try:
                sender.send_nowait(notice)
            except anyio.WouldBlock:
                log.debug("hotel %s: live update %s dropped (queue full)", hotel, kind)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass  # stopping

        if self._defer is None:
            enqueue()
        else:
            self._defer(enqueue)

    def access_changed(self) -> None:
        """Tell every replica's live sockets to re-check their callers (a membership, a user,
        a session or token changed); called after the change is committed."""
        if self._plugin is None:
            return
        sender = self._sender
        if sender is None:
            return
        try:
            sender.send_nowait((dict(ACCESS_NOTICE), access_channel(self._prefix)))
        except anyio.WouldBlock:
            # Dropped with the queue full (Redis slow or down): the sockets' periodic
            # re-check (BEGASIST_LIVE_RECHECK_SECONDS) still closes them.
            log.warning("an access change could not be announced to the live sockets")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # stopping

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Publish the notices queued from now on until :meth:`close` (or cancelled)."""
        plugin = self._plugin
        if plugin is None:
            task_status.started()
            return
        sender, receiver = anyio.create_memory_object_stream[_Notice](QUEUED_NOTICES)
        self._sender = sender
        with anyio.CancelScope() as self._scope, sender, receiver:
            task_status.started()
            async for notice, channel in receiver:
                try:
                    await plugin.wait_published(notice, [channel])
                except Exception:  # a lost notice must never stop the next ones
                    if not self._failing:
                        self._failing = True
                        log.warning(
                            "live updates are not being published; dropping them until "
                            "Redis takes them again",
                            exc_info=True,
                        )
                    continue
                if self._failing:
                    self._failing = False
                    log.info("live updates are published again")

    def close(self) -> None:
        """End :meth:`run`; notices not yet out are dropped (a slow Redis must not hold
        up a shutdown)."""
        self._sender = None
        if self._scope is not None:
            self._scope.cancel()
