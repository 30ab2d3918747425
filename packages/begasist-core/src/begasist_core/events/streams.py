"""Stream and key names, all under one configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from begasist_core.models.names import validate_channel_name, validate_hotel_slug

__all__ = ["DEFAULT_PREFIX", "STREAM_EVENT_TYPES", "StreamNames"]

DEFAULT_PREFIX: Final = "begasist"

STREAM_EVENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "control": ("config.changed", "channel.command"),
    "outbound": ("message.send",),
    "ingress": ("webhook.received",),
    "events": (
        "message.received",
        "message.status",
        "message.changed",
        "message.echoed",
        "guest.preference",
        "template.status",
        "channel.state",
    ),
}
"""Which event types each stream carries (the dead-letter stream holds any entry)."""


@dataclass(frozen=True, slots=True)
class StreamNames:
    """The names of every stream and key, for one prefix.

    Tests give each run its own prefix, so that runs sharing a server never
    see each other's keys.
    """

    prefix: str = DEFAULT_PREFIX

    def control(self, hotel: str) -> str:
        """Suite -> one hotel's bot: ``config.changed``, ``channel.command``."""
        return f"{self.prefix}:hotel:{validate_hotel_slug(hotel)}:control"

    def outbound(self, hotel: str) -> str:
        """Suite -> one hotel's bot: ``message.send``."""
        return f"{self.prefix}:hotel:{validate_hotel_slug(hotel)}:outbound"

    def ingress(self, hotel: str) -> str:
        """Suite -> one hotel's bot: ``webhook.received``, already verified."""
        return f"{self.prefix}:hotel:{validate_hotel_slug(hotel)}:ingress"

    def guests(self, hotel: str, channel: str) -> str:
        """One hotel's bot -> every suite replica: frames for a guest-socket channel's guests.

        Not an event stream: each entry is ``{address, frame}`` (see
        :class:`~begasist_core.plugins.guest_socket.GuestOutbox`), read without
        a consumer group by every replica, capped, never acknowledged.
        """
        return (
            f"{self.prefix}:hotel:{validate_hotel_slug(hotel)}"
            f":guests:{validate_channel_name(channel)}"
        )

    @property
    def events(self) -> str:
        """Bots -> suite: ``message.received``, ``message.status``, ``message.changed``,
        ``message.echoed``, ``guest.preference``, ``template.status``, ``channel.state``."""
        return f"{self.prefix}:events"

    @property
    def dead(self) -> str:
        """Failed entries that belong to no hotel (undecodable ones), and those buried before
        each hotel had its own dead stream (:meth:`hotel_dead`)."""
        return f"{self.prefix}:dead"

    def hotel_dead(self, hotel: str) -> str:
        """One hotel's entries that failed their last delivery, with the error.

        One stream per hotel, so a hotel with many failures never pushes
        another's out of its list (or out of the stream's length cap).
        """
        return f"{self.prefix}:hotel:{validate_hotel_slug(hotel)}:dead"

    def hotel_key(self, hotel: str, *parts: str) -> str:
        """A plain key in a hotel's namespace: lease, presence, QR, cursors."""
        return ":".join((self.prefix, "hotel", validate_hotel_slug(hotel), *parts))

    def key(self, *parts: str) -> str:
        """A plain key outside any hotel: idempotency markers, error notes."""
        return ":".join((self.prefix, *parts))
