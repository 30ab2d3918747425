"""What a hotel's bot raises about the work it takes, and how it words a failure."""

from __future__ import annotations

from typing import Final

from begasist_core.bus.consumer import RejectedEvent
from begasist_core.events.payloads import ChannelState
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.redaction import redact

__all__ = [
    "OFF_STATES",
    "ChannelCallFailed",
    "ChannelOff",
    "UnexpectedEvent",
    "UnreadableWebhook",
    "first_error",
    "summary",
]


class UnexpectedEvent(RejectedEvent):
    """An event that does not belong on the stream it came from (dead-lettered at once)."""

    reason = "unexpected"


class UnreadableWebhook(RejectedEvent):
    """The channel could not parse a webhook: retrying would fail the same way."""

    reason = "unparseable"


class ChannelOff(LookupError):
    """The hotel has no such channel, or it is disabled or misconfigured."""


OFF_STATES: Final = frozenset({ChannelState.DISABLED, ChannelState.MISCONFIGURED})


class ChannelCallFailed(RuntimeError):
    """A channel's send, parse or command raised; the message has secrets redacted."""


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf of a (nested) exception group: what actually went wrong."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def summary(error: BaseException, settings: ChannelSettings | None = None) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if settings is None else redact(text, settings)
