"""The built-in responder: answers the hotel's FAQ by keyword, in the guest's language."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Final

from begasist_core import Direction, FaqEntry, ReplyDraft, ReplyRequest, Responder

from begasist_suite.responders.language import guess_language
from begasist_suite.responders.matching import (
    MessageWords,
    Phrase,
    keyword_phrase,
    phrase_within,
)

__all__ = ["BUILTIN_FALLBACK", "FALLBACK_CONFIDENCE", "FaqResponder", "faq_reply"]

BUILTIN_FALLBACK: Final[Mapping[str, str]] = MappingProxyType(
    {
        "en": "Thanks for your message. A member of our team will answer shortly.",
        "es": "Gracias por tu mensaje. Una persona del equipo te responderá en breve.",
    }
)
"""The holding replies used when the hotel configured no ``fallback`` of its own."""

FALLBACK_CONFIDENCE: Final = 0.1
"""The confidence of a holding reply: it is polite, never an answer."""

OTHER_LANGUAGE_WEIGHT: Final = 0.8
"""A keyword listed for another language than the guest's still counts, for less."""

_HISTORY_MESSAGES: Final = 5
_FOCUS_WORDS: Final = 12


class FaqResponder(Responder):
    """Answers with the FAQ entry whose keywords best match the message.

    See :func:`faq_reply` for the rules. Never returns None: without a match
    it drafts the hotel's holding reply, or the built-in one.
    """

    name: ClassVar[str] = "faq"

    async def draft(self, request: ReplyRequest) -> ReplyDraft:
        return faq_reply(request)


def faq_reply(request: ReplyRequest) -> ReplyDraft:
    """The FAQ answer to ``request.message``, or a holding reply; pure, no I/O.

    Matching (see :class:`MessageWords`): whole words, accents and case aside.
    Keywords of every language count; those of the guest's language weigh
    more, and a phrase weighs one per word. The best-scoring entry wins, the
    earlier one on a tie. The guest's language is that of the message, else
    of their last messages, else ``default_language``; the answer is in it if
    the entry has it, else in ``default_language``, else the first one listed.
    Confidence grows with the score and falls when another entry scores close
    (unless all it matched is inside the winner's longer phrases, as "check
    out" is in "late check out") or when the message is long.

    No match, or no text (media only, no caption): the hotel's ``fallback``,
    or :data:`BUILTIN_FALLBACK` when it configured none, chosen by the same
    language rule, with :data:`FALLBACK_CONFIDENCE`.
    """
    text = _guest_text(request)
    language = _guest_language(request, text)
    message = MessageWords(text)
    matches = [_matches(entry, message, language) for entry in request.faq]
    ranked = sorted(range(len(matches)), key=lambda index: (-sum(matches[index].values()), index))
    best = sum(matches[ranked[0]].values()) if ranked else 0.0
    if best <= 0:
        fallback = request.fallback or BUILTIN_FALLBACK
        reply = _in_language(fallback, language, request.default_language)
        return ReplyDraft(text=reply, responder=FaqResponder.name, confidence=FALLBACK_CONFIDENCE)
    winner = matches[ranked[0]]
    runner_up = max(
        (
            sum(matches[index].values())
            for index in ranked[1:]
            if not all(_absorbed(phrase, winner) for phrase in matches[index])
        ),
        default=0.0,
    )
    strength = best / (best + 0.5)
    margin = (best - runner_up) / best
    # A long message likely asks more than the one question that matched.
    focus = min(1.0, math.sqrt(_FOCUS_WORDS / len(message.words)))
    confidence = round(strength * (0.5 + 0.5 * margin) * focus, 3)
    answer = _in_language(request.faq[ranked[0]].answers, language, request.default_language)
    return ReplyDraft(text=answer, responder=FaqResponder.name, confidence=confidence)


def _guest_text(request: ReplyRequest) -> str:
    # A photo's caption is what the guest wrote when the message is only media.
    captions = (a.caption for a in request.message.attachments if a.caption)
    return "\n".join([request.message.text, *captions])


def _guest_language(request: ReplyRequest, text: str) -> str:
    configured = {language for entry in request.faq for language in entry.answers}
    candidates = ("es", "en", *sorted(configured | set(request.fallback)))
    earlier = [m.text for m in request.history if m.direction is Direction.INBOUND][::-1]
    for candidate_text in [text, *earlier[:_HISTORY_MESSAGES]]:
        language = guess_language(candidate_text, candidates)
        if language is not None:
            return language
    return request.default_language


def _in_language(texts: Mapping[str, str], language: str, default_language: str) -> str:
    for preferred in (language, default_language):
        if preferred in texts:
            return texts[preferred]
    return next(iter(texts.values()))


def _absorbed(phrase: Phrase, winner: Mapping[Phrase, float]) -> bool:
    """Whether *phrase* only matched as part of a longer phrase the winner matched."""
    return any(len(phrase) < len(won) and phrase_within(phrase, won) for won in winner)


def _matches(entry: FaqEntry, message: MessageWords, language: str) -> dict[Phrase, float]:
    """The entry's keywords found in *message*, each with its weight."""
    # The same keyword listed for two languages counts once, at its best weight.
    weights: dict[Phrase, float] = {}
    for keyword_language, keywords in entry.keywords.items():
        weight = 1.0 if keyword_language == language else OTHER_LANGUAGE_WEIGHT
        for keyword in keywords:
            phrase = keyword_phrase(keyword)
            if message.contains(phrase):
                weights[phrase] = max(weights.get(phrase, 0.0), weight * len(phrase))
    return weights
