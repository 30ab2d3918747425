"""Guest uploads in the plugin API: types told by their first bytes, refs read back."""

from __future__ import annotations

import pytest
from begasist_core import GuestUpload, InvalidUploadRef, sniff_upload_type


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "application/pdf"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'>", None),
        (b"<!doctype html><script>", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"", None),
    ],
)
def test_the_type_is_told_by_the_first_bytes(head: bytes, expected: str | None) -> None:
    assert sniff_upload_type(head) == expected


def test_a_ref_reads_back_what_it_describes_and_garbage_is_refused() -> None:
    upload = GuestUpload(key="a" * 64, mime_type="image/png", size_bytes=3, filename="ñ.png")
    assert GuestUpload.from_ref(upload.ref_payload() + ".mac") == upload
    assert upload.attachment().url == "media:" + "a" * 64
    for garbage in ("", "nodot", ".mac", upload.ref_payload(), "%%%.mac", "x" * 3000 + ".m"):
        with pytest.raises(InvalidUploadRef):
            GuestUpload.from_ref(garbage)
