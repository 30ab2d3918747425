"""Reconnect delays for the linked device: exponential, capped, with jitter."""

from __future__ import annotations

import random

__all__ = ["ReconnectBackoff"]


class ReconnectBackoff:
    """Delays growing ``initial * 2**n`` up to ``maximum``, each drawn from the upper half.

    The same policy as the channel supervisor's (core keeps its ``Backoff``
    private to the runtime): never near zero, so a reconnect loop never spins,
    and spread, so the bots of many hotels do not reconnect in lock step after
    a network blip. ``reset()`` once connected.
    """

    def __init__(
        self, *, initial: float = 1.0, maximum: float = 120.0, rng: random.Random | None = None
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("need 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        # The exponent is capped: past the maximum it changes nothing, and 2.0**1024 overflows.
        ceiling = min(self.maximum, self.initial * 2.0 ** min(self.attempts, 32))
        self.attempts += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0
