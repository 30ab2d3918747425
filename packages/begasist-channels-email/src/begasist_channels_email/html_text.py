"""HTML mail bodies to readable plain text, with the stdlib's ``html.parser`` only.

Why our own: html2text is GPL-3 (this package is Apache-2.0), and inscriptis /
html-text pull in lxml for what a mail body needs: paragraphs, line breaks,
lists, links, quotes. Block quotes come out as ``> `` lines so that
:mod:`begasist_channels_email.quotes` strips them like plain-text quotes, and
with ``mark_history`` the containers mail clients put quoted history in
(whatever the language of the words inside) get a :data:`HISTORY_MARK` line.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["HISTORY_MARK", "html_to_text", "without_history_marks"]

_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "xml"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figure",
        "footer", "form", "header", "hr", "li", "main", "nav", "ol", "section", "table",
        "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
_PARAGRAPHS = frozenset({"p", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})
_SPACES = re.compile(r"[ \t\r\n\f\v\xa0\u200b]+")
_BLANK_RUNS = re.compile(r"\n{3,}")

HISTORY_MARK = "\ue000"
"""A line of its own where a quote container opens (a private-use character: never text)."""

# Where clients put the history: Gmail, Yahoo, Thunderbird, Proton, Zoho, Android mail,
# Outlook on the web / Hotmail (divRplyFwdMsg, appendonsend), Outlook for Mac, QQ mail.
_HISTORY_CLASSES = frozenset(
    {
        "gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix",
        "protonmail_quote", "zmail_extra", "outlookmessageheader", "mail_android_quote",
        "ms-outlook-mobile-reference-message", "x_divrplyfwdmsg", "replyheader",
    }
)  # fmt: skip
_HISTORY_IDS = frozenset(
    {
        "divrplyfwdmsg", "x_divrplyfwdmsg", "appendonsend", "x_appendonsend", "stopspelling",
        "olk_src_body_section", "mail-editor-reference-message-container", "isforwardcontent",
        "reply-intro", "origbody",
    }
)  # fmt: skip
# Outlook desktop and Windows Mail: the header rows sit in a div with a top border.
_BORDER_TOP = re.compile(r"border-top\s*:\s*solid", re.IGNORECASE)


def _opens_history(tag: str, attrs: dict[str, str | None]) -> bool:
    classes = {name.lower() for name in (attrs.get("class") or "").split()}
    if classes & _HISTORY_CLASSES or (attrs.get("id") or "").lower() in _HISTORY_IDS:
        return True
    if tag == "blockquote" and (attrs.get("type") or "").lower() == "cite":
        return True
    return tag in ("div", "p") and _BORDER_TOP.search(attrs.get("style") or "") is not None


def without_history_marks(text: str) -> str:
    """*text* without the :data:`HISTORY_MARK` lines :func:`html_to_text` may have put in."""
    if HISTORY_MARK not in text:
        return text
    kept = [line for line in text.split("\n") if line.lstrip("> ").strip() != HISTORY_MARK]
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()


class _TextBuilder(HTMLParser):
    """Collects lines of text, each with the block-quote depth it was written at."""

    def __init__(self, mark_history: bool) -> None:
        super().__init__(convert_charrefs=True)
        self._mark_history = mark_history
        self.lines: list[tuple[int, str]] = []
        self._line: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._quote_depth = 0
        self._lists: list[int] = []  # per open list: 0 for <ul>, the next number for <ol>
        self._link: tuple[str, int] | None = None  # href, index in _line where its text starts

    def _break(self, blank: bool = False) -> None:
        text = "".join(self._line)
        text = text.rstrip() if self._pre_depth else _SPACES.sub(" ", text).strip()
        if text:
            self.lines.append((self._quote_depth, text))
        if blank and (text or (self.lines and self.lines[-1][1])):
            self.lines.append((self._quote_depth, ""))
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._mark_history and not self._skip_depth and _opens_history(tag, dict(attrs)):
            self._break()
            self.lines.append((self._quote_depth, HISTORY_MARK))
        if tag in _SKIPPED:
            self._skip_depth += 1
        elif tag == "br":
            # An empty line's <br> (``<div><br></div>``) is how mail editors write a blank line.
            self._break(blank=not "".join(self._line).strip())
        elif tag in _PARAGRAPHS:
            self._break(blank=True)
            self._pre_depth += tag == "pre"
        elif tag == "blockquote":
            self._break(blank=True)
            self._quote_depth += 1
        elif tag in ("ul", "ol"):
            self._break()
            self._lists.append(1 if tag == "ol" else 0)
        elif tag == "li":
            self._break()
            number = self._lists[-1] if self._lists else 0
            self._line.append(f"{number}. " if number else "- ")
            if number:
                self._lists[-1] += 1
        elif tag in _BLOCKS:
            self._break()
        elif tag in ("td", "th"):
            self._line.append(" ")
        elif tag == "a":
            self._link = (dict(attrs).get("href") or "", len(self._line))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _PARAGRAPHS:
            self._break(blank=True)
            self._pre_depth = max(0, self._pre_depth - (tag == "pre"))
        elif tag == "blockquote":
            self._break(blank=True)
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag in ("ul", "ol"):
            self._break()
            if self._lists:
                self._lists.pop()
        elif tag in _BLOCKS:
            self._break()
        elif tag == "a" and self._link is not None:
            href, start = self._link
            self._link = None
            label = "".join(self._line[start:]).strip()
            if href.startswith(("http://", "https://")) and label and label != href:
                self._line.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        data = data.replace(HISTORY_MARK, "")
        if self._skip_depth:
            return
        if self._pre_depth:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._line.append(first)
            for line in rest:
                self._break()
                self._line.append(line)
            return
        self._line.append(_SPACES.sub(" ", data))


def html_to_text(html: str, *, mark_history: bool = False) -> str:
    """Return the readable text of an HTML mail body.

    Paragraphs and headings are separated by a blank line, ``<br>`` and other
    blocks start a new line, list items start with ``- `` or ``1. ``, a link
    whose text is not its address is followed by ``(address)``, text inside
    ``<blockquote>`` gets one ``> `` per level, and scripts, styles and the head
    are dropped. Entities are unescaped. With ``mark_history``, a
    :data:`HISTORY_MARK` line stands where a quote container opens. Never
    raises for any string.
    """
    builder = _TextBuilder(mark_history)
    builder.feed(html)
    builder.close()
    builder._break()
    out = [("> " * depth + text).rstrip() for depth, text in builder.lines]
    while out and not out[-1].strip("> "):
        out.pop()
    return _BLANK_RUNS.sub("\n\n", "\n".join(out)).strip()
