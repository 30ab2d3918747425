"""Login throttling: attempts counted per (email, address) pair, per address and per email.

Following OWASP's authentication cheat sheet (throttle, do not hard-lock):

- **pair** (``login_attempts``, 10): an address guessing one account is
  throttled for that account only. An attacker who knows a user's email and
  hammers from their own addresses never locks the user out of theirs.
- **address** (``login_address_attempts``, 100): one address trying many
  accounts (password spraying) is throttled for all of them.
- **account** (``login_account_attempts``, 1000): a ceiling against guessing
  one account from very many addresses. Only attempts that passed the first
  two checks count here, so a throttled attacker adds nothing to it: reaching
  it takes ``ceiling / login_attempts`` addresses in one window (100 by
  default), and then does throttle the account for everyone until the window
  ends; that is the price of having a ceiling at all.

Counters are fixed windows of ``login_window_seconds`` starting at a key's
first attempt. Keys are hashed, so neither addresses nor emails sit in Redis
in clear.
"""

from __future__ import annotations

import hashlib
from typing import Final

from redis.asyncio import Redis

__all__ = ["LoginLimiter"]

# Counting and checking in one script: a burst of parallel guesses cannot all pass the
# check before any is counted, and an attempt refused by the pair or address limit is
# not counted against the account (so one address cannot exhaust the account ceiling).
_RESERVE: Final = """
local window = tonumber(ARGV[4])
local function count(key)
  local n = redis.call('INCR', key)
  redis.call('EXPIRE', key, window, 'NX')
  return n
end
local function wait(key)
  return math.max(1, redis.call('TTL', key))
end
if count(KEYS[1]) > tonumber(ARGV[1]) then return wait(KEYS[1]) end
if count(KEYS[2]) > tonumber(ARGV[2]) then return wait(KEYS[2]) end
if count(KEYS[3]) > tonumber(ARGV[3]) then return wait(KEYS[3]) end
return 0
"""

# A right password: the pair starts afresh; the attempt is taken off the address and
# the account (it was no failure), without resurrecting a key that expired meanwhile.
_SUCCEEDED: Final = """
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('DECR', KEYS[i]) end
end
return 0
"""


class LoginLimiter:
    """The three login counters of the module docstring, in Redis under *prefix*."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        attempts: int,
        address_attempts: int,
        account_attempts: int,
        window_seconds: int,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.attempts = attempts
        self.address_attempts = address_attempts
        self.account_attempts = account_attempts
        self.window_seconds = window_seconds

    def _keys(self, email: str, address: str) -> list[str]:
        account = email.casefold()
        return [
            f"{self._prefix}:login:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"
            for kind, value in (
                ("pair", f"{account}\0{address}"),
                ("addr", address),
                ("email", account),
            )
        ]

    async def reserve(self, email: str, address: str) -> int | None:
        """Count this attempt before the password is checked.

        Returns the seconds to wait when a counter is past its limit (the
        attempt is then refused), else None.
        """
        wait = await self._redis.eval(
            _RESERVE,
            3,
            *self._keys(email, address),
            self.attempts,
            self.address_attempts,
            self.account_attempts,
            self.window_seconds,
        )
        return int(wait) or None

    async def succeeded(self, email: str, address: str) -> None:
        """A right password: forget the pair's count, take this attempt off the others."""
        await self._redis.eval(_SUCCEEDED, 3, *self._keys(email, address))
