"""The filesystem media store: round trip, dedup, caps while streaming, no escape from the root."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from begasist_core import (
    ChannelContext,
    ChannelSettings,
    FileMediaStore,
    MediaNotFound,
    MediaRejected,
    MediaStore,
    MediaStoreMissing,
    MediaTooLarge,
    MediaTypeRejected,
    Publisher,
    StreamNames,
    media_key_of,
)
from redis.asyncio import Redis

pytestmark = pytest.mark.anyio

PHOTO = b"\xff\xd8\xff" + bytes(range(256)) * 600
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> FileMediaStore:
    return FileMediaStore(tmp_path / "media")


def leftovers(root: Path) -> list[Path]:
    """Temporary files anywhere under *root* (a finished put leaves none)."""
    return [path for path in root.rglob("*") if path.is_file() and ".incoming" in path.parts]


async def trickle(data: bytes, size: int, pulled: list[int]) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        pulled.append(start)
        yield data[start : start + size]


async def test_a_file_round_trips_with_its_type_and_name(store: FileMediaStore) -> None:
    stored = await store.put(
        "plaza", PHOTO, mime_type="Image/JPEG", filename="room.jpg", max_bytes=1_000_000
    )
    assert (stored.key, stored.sha256, stored.size_bytes) == (PHOTO_SHA, PHOTO_SHA, len(PHOTO))
    assert (stored.mime_type, stored.filename) == ("image/jpeg", "room.jpg")
    assert stored.url == f"media:{PHOTO_SHA}"
    assert media_key_of(stored.url) == PHOTO_SHA
    assert await store.read("plaza", stored.key) == PHOTO
    assert await store.stat("plaza", stored.key) == stored
    assert await store.exists("plaza", stored.key)
    async with store.open("plaza", stored.key) as chunks:
        assert b"".join([chunk async for chunk in chunks]) == PHOTO
    assert (store.root / "plaza" / PHOTO_SHA[:2] / PHOTO_SHA).read_bytes() == PHOTO
    assert leftovers(store.root) == []


async def test_streamed_chunks_are_stored_like_bytes(store: FileMediaStore) -> None:
    pulled: list[int] = []
    stored = await store.put(
        "plaza", trickle(PHOTO, 1000, pulled), mime_type="image/jpeg", max_bytes=len(PHOTO)
    )
    assert stored.key == PHOTO_SHA
    assert await store.read("plaza", stored.key) == PHOTO


async def test_the_same_bytes_are_stored_once(store: FileMediaStore) -> None:
    first = await store.put("plaza", PHOTO, mime_type="image/jpeg", max_bytes=10**6)
    again = await store.put("plaza", PHOTO, mime_type="image/png", max_bytes=10**6)
    assert again == first  # the first copy's type stays: it is what the suite serves
    files = [p for p in (store.root / "plaza").rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == [PHOTO_SHA, f"{PHOTO_SHA}.json"]


async def test_a_refresh_writes_stored_bytes_again(store: FileMediaStore) -> None:
    """A store swept by age (guests' pending uploads) counts a file's age from its last put."""
    first = await store.put("plaza", PHOTO, mime_type="image/jpeg", max_bytes=10**6)
    data, meta = store.paths("plaza", first.key)
    for path in (data, meta):
        os.utime(path, (1_000_000, 1_000_000))
    await store.put("plaza", PHOTO, mime_type="image/jpeg", max_bytes=10**6)
    assert data.stat().st_mtime == 1_000_000  # stored once: untouched
    again = await store.put("plaza", PHOTO, mime_type="image/jpeg", max_bytes=10**6, refresh=True)
    assert again.key == first.key
    assert data.stat().st_mtime > 1_000_000
    assert meta.stat().st_mtime > 1_000_000
    assert await store.read("plaza", first.key) == PHOTO
    assert leftovers(store.root) == []


async def test_hotels_do_not_share_media(store: FileMediaStore) -> None:
    stored = await store.put("plaza", PHOTO, mime_type="image/jpeg", max_bytes=10**6)
    assert not await store.exists("sol", stored.key)
    with pytest.raises(MediaNotFound):
        await store.read("sol", stored.key)


async def test_the_cap_stops_the_stream_and_keeps_nothing(store: FileMediaStore) -> None:
    pulled: list[int] = []
    with pytest.raises(MediaTooLarge):
        await store.put(
            "plaza", trickle(PHOTO, 1000, pulled), mime_type="image/jpeg", max_bytes=4500
        )
    assert len(pulled) == 5  # the fifth chunk crossed the cap; nothing after it was pulled
    assert leftovers(store.root) == []
    assert not await store.exists("plaza", PHOTO_SHA)


async def test_a_failing_stream_leaves_no_temporary_file(store: FileMediaStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"half a file"
        raise ConnectionResetError("provider hung up")

    with pytest.raises(ConnectionResetError):
        await store.put("plaza", broken(), mime_type="image/jpeg", max_bytes=10**6)
    assert leftovers(store.root) == []


async def test_exactly_the_cap_is_allowed(store: FileMediaStore) -> None:
    stored = await store.put("plaza", PHOTO, mime_type="image/jpeg", max_bytes=len(PHOTO))
    assert stored.size_bytes == len(PHOTO)


@pytest.mark.parametrize(
    "mime_type",
    ["", "image", "image/jpeg\r\nX-Evil: 1", 'text/html; charset="x"', "a/b c", "é/x"],
)
async def test_malformed_mime_types_are_refused(store: FileMediaStore, mime_type: str) -> None:
    with pytest.raises(MediaTypeRejected):
        await store.put("plaza", PHOTO, mime_type=mime_type, max_bytes=10**6)


async def test_a_mime_type_may_carry_parameters(store: FileMediaStore) -> None:
    stored = await store.put("plaza", b"OggS", mime_type="audio/ogg; codecs=opus", max_bytes=10)
    assert stored.mime_type == "audio/ogg; codecs=opus"


@pytest.mark.parametrize(
    "hotel", ["..", "../sol", "plaza/../sol", "/etc", "Plaza", "", ".incoming", "a" * 41]
)
async def test_a_bad_hotel_neither_stores_nor_reads(store: FileMediaStore, hotel: str) -> None:
    with pytest.raises(MediaRejected):
        await store.put(hotel, PHOTO, mime_type="image/jpeg", max_bytes=10**6)
    with pytest.raises(MediaNotFound):
        await store.read(hotel, PHOTO_SHA)
    assert not await store.exists(hotel, PHOTO_SHA)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "..",
        f"../sol/{PHOTO_SHA[:2]}/{PHOTO_SHA}",
        f"{PHOTO_SHA[:2]}/{PHOTO_SHA}",
        PHOTO_SHA.upper(),
        PHOTO_SHA + ".json",
        PHOTO_SHA[:-1],
        "/etc/passwd",
    ],
)
async def test_keys_that_are_not_a_sha256_find_nothing(store: FileMediaStore, key: str) -> None:
    await store.put("plaza", PHOTO, mime_type="image/jpeg", max_bytes=10**6)
    await store.put("sol", PHOTO, mime_type="image/jpeg", max_bytes=10**6)
    with pytest.raises(MediaNotFound):
        await store.stat("plaza", key)
    with pytest.raises(MediaNotFound):
        async with store.open("plaza", key):
            pass
    assert media_key_of(f"media:{key}") is None


async def test_concurrent_puts_of_the_same_bytes_agree(store: FileMediaStore) -> None:
    results = []

    async def put() -> None:
        pulled: list[int] = []
        chunks = trickle(PHOTO, 4096, pulled)
        results.append(await store.put("plaza", chunks, mime_type="image/jpeg", max_bytes=10**6))

    async with anyio.create_task_group() as tasks:
        for _ in range(8):
            tasks.start_soon(put)
    assert {result.key for result in results} == {PHOTO_SHA}
    assert await store.read("plaza", PHOTO_SHA) == PHOTO
    assert leftovers(store.root) == []


def test_the_file_store_is_a_media_store(store: FileMediaStore) -> None:
    typed: MediaStore = store
    assert typed is store


async def test_a_context_without_a_store_says_so_when_storing(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    context = ChannelContext(
        hotel="plaza",
        channel="demo",
        settings=ChannelSettings(),
        redis=begasist_redis,
        publisher=Publisher(begasist_redis),
        names=begasist_names,
    )
    with pytest.raises(MediaStoreMissing, match="no media store"):
        await context.media.put("plaza", PHOTO, mime_type="image/jpeg", max_bytes=10**6)


async def test_a_context_hands_out_its_store(
    store: FileMediaStore, begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    context = ChannelContext(
        hotel="plaza",
        channel="demo",
        settings=ChannelSettings(),
        redis=begasist_redis,
        publisher=Publisher(begasist_redis),
        names=begasist_names,
        media=store,
    )
    assert context.media is store
