"""Live inbox updates: small JSON notices on a Litestar channel per hotel, over Redis.

Every suite replica publishes and subscribes through Redis pub/sub, so a
browser connected to any replica sees what any replica stored. Notices say
what changed (ids), not the data: the page fetches it through the API, where
access is checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from litestar.channels import ChannelsPlugin

__all__ = ["LiveUpdates", "NoticeKind", "inbox_channel"]

log = logging.getLogger(__name__)

NoticeKind = Literal[
    "message.created",
    "message.status",
    "conversation.updated",
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


class LiveUpdates:
    """Publishes notices; without a channels plugin (tests, CLI) it publishes nothing."""

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

    def notify(self, hotel: str, kind: NoticeKind, **ids: Any) -> None:
        """Publish a notice, after the store commits what it announces."""
        if self._plugin is None:
            return
        plugin = self._plugin
        notice = {"kind": kind, "hotel": hotel, **ids}
        channel = inbox_channel(self._prefix, hotel)

        def publish() -> None:
            try:
                plugin.publish(notice, [channel])
            except Exception:  # a lost notice must never fail a stored change
                log.warning("hotel %s: live update %s not published", hotel, kind, exc_info=True)

        if self._defer is None:
            publish()
        else:
            self._defer(publish)
