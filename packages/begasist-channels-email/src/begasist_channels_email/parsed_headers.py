"""A message's headers read one by one, tolerating bytes and syntax the RFCs forbid."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.utils import parseaddr

__all__ = ["HeaderReader", "message_ids"]

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


class HeaderReader:
    """Reads one message's headers field by field, collecting problems instead of raising.

    Only the headers that need it (Subject, the addresses, Date) go through
    ``policy.default``'s header parsers, which cost tens of microseconds each;
    ids, tokens and list headers are read raw.
    """

    def __init__(self, message: Message) -> None:
        self.message = message
        self.problems: list[str] = []
        self._raw: dict[str, str] = {}
        for name, value in message.raw_items():
            self._raw.setdefault(name.lower(), str(value))

    def raw(self, name: str) -> str | None:
        """The header unfolded, 8-bit bytes read as UTF-8 (RFC 6532), else windows-1252."""
        value = self._raw.get(name.lower())
        if value is None:
            return None
        value = "".join(value.splitlines()).strip()
        if any("\udc80" <= char <= "\udcff" for char in value):
            data = value.encode("ascii", "surrogateescape")
            try:
                value = data.decode("utf-8")
            except UnicodeDecodeError:
                self.problems.append(f"header {name} has bytes that are not UTF-8")
                value = data.decode("windows-1252", "replace")
        return value

    def _field(self, name: str) -> object | None:
        value = self.raw(name)
        if value is None:
            return None
        parsed: object = policy.default.header_factory(name, value)
        return parsed

    def decoded(self, name: str) -> str | None:
        """The header with RFC 2047 encoded words decoded."""
        try:
            value = self._field(name)
            return None if value is None else str(value)
        except Exception as exc:
            self.problems.append(f"header {name} unreadable: {exc!r}")
            return self.raw(name)

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(display name, lower-case addr-spec) pairs of an address header."""
        try:
            value = self._field(name)
            found = [(a.display_name, a.addr_spec.lower()) for a in getattr(value, "addresses", ())]
            return [(display, spec) for display, spec in found if "@" in spec]
        except Exception:
            display, spec = parseaddr(self.raw(name) or "")
            return [(display, spec.lower())] if "@" in spec else []

    def date(self) -> datetime | None:
        try:
            when = getattr(self._field("Date"), "datetime", None)
        except Exception as exc:
            self.problems.append(f"header Date unreadable: {exc!r}")
            return None
        if not isinstance(when, datetime):
            return None
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def message_ids(value: str | None) -> tuple[str, ...]:
    """The ids of a Message-ID / In-Reply-To / References value, without ``<>``.

    A value with no ``<...>`` at all (some old clients) is split on whitespace.
    """
    if not value:
        return ()
    found = _MESSAGE_ID.findall(value)
    return tuple(found) if found else tuple(value.split())
