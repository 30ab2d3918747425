"""Channex's refusals as the reasons staff read on a failed message, and what is retried.

The runtime reads only the class: a :class:`PermanentSendError` marks the
message failed at once; anything else is redelivered later, then dead-lettered.
"""

from __future__ import annotations

from begasist_core import ChannelError, PermanentSendError

from begasist_channels_channex.api import ChannexApiError

__all__ = ["ChannexRefused", "ChannexUnavailable", "ThreadClosed", "is_transient", "refusal"]


class ChannexRefused(PermanentSendError):
    """Channex refused the message and sending it again cannot help."""


class ThreadClosed(ChannexRefused):
    """The booking's message thread is closed in Channex: it takes no replies."""

    REASON = (
        "the guest's message thread is closed in Channex and takes no replies: "
        "reopen it in Channex or reach the guest another way"
    )


class ChannexUnavailable(ChannelError):
    """Channex stayed throttled or unreachable for every attempt (redelivered later)."""


def is_transient(error: ChannexApiError) -> bool:
    """No answer, throttling (429) or Channex's own trouble (5xx): worth another try."""
    return error.status == 0 or error.status == 429 or error.status >= 500


_REASONS = {
    401: "Channex refused the API key (401 unauthorized): check the channel's API key, "
    "and that its user may reach this property",
    403: "the property has no Channex Messages app (403 forbidden): install it in "
    "Channex's applications",
    404: "Channex knows no such booking (404 not found)",
}


def refusal(error: ChannexApiError) -> ChannexRefused:
    """The failed-message reason for a refusal that is not transient."""
    if error.status == 422 and error.code is not None and "closed" in error.code:
        # UNCONFIRMED: Channex documents no answer for a closed thread; the channel
        # checks the thread before posting, this covers one closed in between.
        return ThreadClosed(f"{ThreadClosed.REASON} ({error.describe()})")
    if error.status == 422 and error.code == "not_supported":
        return ChannexRefused(
            "the booking's OTA does not take messages through Channex (422 not_supported)"
        )
    reason = _REASONS.get(error.status)
    if reason is None:
        return ChannexRefused(error.describe())
    return ChannexRefused(reason)
