"""A guest's files: ``POST /guest/{hotel}/{channel}/uploads``, the refs a message frame
names, and ``GET /guest/.../media/{key}`` (signed URLs), against the real suite and Redis.

Every refusal stores nothing (the media directory stays empty) and enqueues nothing.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    Direction,
    FileMediaStore,
    GuestIdentity,
    GuestUpload,
    Message,
    decode_event,
)
from begasist_core.bus.publisher import ENTRY_FIELD
from begasist_suite.config import SuiteSettings
from begasist_suite.guest.pending import GuestFiles, UploadSweeper
from begasist_suite.guest.signing import MEDIA_URL_SECONDS, GuestFileSigner
from begasist_suite.guest.tokens import VisitorTokens
from websockets.exceptions import ConnectionClosed

from tests.suite.conftest import TEST_SECRET_KEY, RunningSuite
from tests.suite.guest.conftest import (
    ALLOWED_ORIGIN,
    HOTEL,
    guest,
    hello,
    ingress_entries,
    next_frame,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

UPLOADS = f"/guest/{HOTEL}/webchat/uploads"
MAX_BYTES = 4096


def png(padding: int = 0) -> bytes:
    """A 1x1 PNG, with *padding* bytes of a text chunk to make it larger."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    text = chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + text
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(update={"guest_visitor_uploads": 3})


@pytest.fixture
async def configured(suite: RunningSuite, admin: httpx.AsyncClient) -> None:
    """The hotel's web chat takes images up to MAX_BYTES, no PDF."""
    saved = await admin.patch(
        f"/api/v1/hotels/{HOTEL}/channels/webchat",
        json={
            "attachment_types": ["image/png", "image/jpeg"],
            "max_attachment_bytes": MAX_BYTES,
        },
    )
    assert saved.status_code == 200, saved.text


@pytest.fixture
async def client(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    async with suite.client() as opened:
        yield opened


def visitor() -> tuple[str, str]:
    return VisitorTokens(TEST_SECRET_KEY, max_age_seconds=30 * 86_400).mint(HOTEL, "webchat")


def headers(
    who: tuple[str, str], *, origin: str = ALLOWED_ORIGIN, name: str = "photo.png"
) -> dict[str, str]:
    return {
        "x-begasist-visitor": who[0],
        "x-begasist-token": who[1],
        "x-begasist-filename": name,
        "origin": origin,
        # What a client claims the file is is never what decides it.
        "content-type": "image/png",
    }


def stored_files(suite: RunningSuite) -> list[Path]:
    root = Path(suite.settings.media_dir)
    if not root.exists():
        return []
    return [path for path in root.rglob("*") if path.is_file()]


async def upload(client: httpx.AsyncClient, who: tuple[str, str], body: bytes) -> dict[str, Any]:
    answer = await client.post(UPLOADS, content=body, headers=headers(who))
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_an_image_is_stored_and_its_ref_rides_in_a_message(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        session = await hello(socket)
        await next_frame(socket)
        who = (session["visitor"], session["token"])
        answer = await upload(client, who, png())
        assert answer["kind"] == "image"
        assert answer["mime_type"] == "image/png"
        assert answer["filename"] == "photo.png"
        shown = await client.get(f"/guest/{HOTEL}/webchat/{answer['url']}")
        assert shown.status_code == 200
        assert shown.content == png()
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert shown.headers["content-security-policy"].startswith("sandbox")

        before = await ingress_entries(suite)
        frame = {"type": "message", "id": "photo-0001", "attachments": [answer["ref"]]}
        await socket.send(json.dumps(frame))
        assert await next_frame(socket) == {"type": "accepted", "id": "photo-0001"}
    assert await ingress_entries(suite) == before + 1
    entries = await suite.redis.xrevrange(suite.names.ingress(HOTEL), count=1)
    event = decode_event(entries[0][1][ENTRY_FIELD])
    body = json.loads(event.data.body)  # type: ignore[union-attr]
    (attachment,) = body["attachments"]
    assert attachment["url"].startswith("media:")
    assert attachment["mime_type"] == "image/png"
    assert attachment["size_bytes"] == len(png())


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 415),
        (b"<html><script>alert(1)</script></html>", 415),
        (b"%PDF-1.7 not allowed by this hotel", 415),
        (png(padding=MAX_BYTES), 413),
    ],
    ids=["svg", "html", "pdf-not-allowed", "too-large"],
)
async def test_a_wrong_type_or_too_large_a_file_stores_nothing(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient, body: bytes, error: int
) -> None:
    answer = await client.post(UPLOADS, content=body, headers=headers(visitor()))
    assert answer.status_code == error
    assert stored_files(suite) == []


async def test_a_body_larger_than_it_announced_is_cut_off_while_streaming(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield png()
        for _ in range(8):
            yield b"x" * 1024

    # A streamed body has no length to refuse it by: the count while storing does.
    answer = await client.post(UPLOADS, content=chunks(), headers=headers(visitor()))
    assert answer.status_code == 413
    assert answer.json() == {"error": "too_large"}
    assert stored_files(suite) == []


async def test_a_bad_token_or_a_foreign_origin_stores_nothing(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    someone, _ = visitor()
    forged = await client.post(UPLOADS, content=png(), headers=headers((someone, "x" * 43)))
    assert forged.status_code == 401
    foreign = await client.post(
        UPLOADS, content=png(), headers=headers(visitor(), origin="https://evil.example")
    )
    assert foreign.status_code == 403
    other_hotel = await client.post(
        "/guest/sol/webchat/uploads", content=png(), headers=headers(visitor())
    )
    assert other_hotel.status_code == 404
    assert stored_files(suite) == []


async def test_uploads_are_rate_limited_per_visitor(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    who = visitor()
    for _ in range(3):
        await upload(client, who, png())
    answer = await client.post(UPLOADS, content=png(), headers=headers(who))
    assert answer.status_code == 429


async def refused(suite: RunningSuite, ref: str) -> int:
    """The close code a socket gets for a message naming *ref*; nothing is enqueued."""
    before = await ingress_entries(suite)
    async with guest(suite) as socket:
        await hello(socket)
        await next_frame(socket)
        frame = {"type": "message", "id": "forged-001", "text": "mine", "attachments": [ref]}
        await socket.send(json.dumps(frame))
        with pytest.raises(ConnectionClosed) as closed:
            await next_frame(socket)
    assert await ingress_entries(suite) == before
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_a_ref_of_another_visitor_or_a_forged_one_is_refused(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    theirs = await upload(client, visitor(), png())
    assert await refused(suite, theirs["ref"]) == GUEST_CLOSE_BAD_FRAME
    # Another file's key under the ref's signature: the HMAC no longer checks.
    upload_of_theirs = GuestUpload.from_ref(theirs["ref"])
    other = upload_of_theirs.model_copy(update={"key": "0" * 64})
    forged = other.ref_payload() + "." + theirs["ref"].partition(".")[2]
    assert await refused(suite, forged) == GUEST_CLOSE_BAD_FRAME
    assert await refused(suite, "not-a-ref") == GUEST_CLOSE_BAD_FRAME


async def test_a_media_url_opens_only_the_file_it_was_signed_for(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    answer = await upload(client, visitor(), png())
    url = f"/guest/{HOTEL}/webchat/{answer['url']}"
    key = answer["url"].split("/")[1].split("?")[0]
    misses = [
        url.replace(key, "0" * 64),
        url.replace(f"/guest/{HOTEL}/", "/guest/sol/"),
        url[:-2] + "AA",
        url.replace("e=", "e=1"),
        f"/guest/{HOTEL}/webchat/media/{key}",
    ]
    for miss in misses:
        found = await client.get(miss)
        assert (found.status_code, found.content) == (404, b"not found"), miss


async def test_the_history_shows_a_guest_their_files_with_signed_urls(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        session = await hello(socket)
        await next_frame(socket)
        answer = await upload(client, (session["visitor"], session["token"]), png())
    address = session["visitor"]
    message = Message(
        hotel=HOTEL,
        channel="webchat",
        conversation_key=address,
        direction=Direction.INBOUND,
        guest=GuestIdentity(channel="webchat", address=address),
        text="",
        attachments=(GuestUpload.from_ref(answer["ref"]).attachment(),),
        provider_message_id=f"{address}/photo-0002",
    )
    await suite.store.record_inbound(message)
    async with guest(suite) as socket:
        await hello(socket, visitor=session["visitor"], token=session["token"])
        history = await next_frame(socket)
    (item,) = history["messages"]
    (file,) = item["attachments"]
    assert file["filename"] == "photo.png"
    shown = await client.get(f"/guest/{HOTEL}/webchat/{file['url']}")
    assert shown.content == png()


async def test_a_file_larger_than_api_bodies_is_taken_up_to_the_hotels_limit(
    suite: RunningSuite, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    limit = 2 * suite.settings.api_max_body_bytes
    saved = await admin.patch(
        f"/api/v1/hotels/{HOTEL}/channels/webchat", json={"max_attachment_bytes": limit}
    )
    assert saved.status_code == 200, saved.text
    body = png(padding=limit - 100)
    answer = await upload(client, visitor(), body)
    assert answer["size_bytes"] == len(body)


async def test_an_expired_media_url_is_a_miss_like_any_other(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    answer = await upload(client, visitor(), png())
    key = answer["url"].split("/")[1].split("?")[0]
    signer = GuestFileSigner(TEST_SECRET_KEY)
    expired = signer.media_url(HOTEL, "webchat", key, now=time.time() - 2 * MEDIA_URL_SECONDS)
    found = await client.get(f"/guest/{HOTEL}/webchat/{expired}")
    assert (found.status_code, found.content) == (404, b"not found")
    fresh = await client.get(f"/guest/{HOTEL}/webchat/{signer.media_url(HOTEL, 'webchat', key)}")
    assert fresh.status_code == 200


async def test_a_files_name_gets_the_extension_of_its_sniffed_type(
    suite: RunningSuite, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    """A PDF named ``.html`` by the guest is no page when staff save it."""
    saved = await admin.patch(
        f"/api/v1/hotels/{HOTEL}/channels/webchat", json={"attachment_types": ["application/pdf"]}
    )
    assert saved.status_code == 200, saved.text
    body = b"%PDF-1.4\n<html><body><script>alert(document.domain)</script></body></html>\n"
    sent = headers(visitor(), name="Booking%20confirmation.html")
    answer = await client.post(UPLOADS, content=body, headers=sent)
    assert answer.status_code == 201, answer.text
    assert answer.json()["filename"] == "Booking confirmation.pdf"
    key = GuestUpload.from_ref(answer.json()["ref"]).key
    assert GuestUpload.from_ref(answer.json()["ref"]).filename == "Booking confirmation.pdf"
    await GuestFiles(suite.settings.media_dir).keep(HOTEL, key)  # as a message naming it does
    staff = await admin.get(f"/api/v1/hotels/{HOTEL}/media/{key}")
    assert staff.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''Booking%20confirmation.pdf"
    )


async def test_a_file_is_kept_once_its_message_is_accepted_and_refused_once_swept(
    suite: RunningSuite, configured: None, client: httpx.AsyncClient
) -> None:
    """The message may wait in the stream longer than the pending area keeps uploads (a bot
    down for a day): accepting it keeps its files; a file swept before it came is refused."""
    async with guest(suite) as socket:
        session = await hello(socket)
        await next_frame(socket)
        who = (session["visitor"], session["token"])
        sent, late = await upload(client, who, png(1)), await upload(client, who, png(2))
        frame = {"type": "message", "id": "photo-0002", "attachments": [sent["ref"]]}
        await socket.send(json.dumps(frame))
        assert await next_frame(socket) == {"type": "accepted", "id": "photo-0002"}
        # Everything pending is swept (as after the TTL), before any bot has parsed it.
        await UploadSweeper(suite.settings.media_dir, every_seconds=1, pending_seconds=0).sweep()
        key = GuestUpload.from_ref(sent["ref"]).key
        assert await FileMediaStore(suite.settings.media_dir).read(HOTEL, key) == png(1)
        before = await ingress_entries(suite)
        frame = {"type": "message", "id": "photo-0003", "attachments": [late["ref"]]}
        await socket.send(json.dumps(frame))
        with pytest.raises(ConnectionClosed) as closed:
            await next_frame(socket)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == GUEST_CLOSE_BAD_FRAME
    assert closed.value.rcvd.reason == "attachment expired: upload it again"
    assert await ingress_entries(suite) == before
