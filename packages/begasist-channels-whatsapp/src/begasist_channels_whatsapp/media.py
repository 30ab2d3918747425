"""Fetching a guest's WhatsApp media right after receipt: media id, short-lived URL, bytes.

Meta keeps inbound media for a limited time behind a media id; the channel
downloads it while parsing the webhook and puts it in the runtime's media
store, so the inbox shows the file after Meta has forgotten it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import anyio
import httpx
from begasist_core import (
    Attachment,
    AttachmentKind,
    ChannelError,
    InboundPayload,
    MediaRejected,
    MediaStore,
    MediaTooLarge,
    MediaTypeRejected,
    MessageEchoed,
    MessageReceived,
)

from begasist_channels_whatsapp.settings import WhatsAppSettings

__all__ = [
    "MEDIA_LIMITS",
    "MediaDownloadFailed",
    "MediaDownloader",
    "MediaLimits",
    "download_all",
]

MB: Final = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    """The largest file and the MIME types (without parameters) accepted for one kind."""

    max_bytes: int
    mime_types: frozenset[str]

    def allows(self, mime_type: str | None) -> bool:
        return mime_type is not None and _base_type(mime_type) in self.mime_types


MEDIA_LIMITS: Final[Mapping[AttachmentKind, MediaLimits]] = {
    AttachmentKind.IMAGE: MediaLimits(5 * MB, frozenset({"image/jpeg", "image/png"})),
    # Meta lists video/3gpp; some of its pages say video/3gp: both are the same format.
    AttachmentKind.VIDEO: MediaLimits(16 * MB, frozenset({"video/mp4", "video/3gpp", "video/3gp"})),
    AttachmentKind.AUDIO: MediaLimits(
        16 * MB,
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
    ),
    AttachmentKind.DOCUMENT: MediaLimits(
        100 * MB,
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
    ),
    # 500 KB is the animated sticker's limit; a static one (100 KB) is within it.
    AttachmentKind.STICKER: MediaLimits(500 * 1024, frozenset({"image/webp"})),
}
"""Meta's documented Cloud API media types and sizes (Supported Media Types)."""

RETRY_DELAYS: Final = (0.2, 1.0)
"""Pauses before the second and third try of a download that failed transiently."""

TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)


class MediaDownloadFailed(ChannelError):
    """The Graph API or the media URL did not deliver the file (the reason, never the token)."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
"""Content types that say nothing about the bytes (some CDNs serve media so)."""


def _base_type(mime_type: str) -> str:
    return mime_type.split(";", 1)[0].strip().lower()


def _announced_sha256(value: object) -> str | None:
    """Meta's hash in hex, whether it came as hex or as base64 (as webhooks send it)."""
    if not isinstance(value, str):
        return None
    if len(value) == 64:
        try:
            return bytes.fromhex(value).hex()
        except ValueError:
            pass
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 32 else None


def _status_failure(step: str, response: httpx.Response) -> MediaDownloadFailed:
    status = response.status_code
    transient = status == 429 or status >= 500
    return MediaDownloadFailed(f"{step} answered HTTP {status}", transient=transient)


class MediaDownloader:
    """Downloads one hotel's WhatsApp media into the media store, within Meta's limits.

    The bearer token goes only to the Graph API and to the download URL it
    returns, and to that URL only over https (or over http when the Graph API
    itself is plain http: the local stand-in in tests).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: WhatsAppSettings,
        store: MediaStore,
        hotel: str,
        *,
        limits: Mapping[AttachmentKind, MediaLimits] = MEDIA_LIMITS,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        if settings.access_token is None:
            raise ValueError("downloading media needs the Cloud API access_token")
        self._client = client
        self._settings = settings
        self._token = settings.access_token
        self._store = store
        self._hotel = hotel
        self._limits = limits
        self._retry_delays = tuple(retry_delays)
        self._graph = str(settings.graph_api_url).rstrip("/")

    def downloadable(self, attachment: Attachment) -> bool:
        """A media attachment of a known kind, with a media id, not stored yet."""
        return (
            attachment.kind in self._limits
            and attachment.provider_ref is not None
            and attachment.url is None
        )

    async def download(self, attachment: Attachment) -> Attachment:
        """*attachment* with the ``url``, ``sha256``, ``size_bytes`` and type of its stored copy.

        Raises MediaRejected (too large, a type not allowed, a hash that does
        not match) or MediaDownloadFailed; transient failures are retried first.
        """
        if not self.downloadable(attachment):
            return attachment
        for delay in self._retry_delays:
            try:
                return await self._download_once(attachment)
            except MediaDownloadFailed as failure:
                if not failure.transient:
                    raise
            await anyio.sleep(delay)
        return await self._download_once(attachment)

    async def _download_once(self, attachment: Attachment) -> Attachment:
        limits = self._limits[attachment.kind]
        metadata = await self._metadata(str(attachment.provider_ref))
        announced_size = metadata.get("file_size")
        if isinstance(announced_size, int) and announced_size > limits.max_bytes:
            raise MediaTooLarge(
                f"{attachment.kind.value} of {announced_size} bytes; "
                f"the limit is {limits.max_bytes}"
            )
        mime_type = metadata.get("mime_type")
        if not isinstance(mime_type, str) or not limits.allows(mime_type):
            raise MediaTypeRejected(f"{attachment.kind.value} of type {str(mime_type)[:80]!r}")
        url = self._download_url(metadata.get("url"))
        sha256 = _announced_sha256(metadata.get("sha256"))
        headers = self._auth()
        try:
            async with self._client.stream("GET", url, headers=headers, timeout=TIMEOUT) as answer:
                if answer.status_code != 200:
                    raise _status_failure("the media URL", answer)
                served = answer.headers.get("content-type", "")
                # A download served as bytes of no particular type is judged by
                # the type the Graph API announced (checked above).
                if _base_type(served) not in GENERIC_TYPES and not limits.allows(served):
                    raise MediaTypeRejected(f"{attachment.kind.value} served as {served[:80]!r}")
                async with aclosing(_checked(answer.aiter_bytes(), sha256)) as chunks:
                    stored = await self._store.put(
                        self._hotel,
                        chunks,
                        mime_type=mime_type,
                        filename=attachment.filename,
                        max_bytes=limits.max_bytes,
                    )
        except httpx.TransportError as error:
            raise MediaDownloadFailed(
                f"the media URL failed: {type(error).__name__}", transient=True
            ) from None
        return attachment.model_copy(
            update={
                "url": stored.url,
                "sha256": stored.sha256,
                "size_bytes": stored.size_bytes,
                "mime_type": stored.mime_type,
            }
        )

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._token.get_secret_value()}"}

    async def _metadata(self, media_id: str) -> dict[str, object]:
        version = self._settings.graph_api_version
        try:
            answer = await self._client.get(
                f"{self._graph}/{version}/{media_id}", headers=self._auth(), timeout=TIMEOUT
            )
        except httpx.TransportError as error:
            raise MediaDownloadFailed(
                f"the Graph API failed: {type(error).__name__}", transient=True
            ) from None
        if answer.status_code != 200:
            raise _status_failure("the Graph API", answer)
        try:
            metadata = answer.json()
        except ValueError:
            raise MediaDownloadFailed("the Graph API answered no JSON") from None
        if not isinstance(metadata, dict):
            raise MediaDownloadFailed("the Graph API answered no media object")
        return metadata

    def _download_url(self, url: object) -> str:
        """The URL Meta returned, if the token may be sent there."""
        if not isinstance(url, str) or not url:
            raise MediaDownloadFailed("the Graph API gave no download URL")
        scheme = urlsplit(url).scheme.lower()
        plain_graph = urlsplit(self._graph).scheme.lower() == "http"
        if scheme == "https" or (scheme == "http" and plain_graph):
            return url
        raise MediaDownloadFailed(f"refusing to send the token to a {scheme or 'relative'} URL")


async def _checked(chunks: AsyncIterator[bytes], sha256: str | None) -> AsyncGenerator[bytes, None]:
    """*chunks*, failing after the last one if they do not hash to *sha256*.

    Failing inside the stream makes the store throw its temporary copy away:
    bytes that are not what Meta announced are never stored.
    """
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if sha256 is not None and digest.hexdigest() != sha256:
        raise MediaRejected("the bytes do not match the SHA-256 Meta announced")


async def download_all(
    events: Sequence[InboundPayload], downloader: MediaDownloader, logger: logging.Logger
) -> list[InboundPayload]:
    """*events* with each downloadable attachment stored and pointing at its copy.

    A refused or failed download changes nothing but the log: the message is
    kept and its attachment keeps Meta's media id (``provider_ref``).
    """
    result: list[InboundPayload] = []
    for event in events:
        if not isinstance(event, MessageReceived | MessageEchoed) or not any(
            downloader.downloadable(attachment) for attachment in event.message.attachments
        ):
            result.append(event)
            continue
        message = event.message
        attachments = [
            await _download_or_keep(downloader, attachment, message.provider_message_id, logger)
            for attachment in message.attachments
        ]
        updated = message.model_copy(update={"attachments": tuple(attachments)})
        result.append(event.model_copy(update={"message": updated}))
    return result


async def _download_or_keep(
    downloader: MediaDownloader,
    attachment: Attachment,
    message_id: str | None,
    logger: logging.Logger,
) -> Attachment:
    if not downloader.downloadable(attachment):
        return attachment
    try:
        return await downloader.download(attachment)
    except (ChannelError, httpx.HTTPError, OSError) as error:
        # The reason is ours (no URL, no header), so it carries no token.
        reason = str(error) if isinstance(error, ChannelError) else type(error).__name__
        logger.warning(
            "whatsapp media %s of message %s not stored: %s",
            attachment.provider_ref,
            message_id,
            reason,
        )
        return attachment
