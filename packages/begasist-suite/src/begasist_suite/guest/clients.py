"""Who a guest socket's client is, for limits: its address, or its IPv6 /64, and how many
sockets each holds open on this replica.

One host is routinely given a whole IPv6 /64, so counting per IPv6 address
would let it open as many sockets as it has addresses; an IPv4 address counts
alone (a hotel's guests behind one NAT share it: the limits are sized for that).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["OpenSockets", "client_key"]


def client_key(host: str | None) -> str:
    """The key *host*'s limits count under: the address, or its /64 for IPv6."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class OpenSockets:
    """The guest sockets each client key holds open in this process."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    @contextmanager
    def hold(self, key: str, limit: int) -> Iterator[bool]:
        """Count one socket of *key* while the block runs; yields False (and counts
        nothing) when *key* already holds *limit*."""
        if self._open[key] >= limit:
            yield False
            return
        self._open[key] += 1
        try:
            yield True
        finally:
            self._open[key] -= 1
            if not self._open[key]:
                del self._open[key]

    def count(self, key: str) -> int:
        return self._open[key]
