"""Who a guest socket's client is, for limits: its address, or its IPv6 networks, and how many
sockets each holds open on this replica.

One host is routinely given a whole IPv6 /64, and one customer of an ISP a /56
or a /48, so counting per IPv6 address would let one party open as many
sockets (and mint as many visitors) as it has addresses. An IPv6 client counts
under three keys: its /64 with an address's limit, its /56 with *factor* times
that and its /48 with *factor* squared (a few /64s of one party share the
wider ones; a carrier's many subscribers in one /48 still get a wide share). An
IPv4 address counts alone (a hotel's guests behind one NAT share it: the limits
are sized for that).
"""

from __future__ import annotations

import enum
import ipaddress
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

__all__ = ["ClientTier", "OpenSockets", "SocketRefusal", "client_key", "client_tiers"]

_IPV6_TIERS: Final = (64, 56, 48)
"""The prefix lengths an IPv6 client counts under, narrowest first."""


@dataclass(frozen=True, slots=True)
class ClientTier:
    """One key a client's limits count under, and how many addresses' worth it may use."""

    key: str
    scale: int


def client_key(host: str | None) -> str:
    """The narrowest key *host*'s limits count under: the address, or its /64 for IPv6."""
    return client_tiers(host, 1)[0].key


def client_tiers(host: str | None, factor: int) -> tuple[ClientTier, ...]:
    """The keys *host* counts under, narrowest first (module docstring); the last is the
    widest, which is what a hotel under a flood counts new visitors by."""
    if not host:
        return (ClientTier("unknown", 1),)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return (ClientTier(host, 1),)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return (ClientTier(str(address.ipv4_mapped), 1),)
        return tuple(
            ClientTier(str(ipaddress.IPv6Network((address, prefix), strict=False)), factor**step)
            for step, prefix in enumerate(_IPV6_TIERS)
        )
    return (ClientTier(str(address), 1),)


class SocketRefusal(enum.Enum):
    """Why :meth:`OpenSockets.hold` did not count a socket in."""

    CLIENT = "too many open connections"
    """The client (one of its keys) holds its share already."""
    REPLICA = "too many connections here"
    """This replica holds its total already: another replica (or later) may take it."""


class OpenSockets:
    """The guest sockets each client key holds open in this process, and their total."""

    def __init__(self, total: int) -> None:
        self._total_limit = total
        self._open: Counter[str] = Counter()
        self._total = 0

    @contextmanager
    def hold(self, tiers: Sequence[ClientTier], limit: int) -> Iterator[SocketRefusal | None]:
        """Count one socket of a client under each of its *tiers* while the block runs;
        yields None, or why nothing was counted: a tier already holds ``limit`` times its
        scale, or the replica its total."""
        if self._total >= self._total_limit:
            yield SocketRefusal.REPLICA
            return
        if any(self._open[tier.key] >= limit * tier.scale for tier in tiers):
            yield SocketRefusal.CLIENT
            return
        self._total += 1
        for tier in tiers:
            self._open[tier.key] += 1
        try:
            yield None
        finally:
            self._total -= 1
            for tier in tiers:
                self._open[tier.key] -= 1
                if not self._open[tier.key]:
                    del self._open[tier.key]

    def count(self, key: str) -> int:
        return self._open[key]

    def total(self) -> int:
        return self._total
