"""What the suite signs for guests' files: upload refs (bound to a visitor) and media URLs.

Both are HMACs with keys derived from ``BEGASIST_SECRET_KEY``, one key per use,
so neither is ever also a visitor token. Nothing is stored: any replica checks
them by recomputing.

- An upload ref (:mod:`begasist_core.plugins.guest_upload`) binds a stored file
  to the hotel, the channel and the visitor who uploaded it: only that
  visitor's message frame may attach it.
- A media URL (``media/<key>?e=<expiry>&s=<hmac>``, relative to the channel's
  guest pages) is issued only for a file in the guest's own conversation or
  just uploaded by them, and opens that one file of that hotel's channel until
  the expiry (a page open longer gets fresh URLs with the history on reconnect).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Final

from begasist_core import GuestUpload, InvalidUploadRef

__all__ = ["MEDIA_URL_SECONDS", "GuestFileSigner"]

MEDIA_URL_SECONDS: Final = 24 * 3600
"""How long a guest's media URL works at least (expiries are whole hours, so one URL
stays the same, and cacheable, within an hour)."""

_REF_LABEL: Final = b"begasist guest upload ref v1"
_URL_LABEL: Final = b"begasist guest media url v1"


def _mac(key: bytes, *parts: str) -> str:
    digest = hmac.new(key, "\0".join(parts).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class GuestFileSigner:
    """Signs and checks upload refs and guests' media URLs with the suite's secret."""

    def __init__(self, secret_key: str) -> None:
        secret = secret_key.encode("utf-8")
        self._ref_key = hmac.new(secret, _REF_LABEL, hashlib.sha256).digest()
        self._url_key = hmac.new(secret, _URL_LABEL, hashlib.sha256).digest()

    def ref(self, hotel: str, channel: str, visitor: str, upload: GuestUpload) -> str:
        payload = upload.ref_payload()
        return f"{payload}.{_mac(self._ref_key, hotel, channel, visitor, payload)}"

    def check_ref(self, hotel: str, channel: str, visitor: str, ref: str) -> GuestUpload | None:
        """The upload *ref* names if this suite issued it to *visitor* there, else None."""
        payload, _, mac = ref.partition(".")
        expected = _mac(self._ref_key, hotel, channel, visitor, payload)
        if not hmac.compare_digest(expected.encode("ascii"), mac.encode("utf-8")):
            return None
        try:
            return GuestUpload.from_ref(ref)
        except InvalidUploadRef:
            return None

    def media_url(self, hotel: str, channel: str, key: str, *, now: float | None = None) -> str:
        """The URL, relative to the channel's guest pages, that opens file *key*."""
        moment = time.time() if now is None else now
        expires = (int(moment + MEDIA_URL_SECONDS) // 3600 + 1) * 3600
        signature = _mac(self._url_key, hotel, channel, key, str(expires))
        return f"media/{key}?e={expires}&s={signature}"

    def check_media_url(
        self, hotel: str, channel: str, key: str, expires: str, signature: str
    ) -> bool:
        """Whether (*expires*, *signature*) open file *key* now (constant-time)."""
        expected = _mac(self._url_key, hotel, channel, key, expires)
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8")):
            return False
        return expires.isdecimal() and int(expires) > time.time()
