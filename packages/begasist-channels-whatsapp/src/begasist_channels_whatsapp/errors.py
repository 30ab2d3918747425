"""The WhatsApp channel's send errors, and which Meta error codes are worth a retry.

The runtime reads only the class: a :class:`PermanentSendError` is reported
failed at once; anything else is retried later, then dead-lettered. The text
is what staff read on the failed message, so it names Meta's code and title
and never a secret.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from begasist_core import ChannelError, PermanentSendError

__all__ = [
    "CREDENTIAL_CODES",
    "REPLY_WINDOW_CODES",
    "RETRYABLE_CODES",
    "MetaRejected",
    "Retry",
    "SendRetriesExhausted",
    "UnsendableMessage",
    "retry_kind",
]

RETRYABLE_CODES: Final = frozenset(
    {
        1,  # API Unknown: "possibly a server error"
        2,  # API Service: temporary downtime
        4,  # Too many API calls (the app's call rate)
        80007,  # the WhatsApp Business Account's rate limit
        130429,  # the number's message throughput
        131000,  # Something went wrong
        131016,  # Service unavailable
        131056,  # (business, consumer) pair rate limit
        131057,  # Account in maintenance mode
        133004,  # Server temporarily unavailable
    }
)
"""Meta codes that mean "later", whatever the HTTP status (Meta answers 400 for throttling)."""

PAIR_RATE_CODE: Final = 131056

REPLY_WINDOW_CODES: Final = frozenset(
    {
        131047,  # Re-engagement message: more than 24 hours since the guest wrote
        470,  # the same, as the On-Premises API numbered it
    }
)


CREDENTIAL_CODES: Final = frozenset(
    {
        190,  # OAuthException: the access token expired, was revoked or is invalid
    }
)
"""Meta codes that mean the channel's credentials no longer work: no send can succeed
until its settings change (the runtime holds the sends: ``CredentialsRevoked``)."""


class Retry(Enum):
    """What to do about a Graph API refusal."""

    NEVER = "never"
    BACKOFF = "backoff"
    """Wait (exponentially, with jitter, or as ``Retry-After`` says) and try again."""
    PAIR_RATE = "pair_rate"
    """Wait for the guest's next pacing slot and try again."""


def retry_kind(status: int, code: int | None) -> Retry:
    """Whether a refusal with HTTP *status* and Meta *code* is worth another attempt.

    A retryable code decides; otherwise (no code, a proxy's page, a code not
    listed) HTTP 429 and 5xx are transient and any other status is not.
    """
    if code == PAIR_RATE_CODE:
        return Retry.PAIR_RATE
    if code in RETRYABLE_CODES:
        return Retry.BACKOFF
    if code not in REPLY_WINDOW_CODES and (status == 429 or status >= 500):
        # Throttling or Meta's own trouble, not the message's.
        return Retry.BACKOFF
    return Retry.NEVER


class UnsendableMessage(PermanentSendError):
    """The message cannot be expressed as a Cloud API message (an attachment, a caption)."""


class MetaRejected(PermanentSendError):
    """Meta refused the message and retrying cannot help: ``Meta error {code}: {title}``."""

    def __init__(self, text: str, *, code: int | None, fbtrace_id: str | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.fbtrace_id = fbtrace_id


class SendRetriesExhausted(ChannelError):
    """The Graph API stayed throttled or unavailable for every attempt.

    Transient on purpose (not a PermanentSendError): the runtime redelivers the
    message later, and parts already accepted are not sent again.
    """
