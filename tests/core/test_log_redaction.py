"""The log redaction every process installs: what it hides, what it leaves, that it is linear."""

from __future__ import annotations

import logging
import sys

import pytest
from begasist_core.log_redaction import (
    VERBOSE_LIBRARIES,
    RedactingFilter,
    configure_logging,
    redact_log_text,
)

LEAKS = [
    # uvicorn's access log of a WhatsApp handshake
    (
        '127.0.0.1:5 - "GET /webhooks/plaza/whatsapp?hub.mode=subscribe'
        '&hub.verify_token=VT-1&hub.challenge=42 HTTP/1.1" 200',
        ["VT-1", "subscribe", "42"],
    ),
    ('"GET /api/v1/x?access_token=AT-2&page=2 HTTP/1.1"', ["AT-2"]),
    # uvicorn's access log of a guest's signed media URL: the signature opens the file
    (
        '127.0.0.1:5 - "GET /guest/plaza/webchat/media/'
        + "ab" * 32
        + '?e=1765152000&s=GUESTSIG14 HTTP/1.1" 200',
        ["GUESTSIG14", "1765152000"],
    ),
    # the same URL, relative, as the suite hands it to the widget
    ('{"url": "media/' + "cd" * 32 + '?e=1765152000&s=GUESTSIG15"}', ["GUESTSIG15"]),
    # websockets' and uvicorn's handshake dumps
    ("< Cookie: begasist_session=bgs_SESSION3; theme=dark", ["bgs_SESSION3", "theme=dark"]),
    ("> Authorization: Bearer bga_TOKEN4", ["bga_TOKEN4"]),
    ("x-hub-signature-256: sha256=SIG5", ["SIG5"]),
    # reprs of ASGI header lists, dicts and JSON bodies
    ("headers=[(b'authorization', b'Bearer X6'), (b'host', b'suite')]", ["X6"]),
    ("{'Token': 'AstraCS:ASTRA7:abc', 'User-Agent': 'astrapy'}", ["ASTRA7"]),
    ('{"password": "hunter8", "email": "ana@plaza.test"}', ["hunter8"]),
    ('{"webhook_secret": "WS9"}', ["WS9"]),
    # prose and error text
    ("IMAP: LOGIN failed, password=PW10", ["PW10"]),
    ("calling the suite with bgb_BOTTOKEN11", ["bgb_BOTTOKEN11"]),
    ("listing hotels with bgf_FLEETTOKEN12", ["bgf_FLEETTOKEN12"]),
    ("Basic YW5hOnBhc3N3b3Jk failed", ["YW5hOnBhc3N3b3Jk"]),
]


@pytest.mark.parametrize(("line", "secrets"), LEAKS)
def test_credentials_are_redacted(line: str, secrets: list[str]) -> None:
    redacted = redact_log_text(line)
    assert "***" in redacted
    for secret in secrets:
        assert secret not in redacted


@pytest.mark.parametrize(
    "line",
    [
        "webhook plaza/demo: settings unavailable",
        "the session expired; log in again",
        "request 1f2e: GET /api/v1/hotels/plaza/conversations answered 503",
        "shared webhook whatsapp: no hotel's enabled settings answer to '123'",
        '127.0.0.1:5 - "GET /api/v1/hotels/plaza/conversations?cursor=abc HTTP/1.1" 200',
        '127.0.0.1:5 - "GET /api/v1/hotels/plaza/media/' + "ab" * 32 + ' HTTP/1.1" 200',
    ],
)
def test_ordinary_lines_are_left_alone(line: str) -> None:
    assert redact_log_text(line) == line


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 200_000,
        "'" + "a" * 200_000,
        "a" * 200_000 + ":",
        "x=" * 100_000,
        "/webhooks/a?" + "a=b&" * 50_000,
        "media/" * 40_000 + "0" * 64 + "?" + "e=1&" * 50_000,
        "'k': " * 50_000,
    ],
    ids=["word", "quoted", "colon", "pairs", "webhook-query", "media-query", "quoted-pairs"],
)
def test_redaction_finishes_on_long_hostile_lines(hostile: str) -> None:
    """Clients put text in log lines (paths, headers): a backtracking pattern would hang here."""
    assert len(redact_log_text(hostile)) > 0


def test_the_filter_redacts_arguments_and_tracebacks() -> None:
    try:
        raise RuntimeError("Graph API refused access_token=EAAB12")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "httpx", logging.DEBUG, __file__, 1, "sent %s", ("Bearer bga_ARG13",), exc_info
    )
    assert RedactingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "bga_ARG13" not in formatted
    assert "EAAB12" not in formatted
    assert "RuntimeError" in formatted


def test_configure_logging_redacts_root_handlers_and_quiets_libraries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    loggers = [root, *(logging.getLogger(name) for name in VERBOSE_LIBRARIES)]
    saved = [logger.level for logger in loggers]
    try:
        configure_logging("DEBUG")
        [handler] = root.handlers
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
        assert root.level == logging.DEBUG
        for name in VERBOSE_LIBRARIES:
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG)
    finally:
        for logger, level in zip(loggers, saved, strict=True):
            logger.setLevel(level)  # setLevel, not an attribute: it clears logging's caches
