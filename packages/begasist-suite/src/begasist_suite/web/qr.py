"""The linked-device pairing QR code, drawn here as an SVG image (segno), from no other host."""

from __future__ import annotations

import hashlib
from io import BytesIO
from typing import Final

import segno

__all__ = ["QR_MEDIA_TYPE", "qr_svg", "qr_version"]

QR_MEDIA_TYPE: Final = "image/svg+xml"
MODULE_PIXELS: Final = 8
"""Pixels per module: WhatsApp's payload (~240 characters) gives a code about 600 px wide."""
QUIET_ZONE: Final = 4
"""Modules of white margin: what the standard asks for, so phones find the code at once."""


def qr_svg(payload: str, title: str) -> bytes:
    """*payload* as a QR code (error correction M), black on white, with an accessible title."""
    code = segno.make(payload, error="m", micro=False)
    image = BytesIO()
    code.save(
        image,
        kind="svg",
        scale=MODULE_PIXELS,
        border=QUIET_ZONE,
        dark="#000",
        light="#fff",
        xmldecl=False,
        title=title,
    )
    return image.getvalue()


def qr_version(payload: str) -> str:
    """A short tag of *payload*: the image's URL changes, and the browser fetches it again,
    exactly when the code does."""
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
