"""A guest's Channex attachments, fetched into the media store while the message is read.

Channex lists a message's attachments as links (Messages Collection: "List of
links to Attachments"; relative to the API root). The channel downloads each
one right away, within a size cap and a list of content types, and puts the
bytes in the runtime's media store, as the WhatsApp channel does. A download
that fails or is refused never loses the message: its attachment keeps the
link (``provider_ref``) and says in its ``caption`` why the file is not there,
which the staff app shows in place of the file.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

import anyio
import httpx
from begasist_core import (
    Attachment,
    AttachmentKind,
    ChannelError,
    MediaStore,
    MediaTooLarge,
    MediaTypeRejected,
)

from begasist_channels_channex.api import ChannexApiError, ChannexClient

__all__ = [
    "INBOUND_LIMITS",
    "MAX_LINK_LENGTH",
    "AttachmentFetcher",
    "InboundLimits",
    "attachment_links",
]

MB: Final = 1024 * 1024
MAX_LINK_LENGTH: Final = 1024
"""What ``Attachment.provider_ref`` holds; a longer link is noted, not fetched."""
MAX_ATTACHMENTS: Final = 20
"""Per message; Channex documents no number, the OTAs' apps send a few at a time."""


@dataclass(frozen=True)
class InboundLimits:
    """The largest file and the MIME types (without parameters) taken for one kind."""

    max_bytes: int
    mime_types: frozenset[str]


INBOUND_LIMITS: Final[Mapping[AttachmentKind, InboundLimits]] = {
    # Booking.com's guests send images (JPEG, PNG, 1 MB), Expedia's also PDF (5 MB);
    # Airbnb documents nothing public. 10 MB and the common photo types cover them all.
    AttachmentKind.IMAGE: InboundLimits(
        10 * MB,
        frozenset({"image/jpeg", "image/jpg", "image/png", "image/gif", "image/webp"}),
    ),
    AttachmentKind.DOCUMENT: InboundLimits(10 * MB, frozenset({"application/pdf"})),
}
"""What the channel keeps from guests; anything else is noted on the message, not stored."""

GENERIC_TYPES: Final = frozenset({"", "application/octet-stream", "binary/octet-stream"})
"""Content types that say nothing: the link's file name decides then."""

RETRY_DELAYS: Final = (0.2, 1.0)
"""Pauses before the second and third try of a download that failed transiently."""


class _Failed(ChannelError):
    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


def attachment_links(items: Sequence[object]) -> list[str | None]:
    """Each listed attachment's link; None for an item that is not one (kept as a note)."""
    links: list[str | None] = []
    for item in items[:MAX_ATTACHMENTS]:
        link = item.get("url") if isinstance(item, dict) else item
        usable = isinstance(link, str) and 0 < len(link) <= MAX_LINK_LENGTH
        links.append(link if usable and isinstance(link, str) else None)
    return links


def _base_type(mime_type: str) -> str:
    return mime_type.split(";", 1)[0].strip().lower()


def _file_name(link: str) -> str | None:
    name = unquote(urlsplit(link).path.rsplit("/", 1)[-1]).strip()
    return name[:255] or None


def _kind_of(mime_type: str) -> AttachmentKind | None:
    for kind, limits in INBOUND_LIMITS.items():
        if mime_type in limits.mime_types:
            return kind
    return None


def _guessed_kind(link: str) -> AttachmentKind:
    guessed, _ = mimetypes.guess_type(_file_name(link) or "")
    kind = _kind_of(guessed) if guessed else None
    return kind or AttachmentKind.OTHER


class AttachmentFetcher:
    """Downloads one message's attachments into the media store of one hotel."""

    def __init__(
        self,
        client: ChannexClient,
        store: MediaStore,
        hotel: str,
        logger: logging.Logger,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._client = client
        self._store = store
        self._hotel = hotel
        self._logger = logger
        self._retry_delays = tuple(retry_delays)

    async def fetch_all(self, items: Sequence[object], message_id: str) -> tuple[Attachment, ...]:
        """The attachments of message *message_id*, stored, or each with a note why not."""
        extra = len(items) - MAX_ATTACHMENTS
        fetched = [await self._fetch_or_note(link, message_id) for link in attachment_links(items)]
        if extra > 0:
            fetched.append(
                Attachment(
                    kind=AttachmentKind.OTHER,
                    caption=f"{extra} more attachments not stored by Begasist: "
                    f"it keeps {MAX_ATTACHMENTS} per message; see them in Channex",
                )
            )
        return tuple(fetched)

    async def _fetch_or_note(self, link: str | None, message_id: str) -> Attachment:
        if link is None:
            return Attachment(
                kind=AttachmentKind.OTHER,
                caption="An attachment Begasist cannot read (not a link); see it in Channex",
            )
        try:
            return await self._fetch(link)
        except (ChannelError, OSError) as error:
            # The reason is ours (no key, no URL): safe to log and to show staff.
            self._logger.warning(
                "channex attachment of message %s not stored: %s", message_id, error
            )
            name = _file_name(link)
            what = f"{name!r}" if name else "The guest's file"
            return Attachment(
                kind=_guessed_kind(link),
                provider_ref=link,
                caption=f"{what} was not stored by Begasist ({error}); see it in Channex",
            )

    async def _fetch(self, link: str) -> Attachment:
        for delay in self._retry_delays:
            try:
                return await self._fetch_once(link)
            except _Failed as failure:
                if not failure.transient:
                    raise
            await anyio.sleep(delay)
        return await self._fetch_once(link)

    async def _fetch_once(self, link: str) -> Attachment:
        url = self._client.file_url(link)
        if urlsplit(url).scheme.lower() not in {"https", urlsplit(self._client.root).scheme}:
            raise _Failed("the link is not https")
        name = _file_name(link)
        try:
            async with self._client.stream_file(url) as answer:
                if answer.status_code != 200:
                    status = answer.status_code
                    raise _Failed(
                        f"Channex answered HTTP {status}", transient=status == 429 or status >= 500
                    )
                mime_type = self._mime_type(answer, name)
                kind = _kind_of(mime_type)
                if kind is None:
                    raise MediaTypeRejected(f"a file of type {mime_type[:80]!r} is not kept")
                limits = INBOUND_LIMITS[kind]
                announced = answer.headers.get("content-length", "")
                if announced.isdigit() and int(announced) > limits.max_bytes:
                    raise MediaTooLarge(f"{int(announced)} bytes; the limit is {limits.max_bytes}")
                stored = await self._store.put(
                    self._hotel,
                    answer.aiter_bytes(),
                    mime_type=mime_type,
                    filename=name,
                    max_bytes=limits.max_bytes,
                )
        except ChannexApiError as error:
            raise _Failed(error.describe(), transient=True) from None
        except httpx.HTTPError as error:
            raise _Failed(f"the download failed: {type(error).__name__}", transient=True) from None
        return Attachment(
            kind=kind,
            mime_type=stored.mime_type,
            filename=name,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            provider_ref=link,
            url=stored.url,
        )

    @staticmethod
    def _mime_type(answer: httpx.Response, name: str | None) -> str:
        served = _base_type(answer.headers.get("content-type", ""))
        if served not in GENERIC_TYPES:
            return served
        guessed, _ = mimetypes.guess_type(name or "")
        return guessed or served or "application/octet-stream"
