"""Exponential backoff with full jitter, for reconnects and restarts."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Delays that grow ``initial * factor**n`` up to ``maximum``, with jitter.

    Each delay is drawn uniformly from the upper half of its ceiling: never
    near zero, so a retry loop never spins, and spread, so many bots that lost
    Redis at once do not reconnect in lock step. ``reset()`` after a success.
    """

    def __init__(
        self,
        *,
        initial: float = 0.2,
        maximum: float = 30.0,
        factor: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.attempts = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        return min(self.maximum, self.initial * self.factor**self.attempts)

    def next_delay(self) -> float:
        """The next delay in seconds, between half the ceiling and the ceiling."""
        ceiling = self.ceiling()
        self.attempts += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0
