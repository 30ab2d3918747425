"""The typed errors of the channel plugin API."""

from __future__ import annotations

__all__ = [
    "ChannelError",
    "CredentialsRevoked",
    "GuestFrameRejected",
    "GuestRefused",
    "MessageTooLong",
    "ParseError",
    "PermanentSendError",
    "PluginLoadError",
    "ReplyWindowClosed",
    "UnsupportedCommand",
    "WebhookNotSupported",
    "WebhookRejected",
    "WebhookSignatureError",
]


class ChannelError(Exception):
    """Base of every error a channel raises on purpose."""


class ParseError(ChannelError):
    """A webhook body cannot be turned into events.

    ``Channel.parse`` raises this, and only this, for input it cannot read: the
    runtime dead-letters the entry with the message and goes on. The
    conformance kit feeds garbage to every channel to hold it to that.
    """


class WebhookRejected(ChannelError):
    """``Channel.verify`` refuses a request; the suite answers ``status_code``."""

    status_code: int = 400


class WebhookSignatureError(WebhookRejected):
    """The request's signature is missing or wrong (answered 401, nothing stored)."""

    status_code = 401


class WebhookNotSupported(WebhookRejected):
    """The channel takes no webhooks (answered 404)."""

    status_code = 404


class PermanentSendError(ChannelError):
    """Sending failed and retrying cannot help (bad recipient, refused content).

    The runtime reports the message as failed and acks it. Any other exception
    from ``send`` is treated as transient: the entry is retried, then
    dead-lettered.
    """


class CredentialsRevoked(ChannelError):
    """The provider refused the channel's credentials (an access token expired or
    revoked): no message can be sent until its settings change.

    Raised by ``send``. The runtime holds that message and every later send of the
    channel (none is failed), reports the channel ``misconfigured`` with this text
    as the reason (keep it free of secrets, and say what to do), and sends what it
    held once the channel starts again (new settings, or a restart). The channel
    keeps running meanwhile, so webhooks are still parsed.
    """


class MessageTooLong(PermanentSendError):
    """The text exceeds what the channel can send and its policy is to refuse.

    A permanent failure: the runtime reports the message failed at once.
    """


class ReplyWindowClosed(PermanentSendError):
    """Free text cannot be sent: the guest's reply window has closed.

    Raised by channels whose ``capabilities.reply_window`` is set, when the
    guest's last message is older than the window. Only a template
    (``Message.template``) can be sent until the guest writes again; the
    failure reason says so, and the inbox shows it on the message.
    """


class GuestRefused(ChannelError):
    """``Channel.admit_guest`` refuses a guest socket; the suite closes it with ``code``.

    ``code`` is a WebSocket close code (4000-4999 for the application's own;
    see the ``GUEST_CLOSE_*`` constants) and ``reason`` a short text for the
    widget (at most 123 bytes of UTF-8, the limit of a close frame). Nothing
    is stored and nothing is enqueued.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class GuestFrameRejected(GuestRefused):
    """``Channel.guest_frame`` refuses one frame (too large, not the expected JSON).

    The suite closes the socket with ``code`` and ``reason``; the frame is
    neither stored nor enqueued.
    """


class UnsupportedCommand(ChannelError):
    """The channel does not know a ``channel.command``."""


class PluginLoadError(Exception):
    """A plugin failed to import or register; it is quarantined, never fatal."""
