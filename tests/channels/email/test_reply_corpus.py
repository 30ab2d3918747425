"""The reply corpus: per client and language, what staff see of each mail (``<name>.txt``).

Every ``corpus/<client>-<lang>-<n>.eml`` with a ``.txt`` beside it is parsed and
its shown text (the guest's words, then any forwarded mail) compared with the
file. The shapes are listed in the package README.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from begasist_channels_email.parsing import parse_email

CORPUS = Path(__file__).parent / "corpus"
REPLIES = sorted(path for path in CORPUS.glob("*.eml") if path.with_suffix(".txt").exists())
REQUIRED_LANGUAGES = {
    "es", "en", "pt", "fr", "de", "it", "nl", "ca", "ru", "pl", "sv", "da", "no", "zh",
}  # fmt: skip


def _client_and_language(path: Path) -> tuple[str, str]:
    client, language, _ = path.stem.rsplit("-", 2)
    return client, language


@pytest.mark.parametrize("path", REPLIES, ids=[path.stem for path in REPLIES])
def test_staff_see_only_what_the_guest_wrote_and_forwarded(path: Path) -> None:
    expected = path.with_suffix(".txt").read_text(encoding="utf-8").removesuffix("\n")
    parsed = parse_email(path.read_bytes(), max_bytes=10 * 1024 * 1024)
    assert parsed.parse_error is None
    assert parsed.shown_text == expected


def test_the_corpus_covers_every_language_asked_for_in_each_family_of_clients() -> None:
    languages: dict[str, set[str]] = {}
    for path in REPLIES:
        client, language = _client_and_language(path)
        languages.setdefault(client.split("-")[0], set()).add(language)
    assert languages["gmail"] >= REQUIRED_LANGUAGES  # attribution lines
    assert languages["outlook"] | {"en"} >= REQUIRED_LANGUAGES  # header blocks
    separators = languages["outlook"] | languages["samsung"] | languages["qqmail"]
    assert separators >= REQUIRED_LANGUAGES  # "Original message" separators
    assert len(REPLIES) >= 90
