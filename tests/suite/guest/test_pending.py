"""Guests' uploads no message names are deleted after the TTL; one a message names is kept,
and so is anything in the media store, whatever the pending area holds of the same bytes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import httpx
import pytest
from begasist_core import GuestUpload, MediaNotFound
from begasist_suite.config import SuiteSettings
from begasist_suite.guest.pending import PENDING_DIR, GuestFiles, UploadSweeper, sweep_pending

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL
from tests.suite.guest.test_uploads import UPLOADS, headers, png, stored_files, visitor
from tests.suite.inbox.conftest import consumed, guest_message, publish_received

pytestmark = pytest.mark.anyio

DAY = 86_400.0


def age(files: GuestFiles, key: str, seconds: float) -> None:
    """Make the pending files of *key* look *seconds* old (last written then)."""
    then = time.time() - seconds
    for path in files.pending.paths(HOTEL, key):
        os.utime(path, (then, then))


async def pending_upload(files: GuestFiles, body: bytes) -> str:
    return (
        await files.put(HOTEL, body, mime_type="image/png", filename="a.png", max_bytes=10**6)
    ).key


async def test_an_upload_nothing_names_is_swept_after_the_ttl(tmp_path: Path) -> None:
    files = GuestFiles(tmp_path)
    young, old = await pending_upload(files, png(1)), await pending_upload(files, png(2))
    age(files, old, DAY + 60)
    assert sweep_pending(tmp_path, time.time() - DAY) == 2  # its data and metadata files
    with pytest.raises(MediaNotFound):
        await files.find(HOTEL, old)
    assert (await files.find(HOTEL, young))[0] is files.pending


async def test_an_upload_a_message_names_is_kept_for_good(tmp_path: Path) -> None:
    files = GuestFiles(tmp_path)
    key = await pending_upload(files, png())
    assert await files.keep(HOTEL, key)
    age(files, key, DAY + 60)
    sweep_pending(tmp_path, time.time() - DAY)
    store, stored = await files.find(HOTEL, key)
    assert store is files.media
    assert await files.media.read(HOTEL, key) == png()
    assert stored.mime_type == "image/png"
    # The same bytes uploaded again (another guest) and never sent: the kept copy stays.
    assert await pending_upload(files, png()) == key
    age(files, key, DAY + 60)
    assert sweep_pending(tmp_path, time.time() - DAY) == 2
    assert await files.media.read(HOTEL, key) == png()


async def test_uploading_the_same_bytes_again_restarts_their_clock(tmp_path: Path) -> None:
    files = GuestFiles(tmp_path)
    key = await pending_upload(files, png())
    age(files, key, DAY + 60)
    await pending_upload(files, png())
    assert sweep_pending(tmp_path, time.time() - DAY) == 0
    assert (await files.find(HOTEL, key))[0] is files.pending


async def test_what_interrupted_writes_left_is_swept_too(tmp_path: Path) -> None:
    files = GuestFiles(tmp_path)
    await pending_upload(files, png())
    incoming = tmp_path / PENDING_DIR / HOTEL / ".incoming"
    left = incoming / "0123.part"
    left.write_bytes(b"half a file")
    os.utime(left, (time.time() - DAY - 60,) * 2)
    fresh = incoming / "4567.part"
    fresh.write_bytes(b"an upload arriving now")
    sweep_pending(tmp_path, time.time() - DAY)
    assert not left.exists()
    assert fresh.exists()


async def test_only_files_a_message_names_outlive_the_sweep(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    """The attacker review's set-up: ten uploads no message names stay on disk forever."""
    who = visitor()
    async with suite.client() as client:
        answers = [
            (await client.post(UPLOADS, content=png(n), headers=headers(who))).json()
            for n in range(1, 11)
        ]
        sent, *unsent = answers
        # Shown to the guest while pending; not yet to staff, which see only what messages name.
        shown = await client.get(f"/guest/{HOTEL}/webchat/{sent['url']}")
        assert shown.content == png(1)
    upload = GuestUpload.from_ref(sent["ref"])
    staff_url = f"/api/v1/hotels/{HOTEL}/media/{upload.key}"
    assert (await admin.get(staff_url)).status_code == 404

    message = guest_message(
        "my passport", provider_message_id="p-1", attachments=(upload.attachment(),)
    )
    await publish_received(suite, message)
    await consumed(suite)
    assert (await admin.get(staff_url)).content == png(1)

    sweeper = UploadSweeper(suite.settings.media_dir, every_seconds=DAY, pending_seconds=0.0)
    await sweeper.sweep()
    kept = {path.name for path in stored_files(suite)}
    assert kept == {upload.key, f"{upload.key}.json"}
    assert (await admin.get(staff_url)).content == png(1)
    async with suite.client() as client:
        assert (await client.get(f"/guest/{HOTEL}/webchat/{sent['url']}")).content == png(1)
        gone = await client.get(f"/guest/{HOTEL}/webchat/{unsent[0]['url']}")
        assert gone.status_code == 404


class TestEveryReplicaSweeps:
    @pytest.fixture
    def suite_settings(self, suite_settings: SuiteSettings) -> SuiteSettings:
        return suite_settings.model_copy(
            update={"guest_upload_pending_hours": 0.5 / 3600, "guest_upload_sweep_seconds": 0.2}
        )

    async def test_the_suite_sweeps_unsent_uploads_on_its_own(
        self, suite: RunningSuite, admin: httpx.AsyncClient
    ) -> None:
        async with suite.client() as client:
            answer = await client.post(UPLOADS, content=png(), headers=headers(visitor()))
        assert answer.status_code == 201
        with anyio.fail_after(10):
            while stored_files(suite):  # noqa: ASYNC110 (a directory has no events)
                await anyio.sleep(0.1)
