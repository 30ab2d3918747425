"""The store's housekeeping: expired sessions, tokens, invitations and Idempotency-Key
records are deleted once they can no longer be used.

Every read already treats an expired credential as absent; this only keeps the
``credentials`` collection from growing with every sign-in forever. It runs
in each suite replica (deleting what another replica just deleted is harmless).
"""

from __future__ import annotations

import logging

import anyio

from begasist_suite.store.store import Store

__all__ = ["CredentialPurge"]

log = logging.getLogger("begasist.store")


class CredentialPurge:
    """Purges every *every_seconds* (the first time one interval after the start, so a
    replica's restart loop does not purge on each start), from :meth:`run` until
    :meth:`stop`. An invitation link purged after its expiry reads as unknown rather
    than expired: both pages say it no longer works."""

    def __init__(self, store: Store, every_seconds: float) -> None:
        self._store = store
        self._every = every_seconds
        self._scope = anyio.CancelScope()

    async def run(self) -> None:
        """Purge until stopped; a failed purge is logged and tried again at the next
        turn (the store may be away for a moment)."""
        with self._scope:
            while True:
                await anyio.sleep(self._every)
                try:
                    purged = await self._store.purge_expired_credentials()
                except Exception:
                    log.warning("purging expired credentials failed; again later", exc_info=True)
                else:
                    if purged:
                        log.info("purged %d expired credentials", purged)

    def stop(self) -> None:
        self._scope.cancel()
