"""Guests' uploads no message names yet: kept apart, kept for good once a message names them,
deleted after ``guest_upload_pending_hours`` otherwise.

An upload lands in the media directory's pending area,
``<media_dir>/.pending/<hotel>/<sha[:2]>/<sha>`` (a :class:`FileMediaStore` of
its own, so never among the files messages use), and the guest's page shows it
from there. When the suite records a message whose attachment names it
(``media:<key>``, whichever channel's), the event consumer copies it into the
hotel's media store first (:meth:`GuestFiles.keep`); staff see only that store.
A file nothing names is deleted by every replica's sweeper once it is older
than the TTL. Why it holds with content-addressed files and several replicas
sharing the directory:

- The sweeper deletes only in the pending area: a file in the media store (a
  message's, or the same bytes a bot stored) is never touched, however many
  pending copies of those bytes come and go.
- Every upload writes its files again, even for bytes pending already
  (``refresh``), so a file's age is the time since its bytes were last
  uploaded: a guest re-sending another's bytes restarts the clock.
- The sweeper moves an old file aside (an atomic rename) before deleting it
  and looks at the moved file's time again: a file an upload wrote again just
  before the move is put back. So a sweep never deletes an upload it raced
  with; replicas sweeping together only find files another moved (skipped).
- Copying into the media store is the store's own write (a temporary file
  renamed into place), so replicas keeping the same file at once are harmless;
  a copy open while the sweeper deletes its source reads on (POSIX).

What this leaves: a message recorded more than the TTL after its file was last
uploaded (a guest's page held open a day before sending, or the bot away that
long) keeps its attachment's details but not the bytes (a warning is logged).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import anyio
from begasist_core import (
    FileMediaStore,
    MediaChunks,
    MediaNotFound,
    Message,
    StoredMedia,
    media_key_of,
)

__all__ = ["PENDING_DIR", "GuestFiles", "UploadSweeper", "sweep_pending"]

log = logging.getLogger(__name__)

PENDING_DIR: Final = ".pending"
"""The pending area's folder in the media directory (no hotel slug starts with a dot)."""

_INCOMING: Final = ".incoming"
_STORED_NAME = re.compile(r"[0-9a-f]{64}(?:\.json)?")


class GuestFiles:
    """The media directory as guests' uploads use it: the pending area, then the store."""

    def __init__(self, media_dir: Path) -> None:
        self.media = FileMediaStore(media_dir)
        self.pending = FileMediaStore(Path(media_dir) / PENDING_DIR)

    async def put(
        self,
        hotel: str,
        chunks: MediaChunks,
        *,
        mime_type: str,
        filename: str | None,
        max_bytes: int,
    ) -> StoredMedia:
        """Store an upload in the pending area (written again if pending already)."""
        return await self.pending.put(
            hotel, chunks, mime_type=mime_type, filename=filename, max_bytes=max_bytes, refresh=True
        )

    async def find(self, hotel: str, key: str) -> tuple[FileMediaStore, StoredMedia]:
        """The store holding *key* (the media store first, then the pending area) and what
        it holds; MediaNotFound if neither does."""
        try:
            return self.media, await self.media.stat(hotel, key)
        except MediaNotFound:
            return self.pending, await self.pending.stat(hotel, key)

    async def keep(self, hotel: str, key: str) -> bool:
        """Make sure *key* is in the hotel's media store, copied from the pending area if it
        is only there; False if it is in neither."""
        if await self.media.exists(hotel, key):
            return True
        try:
            stored = await self.pending.stat(hotel, key)
            async with self.pending.open(hotel, key) as chunks:
                await self.media.put(
                    hotel,
                    chunks,
                    mime_type=stored.mime_type,
                    filename=stored.filename,
                    max_bytes=stored.size_bytes,
                )
        except MediaNotFound:
            return False
        return True

    async def keep_attachments(self, message: Message) -> None:
        """:meth:`keep` every stored file *message*'s attachments name."""
        for attachment in message.attachments:
            key = media_key_of(attachment.url)
            if key is not None and not await self.keep(message.hotel, key):
                log.warning(
                    "message %s of %s names media %s, which is not stored (its upload was "
                    "swept, or never made)",
                    message.id,
                    message.hotel,
                    key,
                )


def _entries(directory: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            yield from entries
    except (FileNotFoundError, NotADirectoryError):
        return


def _older(path: Path | os.DirEntry[str], cutoff: float) -> bool:
    try:
        return path.stat(follow_symlinks=False).st_mtime < cutoff
    except FileNotFoundError:
        return False


def _sweep_file(path: Path, aside: Path, cutoff: float) -> bool:
    """Delete *path* if it was last written before *cutoff*, unless written again meanwhile."""
    if not _older(path, cutoff):
        return False
    moved = aside / f"{secrets.token_hex(16)}.sweep"
    try:
        os.replace(path, moved)
    except FileNotFoundError:  # another replica's sweep took it
        return False
    if not _older(moved, cutoff):
        # An upload wrote it again between the look and the move: it stays.
        os.replace(moved, path)
        return False
    moved.unlink(missing_ok=True)
    return True


def sweep_pending(media_dir: Path, cutoff: float) -> int:
    """Delete every pending upload last written before *cutoff* (a Unix time), and what
    interrupted writes left behind; how many files were deleted. Blocking: run it in a
    worker thread."""
    deleted = 0
    for hotel in _entries(Path(media_dir) / PENDING_DIR):
        if not hotel.is_dir(follow_symlinks=False):
            continue
        aside = Path(hotel.path) / _INCOMING
        for leftover in _entries(aside):
            if _older(leftover, cutoff):
                Path(leftover.path).unlink(missing_ok=True)
        for shard in _entries(Path(hotel.path)):
            if shard.name == _INCOMING or not shard.is_dir(follow_symlinks=False):
                continue
            for entry in _entries(Path(shard.path)):
                if _STORED_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    aside.mkdir(exist_ok=True)
                    deleted += _sweep_file(Path(entry.path), aside, cutoff)
    return deleted


class UploadSweeper:
    """Sweeps the pending area every *every_seconds* (the first time one interval after the
    start), deleting uploads older than *pending_seconds*, from :meth:`run` until :meth:`stop`."""

    def __init__(self, media_dir: Path, *, every_seconds: float, pending_seconds: float) -> None:
        self._media_dir = media_dir
        self._every = every_seconds
        self._pending = pending_seconds
        self._scope = anyio.CancelScope()

    async def sweep(self) -> int:
        cutoff = time.time() - self._pending
        return await anyio.to_thread.run_sync(sweep_pending, self._media_dir, cutoff)

    async def run(self) -> None:
        """Sweep until stopped; a failed sweep is logged and tried again at the next turn."""
        with self._scope:
            while True:
                await anyio.sleep(self._every)
                try:
                    deleted = await self.sweep()
                except OSError:
                    log.warning("sweeping unsent guest uploads failed; again later", exc_info=True)
                else:
                    if deleted:
                        log.info("deleted %d files of guest uploads no message named", deleted)

    def stop(self) -> None:
        self._scope.cancel()
