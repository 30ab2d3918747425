"""The assistant's forms read back: a FAQ entry per language, the fallback texts, the languages.

Validation is the API's: the entries and texts go through ``HotelChanges``
(core's ``FaqEntry``) exactly as a ``PATCH /api/v1/hotels/{hotel}`` body does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from begasist_core import FaqEntry
from litestar.datastructures import FormMultiDict
from pydantic import ValidationError

from begasist_suite.api.hotels import HotelChanges
from begasist_suite.store.records import Hotel

__all__ = [
    "LANGUAGE_CODE",
    "EntryForm",
    "entry_form",
    "entry_forms",
    "fallback_from_form",
    "hotel_languages",
    "validated_changes",
]

LANGUAGE_CODE: Final = re.compile(r"^[a-z]{2,3}$")
_KEYWORD_SEPARATORS: Final = re.compile(r"[,\n]")


@dataclass(frozen=True)
class EntryForm:
    """One FAQ entry as its form shows it: the intent, keywords and answer per language."""

    intent: str
    original: str
    """The intent it had when the form was opened ("" for a new entry)."""
    keywords: dict[str, str] = field(default_factory=dict)
    """Language -> keywords as typed (comma separated)."""
    answers: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    """``intent``, ``keywords.<lang>``, ``answer.<lang>``, or ``""`` -> messages."""

    def entry(self) -> dict[str, Any]:
        """The ``FaqEntry`` fields of the form (blank languages left out)."""
        keywords = {}
        for code, typed in self.keywords.items():
            words = [word.strip() for word in _KEYWORD_SEPARATORS.split(typed) if word.strip()]
            if words:
                keywords[code] = words
        answers = {code: text.strip() for code, text in self.answers.items() if text.strip()}
        return {"intent": self.intent, "keywords": keywords, "answers": answers}


def hotel_languages(hotel: Hotel, wanted: Iterable[str] = ()) -> list[str]:
    """The languages the assistant pages show: the default, those in use, and *wanted*."""
    used = {hotel.default_language, *hotel.fallback}
    for entry in hotel.faq:
        used |= set(entry.keywords) | set(entry.answers)
    used |= {code for code in wanted if LANGUAGE_CODE.match(code)}
    return sorted(used)


def entry_forms(faq: Iterable[FaqEntry]) -> list[EntryForm]:
    """The stored entries as their forms show them."""
    return [
        EntryForm(
            intent=entry.intent,
            original=entry.intent,
            keywords={code: ", ".join(words) for code, words in entry.keywords.items()},
            answers=dict(entry.answers),
        )
        for entry in faq
    ]


def entry_form(form: FormMultiDict) -> EntryForm:
    """The posted entry form, as typed."""
    keywords: dict[str, str] = {}
    answers: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        prefix, _, code = key.partition(".")
        if not LANGUAGE_CODE.match(code):
            continue
        if prefix == "keywords":
            keywords[code] = value[:4000]
        elif prefix == "answer":
            answers[code] = value[:65536]
    return EntryForm(
        intent=_text(form.get("intent"), 64).strip(),
        original=_text(form.get("original"), 64),
        keywords=keywords,
        answers=answers,
    )


def fallback_from_form(form: FormMultiDict) -> dict[str, str]:
    """``fallback.<lang>`` fields: language -> text, blank ones left out."""
    texts = {}
    for key, value in form.multi_items():
        prefix, _, code = key.partition(".")
        wanted = prefix == "fallback" and LANGUAGE_CODE.match(code)
        if wanted and isinstance(value, str) and value.strip():
            texts[code] = value.strip()[:4096]
    return texts


def validated_changes(
    changes: Mapping[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """*changes* as the API's ``HotelChanges`` validates them: (the changes, no errors) or
    (nothing, the field errors with their locations)."""
    try:
        valid = HotelChanges.model_validate(changes)
    except ValidationError as error:
        details = error.errors(include_input=False, include_url=False)
        return {}, [{"loc": list(d["loc"]), "msg": d["msg"], "type": d["type"]} for d in details]
    return valid.model_dump(exclude_unset=True, exclude_none=True), []


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""
