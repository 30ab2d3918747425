"""Guests' files: the bytes behind an attachment's ``media:<key>`` URL, per hotel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Final
from urllib.parse import quote

from begasist_core import FileMediaStore, MediaNotFound, MediaStore
from litestar import Controller, MediaType, Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import PathParameter
from litestar.response import Stream

from begasist_suite.api.dependencies import AccessDep, ServicesDep
from begasist_suite.media_names import name_for_type

__all__ = ["MediaController"]

MediaKey = Annotated[str, PathParameter(max_length=64, description="the file's SHA-256, hex")]

INLINE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
"""Raster images the browser may show in the inbox; anything else (SVG, HTML, PDF) downloads."""


def _disposition(mime_type: str, filename: str | None) -> str:
    """``inline`` for raster images, else ``attachment``, with the first upload's name if any,
    its extension one of the type the file is served as (a guest's ``x.html`` that is a
    PDF downloads as ``x.pdf``), whichever channel stored it."""
    kind = "inline" if mime_type.split(";")[0] in INLINE_TYPES else "attachment"
    if not filename:
        return kind
    return f"{kind}; filename*=UTF-8''{quote(name_for_type(filename, mime_type), safe='')}"


async def _chunks(store: MediaStore, hotel: str, key: str) -> AsyncIterator[bytes]:
    async with store.open(hotel, key) as chunks:
        async for chunk in chunks:
            yield chunk


def _json_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[dict[str, Any]]:
    # Without this, Litestar would label the JSON error with the route's octet-stream type.
    return Response(
        {"status_code": error.status_code, "detail": error.detail},
        status_code=error.status_code,
        media_type=MediaType.JSON,
        headers=error.headers,
    )


class MediaController(Controller):
    path = "/api/v1/hotels/{hotel:str}/media"
    tags = ["media"]
    exception_handlers = {HTTPException: _json_error}

    @get("/{media_key:str}", media_type="application/octet-stream")
    async def get_media(
        self, media_key: MediaKey, access: AccessDep, services: ServicesDep
    ) -> Stream:
        """The bytes of a stored file of this hotel, with the type it was stored with.

        Only this hotel's store is looked in: another hotel's key answers 404
        exactly like a key nothing has. The type is never sniffed, and only
        raster images are shown inline; everything else downloads.
        """
        store = FileMediaStore(services.settings.media_dir)
        hotel = access.hotel.slug
        try:
            stored = await store.stat(hotel, media_key)
        except MediaNotFound:
            raise NotFoundException("not found") from None
        return Stream(
            _chunks(store, hotel, stored.key),
            headers={
                # As a header, not media_type: the handler's media_type (the generic type
                # the OpenAPI document shows) would win over the Stream's.
                "content-type": stored.mime_type,
                "content-length": str(stored.size_bytes),
                "content-disposition": _disposition(stored.mime_type, stored.filename),
                "x-content-type-options": "nosniff",
                # A stored file is never a page of the suite: no script runs in it.
                "content-security-policy": "sandbox; default-src 'none'",
                "cache-control": "private, no-cache",
            },
        )
