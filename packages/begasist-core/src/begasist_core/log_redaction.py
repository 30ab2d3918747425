"""Keeping credentials out of every log line, whoever writes it (ours, uvicorn, libraries).

:func:`configure_logging` is the one log set-up of the suite and of channelbot:
it puts a :class:`RedactingFilter` on the root handlers, so every record that
reaches them (uvicorn's access and error logs, websockets, httpx, plugins) is
redacted before it is written, and it keeps the libraries that dump raw
protocol traffic at DEBUG (headers, IMAP commands, request payloads) at INFO
even when the process runs at DEBUG.

What is redacted (each rule is a regular expression that is linear in the
line's length, since a client controls part of what is logged):

- every query value on a ``/webhooks/...`` path (providers put handshake
  tokens there, e.g. WhatsApp's ``hub.verify_token``) and on a stored file's
  ``media/<key>?...`` URL (a guest's signed media URL: whoever reads the
  signature opens the file until it expires);
- ``name=value`` pairs (query strings, cookies, prose) and quoted
  ``'name': 'value'`` / ``(b'name', b'value')`` pairs (reprs of dicts, JSON,
  ASGI header lists) whose name looks like a credential: token, secret,
  password, signature, cookie, session, CSRF, API key, authorization;
- ``Name: value`` header lines with such a name (websockets' and uvicorn's
  handshake dumps);
- ``Bearer``/``Basic`` credentials, and secrets recognisable by their prefix
  (the suite's ``bgs_``/``bga_``/``bgb_``/``bgf_`` tokens, Astra's ``AstraCS:``).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, Final

from begasist_core.log_format import ContextFilter, LogFormat, extra_fields, formatter_for

__all__ = [
    "REDACTED",
    "ROUTINE_REQUESTS",
    "VERBOSE_LIBRARIES",
    "DemoteRoutineRequests",
    "RedactingFilter",
    "configure_logging",
    "install_redaction",
    "redact_log_text",
]

REDACTED: Final = "***"

VERBOSE_LIBRARIES: Final = (
    "websockets",  # handshake headers (Cookie, Authorization) at DEBUG
    "httpx",
    "httpcore",
    "hpack",  # HTTP/2 header frames at DEBUG
    "h2",
    "aioimaplib",  # IMAP commands, LOGIN included, at DEBUG
    "aiosmtplib",  # SMTP dialogue, AUTH included, at DEBUG
    "astrapy",  # request payloads and headers at DEBUG
)
"""Loggers kept at INFO or above whatever the process's level."""

_SENSITIVE_WORDS = re.compile(
    r"token|secret|passw|pwd|signature|cookie|csrf|credential|authori[sz]ation|session"
    r"|api[-_]?key|private[-_]?key|access[-_]?key",
    re.IGNORECASE,
)
_SENSITIVE_NAMES: Final = frozenset({"key", "sig", "auth", "pass", "otp"})

# Each pattern starts at a boundary its lookbehind or first character enforces, so a
# failed attempt inside a long run of name characters costs O(1): linear overall.
_WEBHOOK_QUERY = re.compile(r"(/webhooks/[^\s?\"'#]*\?)([^\s\"'#]*)")
_MEDIA_QUERY = re.compile(r"(?<![\w-])(media/[0-9a-f]{64}\?)([^\s\"'#]*)")
_PAIR = re.compile(r"(?<![\w.\[\]-])([\w.\[\]-]+)=([^&\s\"',;#<>)\]]*)")
_QUOTED_PAIR = re.compile(r"""(['"])([\w.-]+)\1(\s*[:,]\s*b?)(['"])([^'"\r\n]*)\4""")
_HEADER_LINE = re.compile(r"(?<![\w-])([\w-]+)(:[ \t]*)([^\r\n]+)")
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=:-]+", re.IGNORECASE)
_PREFIXED_SECRET = re.compile(r"\b(bg[sabf]_|AstraCS:)[A-Za-z0-9_:,.-]+")


def _is_sensitive(name: str) -> bool:
    return name.casefold() in _SENSITIVE_NAMES or _SENSITIVE_WORDS.search(name) is not None


def _redact_any_value(match: re.Match[str]) -> str:
    return f"{match[1]}={REDACTED}"


def _redact_query(match: re.Match[str]) -> str:
    return match[1] + _PAIR.sub(_redact_any_value, match[2])


def _redact_pair(match: re.Match[str]) -> str:
    return f"{match[1]}={REDACTED}" if _is_sensitive(match[1]) else match[0]


def _redact_quoted_pair(match: re.Match[str]) -> str:
    quote, name, separator, value_quote = match[1], match[2], match[3], match[4]
    if not _is_sensitive(name):
        return match[0]
    return f"{quote}{name}{quote}{separator}{value_quote}{REDACTED}{value_quote}"


def _redact_header_line(match: re.Match[str]) -> str:
    return f"{match[1]}{match[2]}{REDACTED}" if _is_sensitive(match[1]) else match[0]


def _redact_value(name: str, value: Any) -> Any:
    if _is_sensitive(name):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): _redact_value(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value("", item) for item in value]
    return redact_log_text(value if isinstance(value, str) else str(value))


def redact_log_text(text: str) -> str:
    """*text* with every credential the module docstring lists replaced by ``***``."""
    text = _WEBHOOK_QUERY.sub(_redact_query, text)
    text = _MEDIA_QUERY.sub(_redact_query, text)
    text = _PAIR.sub(_redact_pair, text)
    text = _QUOTED_PAIR.sub(_redact_quoted_pair, text)
    text = _HEADER_LINE.sub(_redact_header_line, text)
    text = _AUTH_SCHEME.sub(lambda match: f"{match[1]}{match[2]}{REDACTED}", text)
    return _PREFIXED_SECRET.sub(lambda match: f"{match[1]}{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts a record's message, extras, traceback and stack in place.

    The message is formatted here (``msg % args``) and stored back without
    args, so what the handler's formatter writes is the redacted text. Every
    extra field (``extra=``, the log context) is redacted too: text as a
    message is, a credential-named field (``password=...``) whole, and
    containers item by item; JSON lines write them as they are left.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: its arguments may hold anything
            message = f"unformattable log message from {record.pathname}:{record.lineno}"
        record.msg = redact_log_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_log_text(record.stack_info)
        for name, value in extra_fields(record).items():
            setattr(record, name, _redact_value(name, value))
        return True


ROUTINE_REQUESTS: Final = re.compile(r"/api/v1/hotels/[^/\s]+/bot/settings(?:/version)?\b")
"""The bot's settings fetches and version checks: every few seconds per hotel."""


class DemoteRoutineRequests(logging.Filter):
    """A logger filter that writes the lines about routine requests at DEBUG, not INFO.

    On uvicorn's access log (the suite answering) and httpx's (the bot asking):
    a line every version check per hotel would drown what matters.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not ROUTINE_REQUESTS.search(_raw_text(record)):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _raw_text(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # the handler's filter reports it
        return ""


def install_redaction() -> None:
    """Put the context and redacting filters on every handler of the root logger (once each).

    The context first, so what it stamps (a proxy's request id) is redacted too.
    """
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(ContextFilter())
            handler.addFilter(RedactingFilter())


def configure_logging(level: str | int, log_format: LogFormat = "text") -> None:
    """Log to stderr at *level* in *log_format*, redacted, with :data:`VERBOSE_LIBRARIES`
    at INFO or above and routine requests at DEBUG (:class:`DemoteRoutineRequests`).

    Like :func:`logging.basicConfig`, nothing is added when the root logger has
    handlers already (a test runner's); they get the filters all the same.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter_for(log_format))
        root.addHandler(handler)
        root.setLevel(numeric)
    install_redaction()
    for name in VERBOSE_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.INFO, numeric))
    for name in ("uvicorn.access", "httpx"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, DemoteRoutineRequests) for existing in logger.filters):
            logger.addFilter(DemoteRoutineRequests())
