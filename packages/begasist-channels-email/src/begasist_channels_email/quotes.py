"""What the guest wrote now: a mail body without its quoted history and signature.

Our own rules, not mail-parser-reply (MIT, maintained) nor email-reply-parser
(MIT, unmaintained since 2020), because on the shapes this channel sees the
library failed where it matters: its Spanish ``El ... escribió:`` pattern
never matches unquoted (a negative look-ahead excludes the very text it then
requires), it cuts a guest's ``- 2 adultos`` list as a signature, and its
``(.|\\s)*`` patterns took 30 s on 40 kB of blank lines (a mail anyone can
send). These rules are line-based and linear; the corpus tests pin them down.

The history starts at the first of: an attribution line (``On ... wrote:``,
``El ... escribió:``, also wrapped over two lines), an Outlook header block
(``From:``/``De:`` followed by ``Sent:``/``Enviado:``, ``To:``/``Para:``,
``Subject:``/``Asunto:``...), an ``-----Original Message-----`` /
``Mensaje original`` separator, a line of underscores, or a trailing block of
``>`` lines. Before it, the signature starts at ``-- ``, at a client's
``Sent from my iPhone`` / ``Enviado desde mi iPhone`` / ``Get Outlook for``
line, or at a closing (``Best regards,``, ``Un saludo,``) followed by at most
four short lines.
"""

from __future__ import annotations

import re

__all__ = ["strip_quoted"]

_ATTRIBUTION = re.compile(
    r"^(?:on|el|am|le)\b.{0,300}?\b(?:wrote|escribió|escribio|schrieb|a écrit)\s*:$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^(?:-{2,}\s*(?:original message|mensaje original|forwarded message|mensaje reenviado)"
    r"\s*-{2,}|_{20,})$",
    re.IGNORECASE,
)
_HEADER_FIELD = re.compile(
    r"^\*?(from|de|sent|enviado|enviado el|date|fecha|to|para|cc|subject|asunto)\*?:",
    re.IGNORECASE,
)
_FROM_FIELDS = frozenset({"from", "de"})
_SUBJECT_FIELDS = frozenset({"subject", "asunto"})
_CLIENT_FOOTER = re.compile(
    r"^(?:sent from my|sent from (?:mail|outlook|yahoo)|enviado desde (?:mi|correo|outlook|yahoo)"
    r"|get outlook for|obtener outlook para|descargar outlook para)\b",
    re.IGNORECASE,
)
_CLOSINGS = re.compile(
    r"^(?:best regards|kind regards|warm regards|regards|best wishes|best|cheers|thanks"
    r"|thank you|many thanks|thanks again|thanks so much|thank you so much|sincerely"
    r"|yours sincerely|yours|"
    r"saludos|un saludo|saludos cordiales|un cordial saludo|cordiales saludos|cordialmente"
    r"|atentamente|gracias|muchas gracias|mil gracias|un abrazo|besos)[\s,.!]*$",
    re.IGNORECASE,
)
_MAX_SIGNATURE_LINES = 4
_MAX_SIGNATURE_LINE = 60


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _is_header_block(lines: list[str], index: int) -> bool:
    """A ``From:``/``De:`` line followed by a subject and one more field within four lines.

    The subject is required so that a guest's own ``De: Madrid / Para: 2 personas``
    list is not taken for a quoted message.
    """
    first = _HEADER_FIELD.match(lines[index].strip())
    if first is None or first.group(1).lower() not in _FROM_FIELDS:
        return False
    fields = [_HEADER_FIELD.match(line.strip()) for line in lines[index + 1 : index + 5]]
    names = {found.group(1).lower() for found in fields if found is not None}
    return bool(names & _SUBJECT_FIELDS) and len(names) >= 2


def _trailing_quotes_start(lines: list[str]) -> int | None:
    """The first line of the trailing run of ``>`` and blank lines, if that run has a quote."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        if _is_quote(lines[index]):
            start = index
        elif lines[index].strip():
            break
    return start


def _history_start(lines: list[str]) -> int | None:
    trailing = _trailing_quotes_start(lines)
    for index, line in enumerate(lines):
        if index == trailing:
            return index
        stripped = line.strip()
        if _ATTRIBUTION.match(stripped) or _SEPARATOR.match(stripped):
            return index
        if index + 1 < len(lines) and _ATTRIBUTION.match(f"{stripped} {lines[index + 1].strip()}"):
            return index
        if _is_header_block(lines, index):
            return index
    return None


def _signature_start(lines: list[str]) -> int | None:
    # A closing is only a signature near the end: look at the last few lines only.
    filled = [index for index, line in enumerate(lines) if line.strip()]
    near_end = set(filled[-(_MAX_SIGNATURE_LINES + 1) :])
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped in ("--", "-- ") or _CLIENT_FOOTER.match(stripped):
            return index
        if index > 0 and index in near_end and _CLOSINGS.match(stripped):
            tail = [rest.strip() for rest in lines[index + 1 :] if rest.strip()]
            # A question after the closing is the guest still writing, not a signature.
            if all(len(rest) <= _MAX_SIGNATURE_LINE and "?" not in rest for rest in tail):
                return index
    return None


def strip_quoted(text: str) -> str:
    """Return ``text`` without its quoted history and signature, stripped of outer blank lines.

    A bottom-posted reply (history first, the answer below it) keeps the
    unquoted lines written after the history. The result is never emptied by
    the signature rule alone: a mail that is only ``Gracias,\\nMaría`` keeps it.
    Linear in the length of ``text``; never raises.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _history_start(lines)
    if start is not None:
        before = lines[:start]
        if not "".join(before).strip():
            before = [line for line in lines[start + 1 :] if not _is_quote(line)]
            nested = _history_start(before)
            before = before[:nested] if nested is not None else before
        lines = before
    signature = _signature_start(lines)
    if signature is not None and "".join(lines[:signature]).strip():
        lines = lines[:signature]
    return "\n".join(line.rstrip() for line in lines).strip()
