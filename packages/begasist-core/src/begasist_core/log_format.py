"""One log line format for the suite, channelbot and the demo: text or JSON, with context.

The context (``hotel``, ``channel``, ``request_id``) lives in a context variable
that the suite's request-id middleware and the bot's per-hotel and per-channel
tasks set (:func:`log_context`); :class:`ContextFilter` stamps it on each record
unless the call passed its own in ``extra``. Records reach the formatters
already redacted (:mod:`begasist_core.log_redaction`), extras included.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, Literal

__all__ = [
    "CONTEXT_FIELDS",
    "ContextFilter",
    "JsonFormatter",
    "LogFormat",
    "TextFormatter",
    "extra_fields",
    "formatter_for",
    "log_context",
]

LogFormat = Literal["text", "json"]
"""``BEGASIST_LOG_FORMAT``: one line of text, or one JSON object, per record."""

CONTEXT_FIELDS: Final = ("hotel", "channel", "request_id")

_STANDARD_ATTRIBUTES: Final = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", None, None).__dict__,
        "message",
        "asctime",
        "taskName",
        "color_message",  # uvicorn's copy of the message with terminal colours
    }
)

_context: ContextVar[Mapping[str, str] | None] = ContextVar("begasist_log_context", default=None)


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add *fields* (``hotel``, ``channel``, ``request_id``) to this task's log lines.

    Tasks started inside inherit them; the previous context is back on exit.
    """
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's attributes beyond the standard ones: ``extra`` and the context."""
    return {
        name: value
        for name, value in record.__dict__.items()
        if name not in _STANDARD_ATTRIBUTES and not name.startswith("_")
    }


class ContextFilter(logging.Filter):
    """Stamps the current :func:`log_context` fields on a record (``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if name not in record.__dict__:
                setattr(record, name, value)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``<UTC ISO 8601> LEVEL logger: message [hotel=... channel=... request_id=...]``."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        context = " ".join(
            f"{name}={record.__dict__[name]}" for name in CONTEXT_FIELDS if name in record.__dict__
        )
        if context:
            line = f"{line} [{context}]"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC), level, logger, message, context, extras.

    ``exception`` and ``stack`` hold the traceback and stack text when there is one.
    """

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in extra_fields(record).items():
            document.setdefault(name, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            document["exception"] = record.exc_text
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, default=str, ensure_ascii=False)


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    """The formatter of *log_format*."""
    return JsonFormatter() if log_format == "json" else TextFormatter()
