"""Which bot shard serves a hotel: rendezvous (highest random weight) hashing of its slug.

Every shard scores every hotel with a stable hash of ``(shard, slug)``; the
hotel's *first choice* is the shard with the highest score and its *second
choice* the next one. Rendezvous hashing rather than ``hash(slug) % N``
because:

* when N changes, a hotel moves only if a new shard outscores its old one (or
  its shard went away): about 1/N of the hotels move, not nearly all of them;
* the ranking gives every hotel a second-choice shard, spread evenly over the
  other shards, which stands by for it: a dead shard's hotels are shared out
  among all the others instead of doubling one shard's load.

The hash is BLAKE2b, never Python's ``hash()``, which is salted per process
(``PYTHONHASHSEED``): two pods must agree on every hotel's shard.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["InvalidShard", "Shard", "shard_ranking"]

_SHARD = re.compile(r"^(\d{1,6})/(\d{1,6})$")
_HOSTNAME_INDEX = re.compile(r"-(\d{1,6})$")


class InvalidShard(ValueError):
    """A ``--shard`` value, a shard count or a host name that names no shard."""


def _score(shard: int, hotel: str) -> int:
    key = f"{shard}\x00{hotel}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def shard_ranking(hotel: str, count: int) -> list[int]:
    """The shards 0..count-1 in the order *hotel* prefers them (first choice first)."""
    return sorted(range(count), key=lambda shard: (-_score(shard, hotel), shard))


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based, as a StatefulSet numbers its pods)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InvalidShard(f"the shard count must be at least 1 (got {self.count})")
        if not 0 <= self.index < self.count:
            raise InvalidShard(
                f"shard {self.index} does not exist in {self.count} "
                f"(shards are numbered 0 to {self.count - 1})"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"K/N"`` (``--shard 3/4``)."""
        match = _SHARD.match(text.strip())
        if match is None:
            raise InvalidShard(f"--shard wants K/N, as in 0/4 (got {text!r})")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def from_hostname(cls, hostname: str, count: int) -> Shard:
        """K from the number after the host name's last ``-`` (StatefulSet pod ``bots-3``)."""
        match = _HOSTNAME_INDEX.search(hostname.split(".", 1)[0])
        if match is None:
            raise InvalidShard(
                f"host name {hostname!r} does not end in -<number> (as a StatefulSet pod's does)"
            )
        return cls(int(match[1]), count)

    def serves(self, hotel: str) -> bool:
        """Whether this shard is *hotel*'s first choice."""
        return shard_ranking(hotel, self.count)[0] == self.index

    def stands_by_for(self, hotel: str) -> int | None:
        """The first-choice shard of *hotel* when this shard is its second choice, else None."""
        if self.count < 2:
            return None
        first, second = shard_ranking(hotel, self.count)[:2]
        return first if second == self.index else None
