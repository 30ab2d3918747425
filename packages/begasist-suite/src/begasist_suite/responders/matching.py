"""Finding a hotel's keywords in a guest's message, word by word, accents and case aside."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["MessageWords", "Phrase", "keyword_phrase", "phrase_within"]

Phrase = tuple[str, ...]
"""A keyword as matching sees it: its folded words, in order."""

_WORD: Final = re.compile(r"[^\W_]+")
_COMPOUND: Final = re.compile(r"[^\W_]+(?:[-\u2010\u2011'\u2019][^\W_]+)+")


def keyword_phrase(keyword: str) -> Phrase:
    """The folded words of *keyword*: ``"Check-In"`` -> ``("check", "in")``; may be empty."""
    return tuple(_WORD.findall(_fold(keyword)))


def phrase_within(inner: Phrase, outer: Phrase) -> bool:
    """Whether *inner* is *outer* or runs inside it: ``check out`` in ``late check out``."""
    return any(outer[start : start + len(inner)] == inner for start in range(len(outer)))


class MessageWords:
    """A message folded for matching: its words in order, and its hyphenated compounds.

    A phrase is found when its words stand in a row as whole words ("pet" is
    not in "petition"), a final -s or -es aside ("pet" finds "pets"), or when
    it equals a word or compound with the hyphens dropped ("wifi" finds
    "wi-fi", "check in" finds "checkin").
    """

    def __init__(self, text: str) -> None:
        folded = _fold(text)
        self.words: Phrase = tuple(_WORD.findall(folded))
        self._forms = tuple(_forms(word) for word in self.words)
        self._positions: dict[str, list[int]] = {}
        for position, forms in enumerate(self._forms):
            for form in forms:
                self._positions.setdefault(form, []).append(position)
        self._compounds = frozenset(
            form
            for compound in _COMPOUND.findall(folded)
            for form in _forms("".join(_WORD.findall(compound)))
        )

    def contains(self, phrase: Phrase) -> bool:
        if not phrase:
            return False
        joined = _forms("".join(phrase))
        if not joined.isdisjoint(self._compounds):
            return True
        if len(phrase) > 1 and any(form in self._positions for form in joined):
            return True
        rest = [_forms(word) for word in phrase[1:]]
        starts = {at for form in _forms(phrase[0]) for at in self._positions.get(form, ())}
        return any(
            start + len(phrase) <= len(self._forms)
            and all(
                not forms.isdisjoint(self._forms[start + 1 + i]) for i, forms in enumerate(rest)
            )
            for start in starts
        )


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(letter for letter in decomposed if not unicodedata.combining(letter))


def _forms(word: str) -> frozenset[str]:
    """The word and its singulars: "toallas" -> toalla, "habitaciones" -> habitacion."""
    forms = {word}
    # Stems of at least 3 and 4 letters: "bus" and "yes" stay whole, "cares" is not "car".
    if word.endswith("s") and len(word) >= 4:
        forms.add(word[:-1])
    if word.endswith("es") and len(word) >= 6:
        forms.add(word[:-2])
    return frozenset(forms)
