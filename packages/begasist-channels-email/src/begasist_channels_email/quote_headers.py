"""Quoted header blocks: the ``From: / Sent: / To: / Subject:`` rows a client writes above history.

A block is recognised by its shape, not by one client's wording, and never
from a single field: a guest's own ``De: Madrid / Para: 2 personas / Fecha:
3 de junio`` list has the labels but not what a quoted header holds (an
address, a date with a time or a year, a subject).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from begasist_channels_email.quote_words import DATE_SHAPE, FIELD_LABELS, FieldKind

__all__ = ["HeaderBlock", "header_block_at"]

_FIELD_LINE = re.compile(
    r"^[\s*>]*([^\W\d_](?:[^\W\d_]|[ '.\-]){0,30}?)\s*\*{0,2}\s*[:：]\s*\*{0,2}\s*(.*)$"
)
_ADDRESS = re.compile(r"[^\s<>()\[\]:;,\"]+@[^\s<>()\[\]:;,\"]+\.\w+")
_BRACKETED_ADDRESS = re.compile(r"<[^<>\s]+@[^<>\s]+>|mailto:", re.IGNORECASE)
_MAX_FIELDS = 12


@dataclass(frozen=True)
class HeaderBlock:
    """A quoted header block: its lines ``[start, end)`` and the subject it names, if any."""

    start: int
    end: int
    subject: str | None


def _field(line: str) -> tuple[str | None, str] | None:
    """(kind or None for an unknown label, value) of a ``Label: value`` line."""
    found = _FIELD_LINE.match(line)
    if found is None or len(found.group(1).split()) > 4:
        return None
    return FIELD_LABELS.get(found.group(1).strip().casefold()), found.group(2).strip()


def _fields(lines: list[str], start: int) -> tuple[list[tuple[str | None, str]], int]:
    """The fields from *start* (one blank line allowed between rows) and the line after them."""
    fields: list[tuple[str | None, str]] = []
    index, end = start, start
    while index < len(lines) and len(fields) < _MAX_FIELDS:
        line = lines[index].strip()
        if not line:
            if not fields or index > end:  # a second blank line in a row ends the block
                break
            index += 1
            continue
        field = _field(line)
        if field is not None:
            fields.append(field)
        elif fields and fields[-1][0] in (FieldKind.TO, FieldKind.CC) and "@" in line:
            kind, value = fields[-1]  # a long recipient list wrapped onto the next line
            fields[-1] = (kind, f"{value} {line}")
        else:
            break
        index += 1
        end = index
    return fields, end


def _is_header(fields: list[tuple[str | None, str]]) -> bool:
    kinds = {kind for kind, _ in fields if kind is not None}
    known = sum(1 for kind, _ in fields if kind is not None)
    has_address = any(
        _ADDRESS.search(value) for kind, value in fields if kind != FieldKind.SUBJECT
    )
    dated = any(DATE_SHAPE.search(value) for kind, value in fields if kind == FieldKind.DATE)
    first = fields[0][0]
    if first == FieldKind.FROM and FieldKind.SUBJECT in kinds and known >= 2:
        return True  # Outlook's own block: From, Sent, To, Subject
    if first in (FieldKind.FROM, FieldKind.DATE) and known >= 2:
        if has_address and (dated or FieldKind.SUBJECT in kinds or known >= 3):
            return True
        if {FieldKind.FROM, FieldKind.TO} <= kinds and dated:
            return True  # no address and no subject: display names only, but a sent time
    # Labels in a language not listed: the shape alone, an address in <> and a date.
    return (
        len(fields) >= 3
        and _BRACKETED_ADDRESS.search(fields[0][1]) is not None
        and any(DATE_SHAPE.search(value) for _, value in fields)
    )


def header_block_at(lines: list[str], start: int) -> HeaderBlock | None:
    """The quoted header block starting at line *start*, or None when there is none there."""
    if _field(lines[start].strip()) is None:
        return None
    fields, end = _fields(lines, start)
    if len(fields) < 2 or not _is_header(fields):
        return None
    subject = next((value for kind, value in fields if kind == FieldKind.SUBJECT), None)
    return HeaderBlock(start, end, subject)
