"""The seam between the WhatsApp channel and the way it reaches WhatsApp."""

from __future__ import annotations

from typing import Protocol

from begasist_core import ChannelCommand, Message, SendReceipt

__all__ = ["Transport"]


class Transport(Protocol):
    """How the channel reaches WhatsApp: Meta's Cloud API or a linked device.

    :class:`~begasist_channels_whatsapp.channel.WhatsAppChannel` picks one by
    ``settings.transport`` and delegates ``run``, ``send`` and ``command`` to
    it, so each method carries the contract of its ``Channel`` namesake.
    ``send`` may be called concurrently (different guests at once), also while
    ``run`` is not running (a send with no live connection must still work or
    fail with a clear error, never hang).
    """

    async def run(self) -> None:
        """Connect and receive until cancelled, then return promptly, releasing connections."""
        ...

    async def send(self, message: Message) -> SendReceipt:
        """Send *message* once per ``message.id``; PermanentSendError when retrying cannot help."""
        ...

    async def command(self, command: ChannelCommand) -> None:
        """Handle an operator's command; UnsupportedCommand for one the transport lacks."""
        ...
