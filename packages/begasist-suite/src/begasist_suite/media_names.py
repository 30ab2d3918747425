"""A stored file's download name: its extension always the one of the type it is served as.

A guest names their own file: a PDF called ``Booking confirmation.html`` would
be saved by staff's browser under ``.html`` and opened as a page from disk.
The type a file is served with is the one the suite sniffed (guests' uploads)
or stored (a channel's media), so the name follows the type, never the reverse.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["FALLBACK_EXTENSION", "extensions_of", "name_for_type"]

FALLBACK_EXTENSION: Final = ".bin"
"""The extension of a type with none known: saved as data, opened by nothing."""

_EXTENSIONS: Final[dict[str, tuple[str, ...]]] = {
    # The first of each is the one a name gets when its own does not fit.
    "image/jpeg": (".jpg", ".jpeg", ".jpe"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/heic": (".heic",),
    "image/heif": (".heif",),
    "image/bmp": (".bmp",),
    "image/tiff": (".tif", ".tiff"),
    "image/svg+xml": (".svg",),
    "application/pdf": (".pdf",),
    "audio/ogg": (".ogg", ".oga", ".opus"),
    "audio/opus": (".opus",),
    "audio/mpeg": (".mp3",),
    "audio/mp4": (".m4a", ".mp4"),
    "audio/aac": (".aac",),
    "audio/amr": (".amr",),
    "audio/wav": (".wav",),
    "audio/webm": (".weba", ".webm"),
    "video/mp4": (".mp4", ".m4v"),
    "video/3gpp": (".3gp",),
    "video/quicktime": (".mov",),
    "video/webm": (".webm",),
    "text/plain": (".txt",),
    "text/csv": (".csv",),
    "text/calendar": (".ics",),
    "text/html": (".html", ".htm"),
    "message/rfc822": (".eml",),
    "application/zip": (".zip",),
    "application/rtf": (".rtf",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.ms-powerpoint": (".ppt",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    "application/octet-stream": (FALLBACK_EXTENSION,),
}

# What is taken for an extension to replace (else the right one is appended): a short
# run of letters and digits after the last dot, so "Mr. Smith" keeps its dot.
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def extensions_of(mime_type: str) -> tuple[str, ...]:
    """The extensions a file of *mime_type* (parameters ignored) may carry, preferred first."""
    base = mime_type.split(";", 1)[0].strip().lower()
    return _EXTENSIONS.get(base, (FALLBACK_EXTENSION,))


def name_for_type(filename: str, mime_type: str, *, max_chars: int = 255) -> str:
    """*filename* with an extension of *mime_type*: kept if it is one, else replaced by (or,
    when the name has none, followed by) the type's first; at most *max_chars* long."""
    allowed = extensions_of(mime_type)
    found = _EXTENSION.search(filename)
    stem = filename if found is None else filename[: found.start()]
    extension = found[0] if found is not None and found[0].lower() in allowed else allowed[0]
    if len(stem) + len(extension) > max_chars:
        stem = stem[: max(0, max_chars - len(extension))].rstrip(". ")
    return stem + extension
