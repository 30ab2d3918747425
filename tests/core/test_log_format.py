"""The one log format: JSON lines with their context, text lines, redaction of every field."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from begasist_core.log_format import ContextFilter, LogFormat, formatter_for, log_context
from begasist_core.log_redaction import DemoteRoutineRequests, RedactingFilter


@pytest.fixture
def output() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    """A logger of its own writing to a buffer through the filters every process installs."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("begasist.test_log_format")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, buffer, handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_json_line_carries_timestamp_level_logger_message_and_context(
    output: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = output
    handler.setFormatter(formatter_for("json"))
    with log_context(hotel="plaza", request_id="req-1"), log_context(channel="email"):
        logger.info("fetched %d messages", 3)
    logger.warning("outside")
    inside, outside = lines(buffer)
    assert inside["timestamp"].endswith("Z")
    assert inside["timestamp"][:4].isdigit()
    assert "T" in inside["timestamp"]
    assert {key: inside[key] for key in ("level", "logger", "message")} == {
        "level": "INFO",
        "logger": "begasist.test_log_format",
        "message": "fetched 3 messages",
    }
    assert (inside["hotel"], inside["channel"], inside["request_id"]) == (
        "plaza",
        "email",
        "req-1",
    )
    assert outside["level"] == "WARNING"
    assert not {"hotel", "channel", "request_id"} & outside.keys()


def test_json_redacts_extra_fields_and_exceptions(
    output: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = output
    handler.setFormatter(formatter_for("json"))
    extra = {
        "password": "hunter-extra-1",
        "detail": {"api_key": "key-extra-2", "note": "Bearer bearer-extra-3"},
        "headers": ["Authorization: Basic basic-extra-4"],
        "attempts": 2,
    }
    try:
        raise RuntimeError("login failed, secret=exc-secret-5")
    except RuntimeError:
        logger.exception("token=message-secret-6", extra=extra)
    with log_context(request_id="token=context-secret-7"):
        logger.info("a proxy's request id")
    text = buffer.getvalue()
    for secret in [f"extra-{n}" for n in range(1, 5)] + ["secret-5", "secret-6", "secret-7"]:
        assert secret not in text
    failed, proxied = lines(buffer)
    assert failed["password"] == "***"
    assert failed["attempts"] == 2
    assert failed["detail"]["note"] == "Bearer ***"
    assert "RuntimeError: login failed, secret=***" in failed["exception"]
    assert proxied["request_id"] == "token=***"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_extra_context_wins_over_the_task_context(
    output: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
    log_format: LogFormat,
) -> None:
    logger, buffer, handler = output
    handler.setFormatter(formatter_for(log_format))
    with log_context(hotel="plaza"):
        logger.info("about sol", extra={"hotel": "sol"})
    assert "sol" in buffer.getvalue()
    assert "plaza" not in buffer.getvalue()


def test_a_text_line_has_the_utc_time_and_the_context(
    output: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = output
    handler.setFormatter(formatter_for("text"))
    with log_context(hotel="plaza", channel="whatsapp"):
        logger.info("connected")
    timestamp, level, name, *rest = buffer.getvalue().split(" ")
    assert timestamp.endswith("Z")
    assert (level, name) == ("INFO", "begasist.test_log_format:")
    assert " ".join(rest) == "connected [hotel=plaza channel=whatsapp]\n"


def test_routine_settings_requests_are_demoted_to_debug(
    output: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = output
    handler.setFormatter(formatter_for("json"))
    logger.addFilter(DemoteRoutineRequests())
    try:
        poll = '"GET /api/v1/hotels/plaza/bot/settings/version HTTP/1.1" 200'
        logger.info("%s", poll)
        logger.info('"GET /api/v1/hotels/plaza/conversations HTTP/1.1" 200')
        logger.setLevel(logging.INFO)
        logger.info("%s", poll)
    finally:
        for installed in list(logger.filters):
            logger.removeFilter(installed)
    assert [(line["level"], "bot/settings" in line["message"]) for line in lines(buffer)] == [
        ("DEBUG", True),
        ("INFO", False),
    ]
