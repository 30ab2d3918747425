"""Downloading a guest's WhatsApp media from a real HTTP stand-in of Meta's Graph API."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from begasist_channels_whatsapp.media import (
    MEDIA_LIMITS,
    MediaDownloader,
    MediaDownloadFailed,
    MediaLimits,
    download_all,
)
from begasist_channels_whatsapp.testing import GraphStandin
from begasist_core import (
    Attachment,
    AttachmentKind,
    Direction,
    FileMediaStore,
    GuestIdentity,
    MediaTooLarge,
    MediaTypeRejected,
    Message,
    MessageReceived,
    MessageStatusChanged,
)

from tests.channels.whatsapp import samples

pytestmark = pytest.mark.anyio

TOKEN = "access-token-for-tests"
"""``samples.settings()``'s token, which the ``graph_standin`` fixture accepts."""
HOTEL = "plaza"

SAMPLES = {
    AttachmentKind.IMAGE: ("image/jpeg", b"\xff\xd8\xff\xe0" + b"j" * 5000),
    AttachmentKind.VIDEO: ("video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"v" * 9000),
    AttachmentKind.AUDIO: ("audio/ogg; codecs=opus", b"OggS" + b"a" * 3000),
    AttachmentKind.DOCUMENT: ("application/pdf", b"%PDF-1.7\n" + b"d" * 7000),
    AttachmentKind.STICKER: ("image/webp", b"RIFF\x00\x00\x00\x00WEBP" + b"s" * 900),
}

SMALL_LIMITS = {
    kind: MediaLimits(max_bytes=10_000, mime_types=limits.mime_types)
    for kind, limits in MEDIA_LIMITS.items()
}
"""Meta's types with a 10 KB cap: oversize tests need not move megabytes."""


@pytest.fixture
def store(tmp_path: Path) -> FileMediaStore:
    return FileMediaStore(tmp_path / "media")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.fixture
def downloader(
    graph_standin: GraphStandin, client: httpx.AsyncClient, store: FileMediaStore
) -> MediaDownloader:
    return MediaDownloader(
        client,
        samples.settings(graph_api_url=graph_standin.base_url),
        store,
        HOTEL,
        limits=SMALL_LIMITS,
        retry_delays=(0.01, 0.01),
    )


def attachment(
    kind: AttachmentKind, media_id: str, filename: str | None = None, caption: str | None = None
) -> Attachment:
    return Attachment(kind=kind, provider_ref=media_id, filename=filename, caption=caption)


def received(*attachments: Attachment, provider_id: str = "wamid.1") -> MessageReceived:
    return MessageReceived(
        message=Message(
            hotel=HOTEL,
            channel="whatsapp",
            conversation_key="34600000001",
            direction=Direction.INBOUND,
            guest=GuestIdentity(channel="whatsapp", address="34600000001"),
            text="look",
            attachments=attachments,
            provider_message_id=provider_id,
        )
    )


@pytest.mark.parametrize("kind", list(SAMPLES))
async def test_each_kind_is_stored(
    kind: AttachmentKind,
    graph_standin: GraphStandin,
    downloader: MediaDownloader,
    store: FileMediaStore,
) -> None:
    mime_type, data = SAMPLES[kind]
    graph_standin.add_media("1001", data, mime_type)
    got = await downloader.download(attachment(kind, "1001", filename="file", caption="hi"))
    sha = hashlib.sha256(data).hexdigest()
    assert (got.url, got.sha256, got.size_bytes) == (f"media:{sha}", sha, len(data))
    assert got.mime_type == mime_type
    assert (got.provider_ref, got.caption, got.filename) == ("1001", "hi", "file")
    assert await store.read(HOTEL, sha) == data
    assert [(r.path, r.authorized) for r in graph_standin.requests] == [
        ("/v21.0/1001", True),
        ("/media-download/1001", True),
    ]


async def test_a_size_over_the_limit_is_refused_before_downloading(
    graph_standin: GraphStandin, downloader: MediaDownloader, store: FileMediaStore
) -> None:
    graph_standin.add_media("1002", b"x" * 10_001, "image/jpeg")
    with pytest.raises(MediaTooLarge):
        await downloader.download(attachment(AttachmentKind.IMAGE, "1002"))
    assert [r.path for r in graph_standin.requests] == ["/v21.0/1002"]
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


async def test_a_body_larger_than_announced_is_cut_while_streaming(
    graph_standin: GraphStandin, downloader: MediaDownloader, store: FileMediaStore
) -> None:
    graph_standin.add_media("1003", b"x" * 50_000, "image/jpeg", announce={"file_size": 100})
    with pytest.raises(MediaTooLarge):
        await downloader.download(attachment(AttachmentKind.IMAGE, "1003"))
    stored = [p for p in store.root.rglob("*") if p.is_file()]
    assert stored == []


@pytest.mark.parametrize(
    ("mime_type", "content_type"),
    [
        ("text/html", None),  # the metadata says so
        ("image/jpeg", "text/html"),  # the download says otherwise
        ("image/svg+xml", None),
        ("application/x-msdownload", None),
    ],
)
async def test_a_type_not_allowed_for_the_kind_is_refused(
    graph_standin: GraphStandin,
    downloader: MediaDownloader,
    store: FileMediaStore,
    mime_type: str,
    content_type: str | None,
) -> None:
    graph_standin.add_media("1004", b"<script>", mime_type, content_type=content_type)
    with pytest.raises(MediaTypeRejected):
        await downloader.download(attachment(AttachmentKind.IMAGE, "1004"))
    assert not await store.exists(HOTEL, hashlib.sha256(b"<script>").hexdigest())


async def test_bytes_that_do_not_match_metas_hash_are_not_stored(
    graph_standin: GraphStandin, downloader: MediaDownloader, store: FileMediaStore
) -> None:
    graph_standin.add_media("1005", b"tampered", "image/jpeg", announce={"sha256": "ab" * 32})
    with pytest.raises(Exception, match="SHA-256"):
        await downloader.download(attachment(AttachmentKind.IMAGE, "1005"))
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


async def test_a_base64_hash_is_understood(
    graph_standin: GraphStandin, downloader: MediaDownloader
) -> None:
    data = b"\xff\xd8\xffphoto"
    announced = base64.b64encode(hashlib.sha256(data).digest()).decode()
    graph_standin.add_media("1006", data, "image/jpeg", announce={"sha256": announced})
    got = await downloader.download(attachment(AttachmentKind.IMAGE, "1006"))
    assert got.sha256 == hashlib.sha256(data).hexdigest()


async def test_an_expired_url_fails_without_retrying(
    graph_standin: GraphStandin, downloader: MediaDownloader
) -> None:
    graph_standin.add_media("1007", b"\xff\xd8\xff", "image/jpeg", download_status=404)
    with pytest.raises(MediaDownloadFailed, match="404"):
        await downloader.download(attachment(AttachmentKind.IMAGE, "1007"))
    assert len(graph_standin.requests) == 2


async def test_an_unknown_media_id_fails(
    graph_standin: GraphStandin, downloader: MediaDownloader
) -> None:
    with pytest.raises(MediaDownloadFailed, match="400"):
        await downloader.download(attachment(AttachmentKind.IMAGE, "999"))


async def test_a_transient_graph_failure_is_retried(
    graph_standin: GraphStandin, downloader: MediaDownloader
) -> None:
    graph_standin.add_media("1008", b"\xff\xd8\xffok", "image/jpeg", failures=2)
    got = await downloader.download(attachment(AttachmentKind.IMAGE, "1008"))
    assert got.url is not None
    assert [r.path for r in graph_standin.requests].count("/v21.0/1008") == 3


async def test_a_graph_that_keeps_failing_gives_up(
    graph_standin: GraphStandin, downloader: MediaDownloader
) -> None:
    graph_standin.add_media("1009", b"\xff\xd8\xffok", "image/jpeg", failures=5)
    with pytest.raises(MediaDownloadFailed, match="500"):
        await downloader.download(attachment(AttachmentKind.IMAGE, "1009"))
    assert len(graph_standin.requests) == 3


@pytest.mark.parametrize("url", ["http://evil.test/steal", "ftp://x/y", "/relative", ""])
async def test_the_token_goes_only_to_https_when_the_graph_is_https(
    client: httpx.AsyncClient, store: FileMediaStore, url: str
) -> None:
    # With Meta's https Graph API, only an https download URL may see the token.
    downloader = MediaDownloader(client, samples.settings(), store, HOTEL)
    assert downloader._download_url("https://lookaside.fbsbx.com/x") == (
        "https://lookaside.fbsbx.com/x"
    )
    with pytest.raises(MediaDownloadFailed, match="URL"):
        downloader._download_url(url)


async def test_a_download_url_of_another_scheme_gets_no_request(
    graph_standin: GraphStandin, downloader: MediaDownloader
) -> None:
    graph_standin.add_media("1010", b"x", "image/jpeg", announce={"url": "file:///etc/passwd"})
    with pytest.raises(MediaDownloadFailed, match="refusing"):
        await downloader.download(attachment(AttachmentKind.IMAGE, "1010"))
    assert [r.path for r in graph_standin.requests] == ["/v21.0/1010"]


async def test_download_all_keeps_refused_media_and_logs_no_token(
    graph_standin: GraphStandin,
    downloader: MediaDownloader,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mime_type, data = SAMPLES[AttachmentKind.IMAGE]
    graph_standin.add_media("2001", data, mime_type)
    graph_standin.add_media("2002", b"y" * 20_000, "image/jpeg")
    graph_standin.add_media("2003", b"%PDF", "application/pdf", download_status=404)
    location = Attachment(kind=AttachmentKind.LOCATION, url="geo:1,2")
    events = [
        received(
            attachment(AttachmentKind.IMAGE, "2001"),
            attachment(AttachmentKind.IMAGE, "2002"),
            location,
        ),
        received(attachment(AttachmentKind.DOCUMENT, "2003"), provider_id="wamid.2"),
        MessageStatusChanged(
            channel="whatsapp", provider_message_id="wamid.out", status="delivered"
        ),
    ]
    logger = logging.getLogger("begasist.channel.whatsapp.plaza")
    with caplog.at_level(logging.DEBUG):
        done = await download_all(events, downloader, logger)
    assert len(done) == 3
    assert done[2] == events[2]
    first, second = done[0], done[1]
    assert isinstance(first, MessageReceived)
    assert isinstance(second, MessageReceived)
    stored, refused, kept = first.message.attachments
    assert stored.url == f"media:{hashlib.sha256(data).hexdigest()}"
    assert (refused.provider_ref, refused.url) == ("2002", None)
    assert kept == location
    assert second.message.attachments[0].provider_ref == "2003"
    assert second.message.attachments[0].url is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    assert "2002" in warnings[0]
    assert "404" in warnings[1]
    assert all(TOKEN not in record.getMessage() for record in caplog.records)
    assert TOKEN not in caplog.text


async def test_an_already_stored_attachment_is_left_alone(
    graph_standin: GraphStandin, downloader: MediaDownloader
) -> None:
    done = Attachment(kind=AttachmentKind.IMAGE, provider_ref="1", url="media:" + "a" * 64)
    assert await downloader.download(done) is done
    assert graph_standin.requests == []
