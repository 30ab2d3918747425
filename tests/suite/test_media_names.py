"""Download names follow the stored type (``begasist_suite.media_names``)."""

from __future__ import annotations

import pytest
from begasist_suite.media_names import name_for_type


@pytest.mark.parametrize(
    ("filename", "mime_type", "named"),
    [
        ("Booking confirmation.html", "application/pdf", "Booking confirmation.pdf"),
        ("photo.JPEG", "image/jpeg", "photo.JPEG"),
        ("photo.png", "image/jpeg", "photo.jpg"),
        ("Mr. Smith", "application/pdf", "Mr. Smith.pdf"),
        ("archive.tar.gz", "application/zip", "archive.tar.zip"),
        ("voice", "audio/ogg; codecs=opus", "voice.ogg"),
        ("payload.exe", "application/octet-stream", "payload.bin"),
        ("payload.exe", "application/x-msdownload", "payload.bin"),
    ],
)
def test_the_extension_is_one_of_the_type(filename: str, mime_type: str, named: str) -> None:
    assert name_for_type(filename, mime_type) == named


def test_a_long_name_is_cut_before_its_extension() -> None:
    named = name_for_type("a" * 300 + ".html", "application/pdf", max_chars=120)
    assert named == "a" * 116 + ".pdf"
