"""Identifiers: ULIDs, sortable by creation time."""

from __future__ import annotations

import os
import threading
import time
from typing import Final

__all__ = ["new_id"]

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every 10-bit value as its two base32 digits: a ULID is 13 such pairs, which
# is several times cheaper than a digit-by-digit loop or base64.b32encode
# (pure Python in 3.11). Every event carries at least one id.
_PAIRS: Final = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_TIME_SHIFTS: Final = (40, 30, 20, 10, 0)
_MASK: Final = 0x3FF

_RANDOM_LIMIT: Final = 1 << 80

# (millisecond, its 10 time digits, the random part last used): ids made in
# the same millisecond share the digits and count up from one random start.
_last: tuple[int, str, int] = (-1, "", 0)
_lock = threading.Lock()


def new_id() -> str:
    """A new ULID as its 26-character Crockford base32 string.

    48 bits of Unix time in milliseconds (10 digits, the top two bits zero)
    then 80 random bits from the operating system (16 digits), as the ULID
    spec lays them out. Monotonic within a process, as the spec's monotonic
    mode: ids of the same millisecond count up from that millisecond's random
    start, so two messages read from one webhook in one millisecond sort in
    the order they were read (the inbox orders by time, then id).
    """
    global _last
    with _lock:
        millisecond = time.time_ns() // 1_000_000
        last_ms, digits, last_r = _last
        if last_ms == millisecond and last_r + 1 < _RANDOM_LIMIT:
            r = last_r + 1
        else:
            if last_ms != millisecond:
                digits = "".join([_PAIRS[(millisecond >> shift) & _MASK] for shift in _TIME_SHIFTS])
            # A fresh random start, below the top so the millisecond can count up.
            r = int.from_bytes(os.urandom(10), "big") >> 1
        _last = (millisecond, digits, r)
    pairs = _PAIRS
    return (
        digits
        + pairs[r >> 70]
        + pairs[(r >> 60) & _MASK]
        + pairs[(r >> 50) & _MASK]
        + pairs[(r >> 40) & _MASK]
        + pairs[(r >> 30) & _MASK]
        + pairs[(r >> 20) & _MASK]
        + pairs[(r >> 10) & _MASK]
        + pairs[r & _MASK]
    )
