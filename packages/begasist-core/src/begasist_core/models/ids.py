"""Identifiers: ULIDs, sortable by creation time."""

from __future__ import annotations

import os
import time
from typing import Final

__all__ = ["new_id"]

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every 10-bit value as its two base32 digits: 13 lookups make a ULID, which
# is several times cheaper than a digit-by-digit loop or base64.b32encode
# (pure Python in 3.11). Every event carries at least one id.
_PAIRS: Final = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_SHIFTS: Final = tuple(range(120, -1, -10))
_MASK: Final = 0x3FF


def new_id() -> str:
    """A new ULID as its 26-character Crockford base32 string.

    48 bits of Unix time in milliseconds then 80 random bits from the
    operating system, as the ULID spec lays them out.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & _MASK] for shift in _SHIFTS])
