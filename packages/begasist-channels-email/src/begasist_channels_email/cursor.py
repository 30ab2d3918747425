"""Where the IMAP inbound stopped: (folder, UIDVALIDITY, last delivered UID), kept in Redis."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Final

from begasist_core import ChannelKeys

__all__ = ["CURSOR_TTL", "ImapCursor", "ImapCursorStore"]

CURSOR_TTL: Final = timedelta(days=365)
"""Refreshed on every write; a cursor lost after a year of silence means one full resync."""


@dataclass(frozen=True, slots=True)
class ImapCursor:
    """Every message of ``mailbox`` with a UID up to ``last_uid`` has a durable event.

    UIDs are only comparable under one ``uidvalidity``: when the server's
    changes, the cursor no longer says anything and the folder is read again.
    """

    mailbox: str
    uidvalidity: int
    last_uid: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> ImapCursor | None:
        """The cursor in *raw*, None if it is not one."""
        try:
            data = json.loads(raw)
            cursor = cls(str(data["mailbox"]), int(data["uidvalidity"]), int(data["last_uid"]))
        except (ValueError, TypeError, KeyError):
            return None
        return cursor if cursor.uidvalidity > 0 and cursor.last_uid >= 0 else None


class ImapCursorStore:
    """Loads and stores the cursor of one folder in the channel's private keys."""

    def __init__(self, keys: ChannelKeys, folder: str) -> None:
        self._keys = keys
        self._folder = folder
        self._name = f"imap-cursor:{folder}"

    async def load(self) -> ImapCursor | None:
        """The stored cursor, or None when there is none (or it is unreadable)."""
        raw = await self._keys.get(self._name)
        if raw is None:
            return None
        cursor = ImapCursor.from_json(raw)
        return cursor if cursor is not None and cursor.mailbox == self._folder else None

    async def start(self, uidvalidity: int, last_uid: int = 0) -> ImapCursor:
        """Store a cursor for a new UIDVALIDITY (a first start, or the server's change)."""
        cursor = ImapCursor(mailbox=self._folder, uidvalidity=uidvalidity, last_uid=last_uid)
        await self._keys.set(self._name, cursor.to_json(), ttl=CURSOR_TTL)
        return cursor

    async def advance(self, cursor: ImapCursor, uid: int) -> ImapCursor:
        """*cursor* moved to *uid*, stored; it never moves back.

        One writer per hotel (the bot's lease), so read-compare-write is enough.
        """
        stored = await self.load()
        if (
            stored is not None
            and stored.uidvalidity == cursor.uidvalidity
            and stored.last_uid >= uid
        ):
            return stored
        moved = replace(cursor, last_uid=max(uid, cursor.last_uid))
        await self._keys.set(self._name, moved.to_json(), ttl=CURSOR_TTL)
        return moved
