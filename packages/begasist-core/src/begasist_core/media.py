"""Where a message's media bytes live: the media store protocol and its filesystem backend.

Events carry only an :class:`~begasist_core.models.messages.Attachment`; a
channel that downloads a guest's file puts the bytes here and writes the
returned :attr:`StoredMedia.url` (``media:<key>``) into the attachment. The
suite serves them back per hotel from the same store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from pathlib import Path
from typing import Annotated, Final, Protocol

import anyio
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError

from begasist_core.models.names import InvalidName, validate_hotel_slug
from begasist_core.plugins.errors import ChannelError

__all__ = [
    "MEDIA_URL_SCHEME",
    "FileMediaStore",
    "MediaChunks",
    "MediaNotFound",
    "MediaRejected",
    "MediaStore",
    "MediaStoreMissing",
    "MediaTooLarge",
    "MediaTypeRejected",
    "MissingMediaStore",
    "StoredMedia",
    "media_key_of",
]

MEDIA_URL_SCHEME: Final = "media"
"""``Attachment.url`` of stored media is ``media:<key>``; the suite maps it to its route."""

MEDIA_KEY_PATTERN: Final = r"^[0-9a-f]{64}$"
"""A key is the SHA-256 of the bytes in lowercase hex: nothing in it can climb a path."""

MIME_TYPE_PATTERN: Final = (
    r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
    r"(?:; ?[a-z0-9!#$&^_.+-]{1,64}=[a-z0-9!#$&^_.+-]{1,64})*$"
)
"""``type/subtype`` with token-only parameters (``audio/ogg; codecs=opus``).

Strict because the suite sends the stored type back as ``Content-Type``: no
quotes, spaces or line breaks can ride along into a header.
"""

CHUNK_SIZE: Final = 64 * 1024

MediaChunks = AsyncIterable[bytes] | bytes
"""What :meth:`MediaStore.put` takes: the whole file, or its chunks as they arrive."""


class MediaRejected(ChannelError):
    """The media cannot be stored as offered; the message keeps its provider reference."""


class MediaTooLarge(MediaRejected):
    """More bytes than the caller's cap (announced by the provider, or counted in the stream)."""


class MediaTypeRejected(MediaRejected):
    """A MIME type that is malformed or not allowed for the attachment's kind."""


class MediaNotFound(ChannelError, LookupError):
    """No media under that key for that hotel; an invalid key or hotel is not found either."""


class MediaStoreMissing(ChannelError):
    """The runtime gave the channel no media store, so nothing can be stored."""


class StoredMedia(BaseModel):
    """What the store holds under a key: its identity and its type, never its bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(pattern=MEDIA_KEY_PATTERN)]
    sha256: Annotated[str, Field(pattern=MEDIA_KEY_PATTERN)]
    size_bytes: NonNegativeInt
    mime_type: Annotated[str, Field(pattern=MIME_TYPE_PATTERN, max_length=255)]
    filename: Annotated[str | None, Field(max_length=255)] = None
    """The name the first copy of these bytes came with (same bytes are stored once)."""

    @property
    def url(self) -> str:
        """``media:<key>``, for ``Attachment.url`` (well under its 2048 characters)."""
        return f"{MEDIA_URL_SCHEME}:{self.key}"


def media_key_of(url: str | None) -> str | None:
    """The key in an ``Attachment.url`` of stored media, or None for any other URL."""
    if url is None or not url.startswith(f"{MEDIA_URL_SCHEME}:"):
        return None
    key = url.removeprefix(f"{MEDIA_URL_SCHEME}:")
    return key if re.fullmatch(MEDIA_KEY_PATTERN, key) else None


class MediaStore(Protocol):
    """Media bytes per hotel, content-addressed: storing the same bytes twice keeps one copy.

    Implementations validate *hotel* and *key* and never reach another hotel's
    media through them; a bad hotel or key raises :class:`MediaNotFound` on
    reads (so probing looks exactly like a miss) and :class:`MediaRejected` on
    :meth:`put`.
    """

    async def put(
        self,
        hotel: str,
        chunks: MediaChunks,
        *,
        mime_type: str,
        filename: str | None = None,
        max_bytes: int,
    ) -> StoredMedia:
        """Store the bytes; MediaTooLarge as soon as they pass *max_bytes* (nothing kept)."""
        ...

    async def stat(self, hotel: str, key: str) -> StoredMedia:
        """What is stored under *key*; MediaNotFound if nothing is."""
        ...

    async def exists(self, hotel: str, key: str) -> bool: ...

    def open(self, hotel: str, key: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """The bytes in chunks, inside ``async with``; MediaNotFound on entering."""
        ...

    async def read(self, hotel: str, key: str) -> bytes:
        """All the bytes at once (small files, tests); MediaNotFound if nothing is stored."""
        ...


def normalized_mime_type(value: str) -> str:
    """*value* lowercased and checked against :data:`MIME_TYPE_PATTERN`, else MediaTypeRejected."""
    lowered = value.strip().lower()
    if len(lowered) > 255 or not re.fullmatch(MIME_TYPE_PATTERN, lowered):
        raise MediaTypeRejected(f"not a usable MIME type: {value[:80]!r}")
    return lowered


async def _chunks_of(chunks: MediaChunks) -> AsyncGenerator[bytes, None]:
    if isinstance(chunks, bytes | bytearray | memoryview):
        data = bytes(chunks)
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start : start + CHUNK_SIZE]
        return
    async for chunk in chunks:
        yield chunk


class FileMediaStore:
    """Media on a local (or shared) filesystem: ``root/<hotel>/<sha[:2]>/<sha>``.

    Beside each file a ``<sha>.json`` holds its type and first name. Files are
    written to ``root/<hotel>/.incoming/`` and renamed into place, so a reader
    never sees half a file and a crash leaves only a temporary file behind.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _hotel_dir(self, hotel: str) -> Path:
        return self.root / validate_hotel_slug(hotel)

    def paths(self, hotel: str, key: str) -> tuple[Path, Path]:
        """The data and metadata files of *key* (existing or not); MediaNotFound for a bad
        hotel or key."""
        try:
            directory = self._hotel_dir(hotel)
        except InvalidName:
            raise MediaNotFound("no such media") from None
        if not re.fullmatch(MEDIA_KEY_PATTERN, key):
            raise MediaNotFound("no such media")
        data = directory / key[:2] / key
        return data, data.with_name(f"{key}.json")

    async def put(
        self,
        hotel: str,
        chunks: MediaChunks,
        *,
        mime_type: str,
        filename: str | None = None,
        max_bytes: int,
        refresh: bool = False,
    ) -> StoredMedia:
        """:meth:`MediaStore.put`; with *refresh*, bytes stored already are written again,
        so their files' modification times restart (a store swept by age wants that)."""
        try:
            incoming = self._hotel_dir(hotel) / ".incoming"
        except InvalidName as error:
            raise MediaRejected(str(error)) from None
        mime_type = normalized_mime_type(mime_type)
        await anyio.Path(incoming).mkdir(parents=True, exist_ok=True)
        temporary = incoming / f"{secrets.token_hex(16)}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            async with (
                await anyio.open_file(temporary, "xb") as file,
                aclosing(_chunks_of(chunks)) as pieces,
            ):
                async for chunk in pieces:
                    size += len(chunk)
                    if size > max_bytes:
                        # Stop here: the rest of an oversized stream is never pulled.
                        raise MediaTooLarge(f"more than {max_bytes} bytes")
                    digest.update(chunk)
                    await file.write(chunk)
            key = digest.hexdigest()
            if refresh or not await self.exists(hotel, key):
                data, meta = self.paths(hotel, key)
                stored = StoredMedia(
                    key=key, sha256=key, size_bytes=size, mime_type=mime_type, filename=filename
                )
                await anyio.to_thread.run_sync(_place, temporary, data, meta, stored)
        finally:
            await anyio.Path(temporary).unlink(missing_ok=True)
        return await self.stat(hotel, key)

    async def stat(self, hotel: str, key: str) -> StoredMedia:
        data, meta = self.paths(hotel, key)
        try:
            raw = await anyio.Path(meta).read_bytes()
            stored = StoredMedia.model_validate_json(raw)
        except (FileNotFoundError, ValidationError):
            raise MediaNotFound("no such media") from None
        if stored.key != key or not await anyio.Path(data).is_file():
            raise MediaNotFound("no such media")
        return stored

    async def exists(self, hotel: str, key: str) -> bool:
        try:
            await self.stat(hotel, key)
        except MediaNotFound:
            return False
        return True

    @asynccontextmanager
    async def open(self, hotel: str, key: str) -> AsyncIterator[AsyncIterator[bytes]]:
        await self.stat(hotel, key)
        data, _ = self.paths(hotel, key)
        try:
            file = await anyio.open_file(data, "rb")
        except FileNotFoundError:
            raise MediaNotFound("no such media") from None
        async with file:
            yield _read_chunks(file)

    async def read(self, hotel: str, key: str) -> bytes:
        async with self.open(hotel, key) as chunks:
            return b"".join([chunk async for chunk in chunks])


async def _read_chunks(file: anyio.AsyncFile[bytes]) -> AsyncIterator[bytes]:
    while chunk := await file.read(CHUNK_SIZE):
        yield chunk


def _place(temporary: Path, data: Path, meta: Path, stored: StoredMedia) -> None:
    """Rename the finished file into place, metadata first (runs in a worker thread).

    Metadata goes first so a data file always has its type beside it. Two
    writers of the same bytes race harmlessly: both renames put identical
    bytes, and the metadata is whichever landed last.
    """
    data.parent.mkdir(parents=True, exist_ok=True)
    meta_temporary = temporary.with_suffix(".json")
    try:
        meta_temporary.write_text(json.dumps(stored.model_dump(mode="json")), encoding="utf-8")
        os.replace(meta_temporary, meta)
    finally:
        meta_temporary.unlink(missing_ok=True)
    os.replace(temporary, data)


class MissingMediaStore:
    """The store a context has when the runtime gave none: every call says so."""

    def _missing(self) -> MediaStoreMissing:
        return MediaStoreMissing(
            "this runtime gives channels no media store (ChannelContext(media=...))"
        )

    async def put(
        self,
        hotel: str,
        chunks: MediaChunks,
        *,
        mime_type: str,
        filename: str | None = None,
        max_bytes: int,
    ) -> StoredMedia:
        raise self._missing()

    async def stat(self, hotel: str, key: str) -> StoredMedia:
        raise self._missing()

    async def exists(self, hotel: str, key: str) -> bool:
        raise self._missing()

    def open(self, hotel: str, key: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        raise self._missing()

    async def read(self, hotel: str, key: str) -> bytes:
        raise self._missing()
