"""The message catalogs: every text of the pages is in them, and Spanish translates all."""

from __future__ import annotations

import re
from pathlib import Path

import begasist_suite.web
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from begasist_suite.web.i18n import LANGUAGES, LOCALES_DIR, language

WEB = Path(begasist_suite.web.__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def source_messages() -> set[str]:
    """What ``pybabel extract -F locales/babel.cfg`` finds: the msgids of our code and pages."""
    found = set()
    for _, _, message, _, _ in extract_from_dir(WEB, METHODS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(code: str) -> dict[str, str]:
    with (LOCALES_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id and not m.fuzzy}


def test_every_language_has_every_message_and_no_stale_one() -> None:
    wanted = source_messages()
    assert len(wanted) > 50
    for code in LANGUAGES:
        assert set(catalog(code)) == wanted, code


def test_spanish_translates_every_message_keeping_its_placeholders() -> None:
    for msgid, msgstr in catalog("es").items():
        assert msgstr, msgid
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_a_page_text_in_each_language() -> None:
    assert language("es").gettext("Sign in") == "Iniciar sesión"
    assert language("en").gettext("Sign in") == "Sign in"
