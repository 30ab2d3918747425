"""Languages of the staff web app: Babel catalogs, the person's language, dates and times.

The catalogs are the ``.po`` files under ``locales/`` (the source strings are
English), read and compiled in memory once per process: no binary ``.mo`` in the
repository. A page is in the language of the ``begasist_lang`` cookie, else the
best of ``Accept-Language``, else English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.core import Locale, negotiate_locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_COOKIE",
    "N_",
    "Language",
    "choose_language",
    "language",
]

LOCALES_DIR: Final = Path(__file__).parent / "locales"
LANGUAGES: Final = ("en", "es")
"""The languages the app speaks, each with a catalog under ``locales/``."""
DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_COOKIE: Final = "begasist_lang"


@dataclass(frozen=True)
class Language:
    """One language's catalog and its formatting of dates, times and durations."""

    code: str
    translations: Translations

    @property
    def locale(self) -> Locale:
        # Babel re-parses a locale given by name on every call (about 100 µs of a
        # date's 125 µs): a thread of 200 messages formats hundreds of them.
        return _locale(self.code)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations.ngettext(singular, plural, count)

    def date_time(self, moment: datetime, zone: tzinfo) -> str:
        """A short date and time, in *zone*, as this language writes it."""
        return format_datetime(moment, "short", tzinfo=zone, locale=self.locale)

    def day(self, day: date) -> str:
        """A calendar date (a check-in, say) as this language writes it: "Dec 20, 2026"."""
        return format_date(day, "medium", locale=self.locale)

    def file_size(self, size_bytes: int) -> str:
        """ "2.5 MB", "900 B", as this language writes numbers."""
        size = float(size_bytes)
        for unit in ("B", "kB", "MB"):
            if size < 1000:
                return f"{format_decimal(round(size, 1), locale=self.locale)} {unit}"
            size /= 1000
        return f"{format_decimal(round(size, 1), locale=self.locale)} GB"

    def time_since(self, moment: datetime, now: datetime) -> str:
        """How long ago, in words and with the direction: "3 hours ago", "hace 3 horas"."""
        return format_timedelta(
            moment - now, granularity="minute", add_direction=True, locale=self.locale
        )

    def ago(self, moment: datetime, now: datetime) -> str:
        """How long ago, shortly: "3 min", "2 h", "5 days"; "now" under a minute."""
        elapsed = now - moment
        if elapsed.total_seconds() < 60:
            return self.gettext("now")
        return format_timedelta(elapsed, granularity="minute", format="short", locale=self.locale)


@cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def N_(message: str) -> str:
    """Marks *message* for the catalogs where it is written; translated where it is shown."""
    return message


@cache
def language(code: str) -> Language:
    """The catalog of *code* (one of :data:`LANGUAGES`), compiled from its ``.po`` once."""
    if code not in LANGUAGES:
        raise ValueError(f"no catalog for {code!r}")
    with (LOCALES_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=code)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Language(code, Translations(compiled))


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if we have it, else the best match of ``Accept-Language``."""
    if cookie in LANGUAGES:
        return cookie
    preferred = [tag for tag, _ in _ranked(accept_language or "")]
    found = negotiate_locale(preferred, list(LANGUAGES), sep="-")
    return found.split("-")[0] if found else DEFAULT_LANGUAGE


def _ranked(header: str) -> list[tuple[str, float]]:
    """``Accept-Language`` entries by quality, best first; malformed ones are skipped."""
    entries: list[tuple[str, float]] = []
    for part in header.split(",")[:32]:
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            entries.append((tag.strip(), quality))
    return sorted(entries, key=lambda entry: -entry[1])
