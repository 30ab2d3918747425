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

__all__ = ["HeaderBlock", "HeaderScanner"]

_FIELD_LINE = re.compile(
    r"^[\s*>]*([^\W\d_](?:[^\W\d_]|[ '.\-]){0,30}?)\s*\*{0,2}\s*[:\uff1a]\s*\*{0,2}\s*(.*)$"
)
_ADDRESS = re.compile(r"[^\s<>()\[\]:;,\"]+@[^\s<>()\[\]:;,\"]+\.\w+")
_BRACKETED_ADDRESS = re.compile(r"<[^<>\s]+@[^<>\s]+>|mailto:", re.IGNORECASE)
_PREFIXED_SUBJECT = re.compile(
    r"^(?:re|aw|sv|vs|odp|antw|antwort|r|rif|rv|res|ynt|vá|válasz|odg|atb|ats|yan|απ|σχετ"
    r"|отв|ответ|回复|答复|回覆|返信|fw|fwd|tr|wg|enc|doorst|pd|i)(?:\[\d+\])?\s*[:\uff1a]\s*\S",
    re.IGNORECASE,
)
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


class _Fields:
    """The ``Label: value`` reading of each line, computed once per line (linear scans)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._cache: dict[int, tuple[str | None, str] | None] = {}

    def at(self, index: int) -> tuple[str | None, str] | None:
        if index not in self._cache:
            self._cache[index] = _field(self.lines[index].strip())
        return self._cache[index]

    def run(self, start: int) -> tuple[list[tuple[str | None, str]], int]:
        """The fields from *start* (one blank line allowed between rows) and the line after."""
        lines = self.lines
        fields: list[tuple[str | None, str]] = []
        index, end = start, start
        while index < len(lines) and len(fields) < _MAX_FIELDS:
            line = lines[index].strip()
            if not line:
                if not fields or index > end:  # a second blank line in a row ends the block
                    break
                index += 1
                continue
            field = self.at(index)
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
    dated = any(
        DATE_SHAPE.search(value)
        for kind, value in fields
        if kind in (FieldKind.SENT, FieldKind.DATE)
    )
    sender_address = any(
        "@" in value and _ADDRESS.search(value) for kind, value in fields if kind == FieldKind.FROM
    )
    any_address = sender_address or any(
        "@" in value and _ADDRESS.search(value)
        for kind, value in fields
        if kind != FieldKind.SUBJECT
    )
    first = fields[0][0]
    if first == FieldKind.FROM and FieldKind.SUBJECT in kinds and known >= 2:
        return True  # Outlook's own block: From, Sent, To, Subject
    if first in (FieldKind.FROM, FieldKind.SENT, FieldKind.DATE) and known >= 2:
        # A guest's "Date: 12/06 14:00 / From: Madrid / To: Barcelona" has no address
        # and no "Sent:": both are what only a quoted header holds.
        if sender_address and (dated or FieldKind.SUBJECT in kinds or known >= 3):
            return True
        if FieldKind.SENT in kinds and dated and (any_address or FieldKind.TO in kinds):
            return True
    # Labels in a language not listed: the shape alone, three rows or more with a date
    # and either the sender's <address> first or a subject with a reply prefix ("RE: x").
    return (
        len(fields) >= 3
        and any(DATE_SHAPE.search(value) for _, value in fields)
        and (
            _BRACKETED_ADDRESS.search(fields[0][1]) is not None
            or any(_PREFIXED_SUBJECT.match(value) for _, value in fields)
        )
    )


class HeaderScanner:
    """Finds quoted header blocks in one body's lines; each line is read once."""

    def __init__(self, lines: list[str]) -> None:
        self._fields = _Fields(lines)

    def block_at(self, start: int) -> HeaderBlock | None:
        """The quoted header block starting at line *start*, or None when there is none there."""
        first = self._fields.at(start)
        if first is None:
            return None
        kind, _ = first
        # Only a sender, a date or an unknown label (a language not listed) opens a block.
        if kind not in (FieldKind.FROM, FieldKind.SENT, FieldKind.DATE, None):
            return None
        fields, end = self._fields.run(start)
        if len(fields) < 2 or not _is_header(fields):
            return None
        subject = next((value for kind, value in fields if kind == FieldKind.SUBJECT), None)
        return HeaderBlock(start, end, subject)
