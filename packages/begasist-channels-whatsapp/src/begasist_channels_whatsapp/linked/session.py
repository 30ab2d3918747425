"""Where a hotel's linked-device session lives: a private folder on the bot's disk."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_SESSION_DIR", "SESSION_DIR_VARIABLE", "LinkedSession"]

SESSION_DIR_VARIABLE: Final = "BEGASIST_WHATSAPP_SESSION_DIR"
"""The bot's environment variable naming the sessions folder."""

DEFAULT_SESSION_DIR: Final = Path(".begasist") / "whatsapp-linked"
"""Relative to the bot's working directory, when the variable is not set."""


@dataclass(frozen=True, slots=True)
class LinkedSession:
    """One hotel's session store: a folder of its own, readable by the bot's user only.

    Never in Redis: the session's keys let whoever holds them read and send as
    the hotel's number. Clearing the folder is what unpairing leaves behind.
    """

    directory: Path
    device_name: str = "Begasist"
    """The name the phone lists the device under."""

    @classmethod
    def for_channel(
        cls,
        *,
        hotel: str,
        channel: str,
        configured_dir: str | None = None,
        device_name: str = "Begasist",
    ) -> LinkedSession:
        """The session of *channel* of *hotel*, under the configured sessions folder."""
        for part in (hotel, channel):
            # Hotel and channel names are validated slugs; this keeps it that way here too.
            if not part or part in {".", ".."} or any(c in part for c in "/\\\0"):
                raise ValueError(f"not a safe folder name: {part!r}")
        root = Path(configured_dir or os.environ.get(SESSION_DIR_VARIABLE) or DEFAULT_SESSION_DIR)
        return cls(directory=root / hotel / channel, device_name=device_name)

    @property
    def database(self) -> Path:
        """The SQLite file the library keeps the device keys in."""
        return self.directory / "session.db"

    def prepare(self) -> None:
        """Create the folder (owner-only) so the library can open its database in it."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory.chmod(0o700)

    def exists(self) -> bool:
        return self.database.exists()

    def clear(self) -> None:
        """Delete the store (database, journal and all): the next connection pairs anew."""
        shutil.rmtree(self.directory, ignore_errors=True)
