"""The Cloud API webhook's two proofs: the GET handshake and the POST body signature."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from begasist_core import (
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    WebhookSignatureError,
)

__all__ = ["SIGNATURE_HEADER", "answer_handshake", "check_signature", "sign_body"]

SIGNATURE_HEADER: Final = "x-hub-signature-256"
_SCHEME: Final = "sha256="


def sign_body(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with *body*: ``sha256=<hex>``."""
    return _SCHEME + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """Raise WebhookSignatureError unless *header* signs the exact *body* with *app_secret*.

    The whole header is compared, exactly as Meta sends it (``sha256=`` and
    lower-case hex): another spelling (``SHA256=``, upper-case hex, spaces, a
    header sent twice, which arrives comma-joined) is not Meta's and is refused.
    """
    if not header:
        raise WebhookSignatureError("missing X-Hub-Signature-256 header")
    expected = sign_body(app_secret, body).encode()
    # Bytes, not str: compare_digest refuses non-ASCII str, and the header is the sender's.
    given = header.encode("utf-8", "replace")
    if not hmac.compare_digest(given, expected):
        raise WebhookSignatureError("X-Hub-Signature-256 does not match the body")


def answer_handshake(request: WebhookRequest, verify_token: str) -> WebhookResponse:
    """Echo ``hub.challenge`` when ``hub.verify_token`` is the hotel's, as Meta expects."""
    if request.query.get("hub.mode") != "subscribe":
        raise WebhookRejected("a GET must be a subscribe handshake (hub.mode=subscribe)")
    given = request.query.get("hub.verify_token", "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, verify_token.encode()):
        raise WebhookSignatureError("hub.verify_token is not this channel's verify token")
    challenge = request.query.get("hub.challenge")
    if not challenge:
        raise WebhookRejected("the handshake has no hub.challenge to answer")
    return WebhookResponse(body=challenge.encode(), media_type="text/plain", enqueue=False)
