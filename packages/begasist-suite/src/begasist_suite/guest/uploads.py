"""``POST /guest/{hotel}/{channel}/uploads``: a guest's file, stored for a message to attach.

The body is the file's bytes (no form). Headers: ``X-Begasist-Visitor`` and
``X-Begasist-Token`` (the socket's session), ``X-Begasist-Embedder`` (the page
around the channel's framed page, heeded as the socket's hello ``embedder``
is) and ``X-Begasist-Filename`` (percent-encoded UTF-8, optional). Custom
headers also make any cross-origin call need a CORS preflight this route never
grants.

In order, and storing nothing until the last step: the channel must be enabled
and have an upload policy (``guest_upload_policy``; else 404, alike for every
hotel); the visitor token must check (401); the channel's ``admit_guest`` must
admit the page's origin (403); the visitor's and the client address's upload
limits (429); the announced length (413); the first bytes must be one of the
policy's types (415: what the client calls the file is never heeded, and its
name's extension is made one of that type's); then the bytes stream into the
media directory's pending area (:mod:`begasist_suite.guest.pending`: kept once a
message names the file, deleted after ``guest_upload_pending_hours`` otherwise),
refused (413) and dropped as soon as they pass the policy's size,
or (429) as soon as those counted so far pass one of the byte budgets
(:mod:`begasist_suite.guest.upload_budgets`). The answer (201)::

    {"ref": ..., "kind": "image" | "document", "mime_type", "size_bytes",
     "filename", "url": "media/<key>?e=..&s=.."}

``ref`` goes into a message frame; ``url`` shows the file to this guest.
Errors answer ``{"error": <code>}`` with the codes above' names.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Final
from urllib.parse import unquote

from begasist_core import (
    GUEST_CLOSE_FORBIDDEN,
    MAX_GUEST_UPLOAD_BYTES,
    REDIS_UNAVAILABLE,
    GuestHello,
    GuestRefused,
    GuestUpload,
    GuestUploadPolicy,
    GuestUploadType,
    MediaNotFound,
    MediaRejected,
    MediaTooLarge,
    sniff_upload_type,
)
from begasist_core.models.names import InvalidName, validate_channel_name, validate_hotel_slug
from litestar import Request, Response, post
from litestar.exceptions import ClientException
from litestar.params import FromPath
from pydantic import ValidationError

from begasist_suite.guest.assets import page_origin
from begasist_suite.guest.clients import client_key
from begasist_suite.guest.limits import WindowLimiter
from begasist_suite.guest.pending import GuestFiles
from begasist_suite.guest.signing import GuestFileSigner
from begasist_suite.guest.tokens import VisitorTokens
from begasist_suite.guest.upload_budgets import (
    BudgetUnavailable,
    OverBudget,
    metered,
    upload_budgets,
)
from begasist_suite.ingress.settings_cache import VerifyTarget, WebhookSettingsCache
from begasist_suite.media_names import name_for_type
from begasist_suite.services import Services

__all__ = ["clean_filename", "guest_upload"]

log = logging.getLogger(__name__)

_SNIFF_BYTES: Final = 16
_MAX_FILENAME_CHARS: Final = 120
_HEADERS: Final = {"x-content-type-options": "nosniff", "cache-control": "no-store"}


class _Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def clean_filename(raw: str | None, mime_type: str) -> str | None:
    """A guest's file name as staff may see it: percent-decoded, without any folder, control
    or format characters, with an extension of *mime_type* (the sniffed type, never the
    guest's own extension), at most 120 characters; None when nothing is left."""
    if not raw:
        return None
    name = unquote(raw[:1024], errors="replace").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    cleaned = " ".join(kept.split()).strip(". ")
    if not cleaned:
        return None
    return name_for_type(cleaned, mime_type, max_chars=_MAX_FILENAME_CHARS)


async def _target(request: Request[Any, Any, Any], hotel: str, channel: str) -> VerifyTarget:
    try:
        validate_hotel_slug(hotel)
        validate_channel_name(channel)
    except (InvalidName, ValueError):
        return VerifyTarget(None, None)
    cache: WebhookSettingsCache = request.app.state.guest_settings
    try:
        return await cache.target(hotel, channel)
    except Exception:  # the store failing: the widget may try again later
        log.warning("guest upload %s/%s: settings unavailable", hotel, channel, exc_info=True)
        raise _Refused(503, "unavailable") from None


def _policy(target: VerifyTarget) -> GuestUploadPolicy | None:
    if target.channel_class is None or target.settings is None:
        return None
    policy: GuestUploadPolicy | None = target.channel_class.guest_upload_policy(target.settings)
    return policy


def _admit(request: Request[Any, Any, Any], target: VerifyTarget, hotel: str, channel: str) -> str:
    """The visitor id, once its token checks and the channel admits the page's origin."""
    state = request.app.state
    tokens: VisitorTokens = state.visitor_tokens
    visitor = request.headers.get("x-begasist-visitor", "")
    token = request.headers.get("x-begasist-token", "")
    if not visitor or not token or not tokens.check(hotel, channel, visitor, token):
        raise _Refused(401, "unauthenticated")
    services: Services = state.services
    origin = page_origin(
        request.headers.get("origin"),
        services.settings.public_url,
        request.headers.get("x-begasist-embedder"),
    )
    try:
        hello = GuestHello(origin=origin, visitor_id=visitor)
        # The same admission the socket's hello gets (origin allow-list), not a copy of it.
        channel_class: Any = target.channel_class
        channel_class.admit_guest(hello, target.settings)
    except GuestRefused as refused:
        raise _Refused(403 if refused.code == GUEST_CLOSE_FORBIDDEN else 401, "forbidden") from None
    except (ValidationError, ValueError):
        raise _Refused(403, "forbidden") from None
    return visitor


async def _limit(request: Request[Any, Any, Any], hotel: str, channel: str, visitor: str) -> str:
    """The client's address key, once the visitor and the address may upload one more file."""
    state = request.app.state
    limiter: WindowLimiter = state.guest_limiter
    settings = state.services.settings
    client = client_key(request.client.host if request.client else None)
    try:
        allowed = await limiter.allow(
            "upload-visitor", f"{hotel}/{channel}/{visitor}", settings.guest_visitor_uploads
        ) and await limiter.allow("upload-address", client, settings.guest_address_uploads)
    except REDIS_UNAVAILABLE:
        raise _Refused(503, "unavailable") from None
    if not allowed:
        raise _Refused(429, "rate_limited")
    return client


async def _sniffed(
    body: AsyncIterator[bytes], policy: GuestUploadPolicy
) -> tuple[GuestUploadType, AsyncGenerator[bytes, None]]:
    """The body's type by its first bytes, and the whole body again as chunks."""
    head = b""
    async for chunk in body:
        head += chunk
        if len(head) >= _SNIFF_BYTES:
            break
    mime_type = sniff_upload_type(head)
    if mime_type is None or mime_type not in policy.mime_types:
        raise _Refused(415, "unsupported_type")

    async def everything() -> AsyncGenerator[bytes, None]:
        yield head
        async for rest in body:
            yield rest

    return mime_type, everything()


async def _store(
    request: Request[Any, Any, Any], hotel: str, policy: GuestUploadPolicy, client: str
) -> GuestUpload:
    announced = request.headers.get("content-length", "")
    if announced.isdecimal() and int(announced) > policy.max_bytes:
        raise _Refused(413, "too_large")
    state = request.app.state
    budgets = upload_budgets(state.services.settings, hotel, client)
    body = metered(request.stream(), state.guest_limiter, budgets)
    try:
        mime_type, chunks = await _sniffed(body, policy)
        filename = clean_filename(request.headers.get("x-begasist-filename"), mime_type)
        try:
            stored = await GuestFiles(state.services.settings.media_dir).put(
                hotel, chunks, mime_type=mime_type, filename=filename, max_bytes=policy.max_bytes
            )
        finally:
            await chunks.aclose()
    except MediaTooLarge:
        raise _Refused(413, "too_large") from None
    except MediaRejected:
        raise _Refused(415, "unsupported_type") from None
    except MediaNotFound:  # a sweep moved it aside just then (guest/pending.py): try again
        raise _Refused(503, "unavailable") from None
    except OverBudget as over:
        log.info("guest upload to %s: %s", hotel, over)
        raise _Refused(429, "rate_limited") from None
    except BudgetUnavailable:
        raise _Refused(503, "unavailable") from None
    finally:
        await body.aclose()
    # The guest's own name for the file, even when the same bytes came first with another.
    return GuestUpload(
        key=stored.key, mime_type=mime_type, size_bytes=stored.size_bytes, filename=filename
    )


@post(
    "/guest/{hotel:str}/{channel:str}/uploads",
    include_in_schema=False,
    request_max_body_size=MAX_GUEST_UPLOAD_BYTES,
    status_code=201,
)
async def guest_upload(
    request: Request[Any, Any, Any], hotel: FromPath[str], channel: FromPath[str]
) -> Response[dict[str, Any]]:
    """Store a guest's file and answer its ref (module docstring)."""
    try:
        target = await _target(request, hotel, channel)
        policy = _policy(target)
        if policy is None:
            raise _Refused(404, "not_found")
        visitor = _admit(request, target, hotel, channel)
        client = await _limit(request, hotel, channel, visitor)
        upload = await _store(request, hotel, policy, client)
    except _Refused as refused:
        log.info("guest upload %s/%s refused: %s", hotel, channel, refused.error)
        return Response({"error": refused.error}, status_code=refused.status, headers=_HEADERS)
    except ClientException as error:  # the body over the route's own cap, while streaming
        status = 413 if error.status_code == 413 else 400
        error_code = "too_large" if status == 413 else "bad_request"
        return Response({"error": error_code}, status_code=status, headers=_HEADERS)
    signer: GuestFileSigner = request.app.state.guest_file_signer
    answer = {
        "ref": signer.ref(hotel, channel, visitor, upload),
        "kind": upload.kind.value,
        "mime_type": upload.mime_type,
        "size_bytes": upload.size_bytes,
        "filename": upload.filename,
        "url": signer.media_url(hotel, channel, upload.key),
    }
    return Response(answer, status_code=201, headers=_HEADERS)
