"""The rate limits one guest session counts against, by its client's keys (docs/suite.md).

Each check counts one event in Redis (:class:`~begasist_suite.guest.limits.WindowLimiter`)
and raises :class:`~begasist_suite.guest.protocol.Refusal` past a limit, or
when Redis cannot count (1013: the widget reconnects later).
"""

from __future__ import annotations

from begasist_core import GUEST_CLOSE_RATE_LIMITED, GUEST_CLOSE_UNAVAILABLE, REDIS_UNAVAILABLE

from begasist_suite.config import SuiteSettings
from begasist_suite.guest.clients import ClientTier
from begasist_suite.guest.limits import WindowLimiter
from begasist_suite.guest.protocol import Refusal

__all__ = ["TOO_MANY_NEW_VISITORS", "GuestRates"]

TOO_MANY_NEW_VISITORS = "too many new visitors"


class GuestRates:
    """The limits of one session of *hotel*'s *channel* from a client of *tiers*."""

    def __init__(
        self,
        limiter: WindowLimiter,
        settings: SuiteSettings,
        hotel: str,
        channel: str,
        tiers: tuple[ClientTier, ...],
    ) -> None:
        self._limiter = limiter
        self._settings = settings
        self._hotel = hotel
        self._channel = channel
        self._tiers = tiers

    async def connection(self) -> None:
        """One socket opened by the client (``BEGASIST_GUEST_ADDRESS_CONNECTIONS``)."""
        limit = self._settings.guest_address_connections
        if not await self._each("connect", "", limit):
            raise Refusal(GUEST_CLOSE_RATE_LIMITED, "too many connections")

    async def new_visitor(self) -> None:
        """A visitor minted for the client at this hotel, once the channel admitted it
        (``BEGASIST_GUEST_ADDRESS_NEW_VISITORS``): one address cannot mint visitors
        without end, each with a frame limit of its own."""
        limit = self._settings.guest_address_new_visitors
        if not await self._each("new-visitor-address", f"{self._hotel}/", limit):
            raise Refusal(GUEST_CLOSE_RATE_LIMITED, TOO_MANY_NEW_VISITORS)

    async def frame(self, visitor: str) -> None:
        """One frame of *visitor* (``BEGASIST_GUEST_VISITOR_FRAMES``, and
        ``BEGASIST_GUEST_ADDRESS_FRAMES`` by the client's keys)."""
        settings = self._settings
        visitor_key = f"{self._hotel}/{self._channel}/{visitor}"
        if not await self._allowed(
            "visitor", ((visitor_key, settings.guest_visitor_frames),)
        ) or not await self._each("address", "", settings.guest_address_frames):
            raise Refusal(GUEST_CLOSE_RATE_LIMITED, "too many messages")

    async def hotel_frame(self) -> None:
        """A frame about to be enqueued on the hotel's ingress stream, from any guest
        (``BEGASIST_GUEST_HOTEL_FRAMES``): past it, 1013 and the widget comes back later."""
        limit = self._settings.guest_hotel_frames
        if not await self._allowed("hotel-frames", ((self._hotel, limit),)):
            raise Refusal(GUEST_CLOSE_UNAVAILABLE, "busy: try again later")

    async def new_conversation(self) -> None:
        """The first message of a visitor with no conversation yet.

        The hotel's budget (``BEGASIST_GUEST_HOTEL_NEW_VISITORS``) is no lock-out:
        once a flood has spent it, each client (an IPv6 one by its /48) may still
        start ``BEGASIST_GUEST_BUSY_ADDRESS_NEW_VISITORS`` conversations in the window,
        so a guest from any other network gets in and a flood from a few networks
        stops at a few each.
        """
        settings = self._settings
        if await self._allowed(
            "new-visitor-hotel", ((self._hotel, settings.guest_hotel_new_visitors),)
        ):
            return
        widest = f"{self._hotel}/{self._tiers[-1].key}"
        if not await self._allowed(
            "new-visitor-busy", ((widest, settings.guest_busy_address_new_visitors),)
        ):
            raise Refusal(GUEST_CLOSE_RATE_LIMITED, TOO_MANY_NEW_VISITORS)

    async def _each(self, kind: str, scope: str, limit: int) -> bool:
        """Count under every key of the client, each with *limit* times its scale."""
        return await self._allowed(
            kind, tuple((f"{scope}{tier.key}", limit * tier.scale) for tier in self._tiers)
        )

    async def _allowed(self, kind: str, limits: tuple[tuple[str, int], ...]) -> bool:
        try:
            return await self._limiter.allow_each(kind, limits)
        except REDIS_UNAVAILABLE:
            raise Refusal(GUEST_CLOSE_UNAVAILABLE, "try again later") from None
