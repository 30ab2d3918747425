"""Serving guests' files: this hotel's only, with the stored type, never sniffed or run."""

from __future__ import annotations

import pytest
from begasist_core import FileMediaStore, StoredMedia
from begasist_suite.store.records import Role

from tests.suite.api.seed import SeededHotel, seed_hotel
from tests.suite.conftest import RunningSuite

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.7\n" + b"x" * 70_000


@pytest.fixture
async def hotels(suite: RunningSuite) -> tuple[SeededHotel, SeededHotel]:
    return await seed_hotel(suite, "plaza"), await seed_hotel(suite, "sol")


async def put(
    suite: RunningSuite, hotel: str, data: bytes, mime_type: str, **kw: str
) -> StoredMedia:
    store = FileMediaStore(suite.settings.media_dir)
    return await store.put(hotel, data, mime_type=mime_type, max_bytes=10**6, **kw)


def url(hotel: str, key: str) -> str:
    return f"/api/v1/hotels/{hotel}/media/{key}"


async def test_a_member_downloads_a_document(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    stored = await put(suite, "plaza", PDF, "application/pdf", filename="factura 1é.pdf")
    async with suite.client() as client:
        await suite.login(client, f"{Role.AGENT.value}@plaza.test")
        answer = await client.get(url("plaza", stored.key))
    assert answer.status_code == 200
    assert answer.content == PDF
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-length"] == str(len(PDF))
    assert answer.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''factura%201%C3%A9.pdf"
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]


async def test_a_photo_is_shown_inline(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    plaza, _ = hotels
    async with suite.client() as client:
        await suite.login(client, f"{Role.AGENT.value}@plaza.test")
        answer = await client.get(url("plaza", plaza.media_key))
    assert answer.status_code == 200
    assert answer.content == b"a photo of plaza"
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["content-disposition"] == "inline"


@pytest.mark.parametrize("mime_type", ["image/svg+xml", "text/html"])
async def test_an_image_that_can_hold_script_downloads(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel], mime_type: str
) -> None:
    stored = await put(suite, "plaza", b"<svg onload='alert(1)'/>", mime_type)
    async with suite.client() as client:
        await suite.login(client, f"{Role.AGENT.value}@plaza.test")
        answer = await client.get(url("plaza", stored.key))
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == "attachment"


async def test_another_hotels_file_is_not_found_like_a_missing_one(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    _, sol = hotels
    async with suite.client() as client:
        await suite.login(client, "owner@plaza.test")
        theirs = await client.get(url("plaza", sol.media_key))
        missing = await client.get(url("plaza", "0" * 64))
        in_sol = await client.get(url("sol", sol.media_key))
    assert theirs.status_code == missing.status_code == in_sol.status_code == 404
    assert theirs.content == missing.content == in_sol.content
    assert b"photo" not in theirs.content


@pytest.mark.parametrize(
    "key", ["..%2F..%2Fsol", "%2e%2e", "ABC", "00.json", "x" * 64, "0" * 63, "%00"]
)
async def test_a_key_that_is_no_sha256_is_not_found(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel], key: str
) -> None:
    async with suite.client() as client:
        await suite.login(client, "owner@plaza.test")
        answer = await client.get(url("plaza", key))
    assert answer.status_code == 404


async def test_an_anonymous_caller_gets_nothing(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    plaza, _ = hotels
    async with suite.client() as client:
        answer = await client.get(url("plaza", plaza.media_key))
    assert answer.status_code == 401
    assert b"photo" not in answer.content


@pytest.mark.parametrize(
    ("mime_type", "filename", "downloaded"),
    [
        # A guest's name never decides what a file is saved as: its type does.
        ("application/pdf", "Booking confirmation.html", "Booking%20confirmation.pdf"),
        ("application/pdf", "scan", "scan.pdf"),
        # A channel's document (WhatsApp's carry the sender's name and type) alike.
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "cv.exe",
            "cv.docx",
        ),
        ("application/octet-stream", "setup.exe", "setup.bin"),
        ("application/x-unknown-to-us", "notes.html", "notes.bin"),
        ("audio/ogg; codecs=opus", "voice.opus", "voice.opus"),
    ],
)
async def test_a_download_is_named_with_an_extension_of_its_type(
    suite: RunningSuite,
    hotels: tuple[SeededHotel, SeededHotel],
    mime_type: str,
    filename: str,
    downloaded: str,
) -> None:
    stored = await put(suite, "plaza", PDF + filename.encode(), mime_type, filename=filename)
    async with suite.client() as client:
        await suite.login(client, f"{Role.AGENT.value}@plaza.test")
        answer = await client.get(url("plaza", stored.key))
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == f"attachment; filename*=UTF-8''{downloaded}"
