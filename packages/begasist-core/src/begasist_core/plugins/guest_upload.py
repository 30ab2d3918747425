"""Files a guest-socket channel's guests upload: the policy a channel sets, and the refs.

A guest's file never rides in a socket frame. The widget posts it to the
suite's ``/guest/{hotel}/{channel}/uploads`` (authenticated by the visitor's
token, like the socket); the suite checks the page's origin with the
channel's :meth:`~begasist_core.Channel.admit_guest`, caps the size while the
body streams in, decides the type from the file's first bytes (never from
what the client says), stores it in the media store and answers an upload
*ref*. The guest then names the ref in a message frame:

- the channel's ``guest_frame`` reads the ref's :class:`GuestUpload` with
  :meth:`GuestUpload.from_ref` (no I/O) and lists every ref it used in
  :attr:`~begasist_core.GuestIngress.uploads`;
- the suite checks each listed ref was issued by it to that visitor on that
  hotel's channel (an HMAC with the suite's secret) before enqueuing, and
  refuses the frame otherwise, so a guest cannot attach another visitor's or
  another hotel's file by naming its key.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from begasist_core.models.messages import Attachment, AttachmentKind

__all__ = [
    "GUEST_UPLOAD_TYPES",
    "MAX_GUEST_UPLOAD_BYTES",
    "GuestAttachment",
    "GuestUpload",
    "GuestUploadPolicy",
    "GuestUploadType",
    "InvalidUploadRef",
    "sniff_upload_type",
]

GuestUploadType = Literal["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"]
"""The types the suite recognises by their first bytes (no SVG or HTML: they can script)."""

GUEST_UPLOAD_TYPES: Final[tuple[GuestUploadType, ...]] = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
)

MAX_GUEST_UPLOAD_BYTES: Final = 25 * 1024 * 1024
"""The most a channel's policy may allow for one file (the suite's route refuses more)."""

_MAX_REF_CHARS: Final = 2048

_SIGNATURES: Final[tuple[tuple[bytes, GuestUploadType], ...]] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


def sniff_upload_type(head: bytes) -> GuestUploadType | None:
    """The type of a file by its first (at least 12) bytes, or None when it is none of
    :data:`GUEST_UPLOAD_TYPES`."""
    for magic, mime_type in _SIGNATURES:
        if head.startswith(magic):
            return mime_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class InvalidUploadRef(ValueError):
    """A string that is no upload ref's shape (its HMAC is the suite's to check)."""


class GuestUploadPolicy(BaseModel):
    """What a channel lets its guests upload under a hotel's settings (``guest_upload_policy``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mime_types: Annotated[frozenset[GuestUploadType], Field(min_length=1)]
    max_bytes: Annotated[int, Field(gt=0, le=MAX_GUEST_UPLOAD_BYTES)]


class GuestUpload(BaseModel):
    """A file a guest uploaded, as its ref describes it (the bytes are in the media store)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """The media store's key, the SHA-256 of the bytes; ``url`` is ``media:<key>``."""
    mime_type: GuestUploadType
    size_bytes: Annotated[int, Field(ge=0)]
    filename: Annotated[str | None, Field(max_length=255)] = None
    """The guest's file name, cleaned (no path, no control characters)."""

    @property
    def kind(self) -> AttachmentKind:
        return (
            AttachmentKind.IMAGE if self.mime_type.startswith("image/") else AttachmentKind.DOCUMENT
        )

    @property
    def url(self) -> str:
        return f"media:{self.key}"

    def attachment(self) -> Attachment:
        """The message's :class:`Attachment` for this file."""
        return Attachment(
            kind=self.kind,
            mime_type=self.mime_type,
            filename=self.filename,
            size_bytes=self.size_bytes,
            sha256=self.key,
            url=self.url,
        )

    def ref_payload(self) -> str:
        """The ref's first part (URL-safe base64 of the JSON); the suite appends its HMAC."""
        data = self.model_dump_json(exclude_none=True).encode("utf-8")
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    @classmethod
    def from_ref(cls, ref: str) -> Self:
        """What *ref* (``<payload>.<hmac>``) describes, unchecked: the suite checks the HMAC
        of every ref listed in ``GuestIngress.uploads``. InvalidUploadRef if malformed."""
        payload, dot, mac = ref.partition(".")
        if len(ref) > _MAX_REF_CHARS or not dot or not payload or not mac:
            raise InvalidUploadRef("not an upload ref")
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            return cls.model_validate_json(raw)
        except (binascii.Error, ValueError, ValidationError):
            raise InvalidUploadRef("not an upload ref") from None


class GuestAttachment(BaseModel):
    """A stored message's file as its guest may see it (in ``GuestHistoryItem.attachments``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AttachmentKind
    mime_type: str | None = None
    filename: str | None = None
    size_bytes: int | None = None
    url: str | None = None
    """Where the guest's page fetches the bytes, relative to the channel's guest pages
    (``media/<key>?...``, signed by the suite for this conversation); None: not stored."""
