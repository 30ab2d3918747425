"""WhatsApp's linked-device transport: the hotel's number as a WhatsApp Web device paired by QR.

``settings.transport = "linked"`` picks :class:`LinkedTransport`. The protocol
library sits behind :class:`LinkedClient`; :class:`NeonizeClient` implements it
on neonize, installed with the ``begasist-channels-whatsapp[linked]`` extra.
"""

from begasist_channels_whatsapp.linked.backoff import ReconnectBackoff
from begasist_channels_whatsapp.linked.client import (
    ClientFactory,
    Connected,
    Disconnected,
    EventSink,
    IncomingMessage,
    LinkedClient,
    LinkedEvent,
    LinkedNotConnected,
    LoggedOut,
    Paired,
    PairingFailed,
    QrCode,
)
from begasist_channels_whatsapp.linked.neonize_client import (
    EXTRA,
    LinkedExtraMissing,
    NeonizeClient,
)
from begasist_channels_whatsapp.linked.session import (
    DEFAULT_SESSION_DIR,
    SESSION_DIR_VARIABLE,
    LinkedSession,
)
from begasist_channels_whatsapp.linked.transport import QR_KEY, SCAN_HINT, LinkedTransport

__all__ = [
    "DEFAULT_SESSION_DIR",
    "EXTRA",
    "QR_KEY",
    "SCAN_HINT",
    "SESSION_DIR_VARIABLE",
    "ClientFactory",
    "Connected",
    "Disconnected",
    "EventSink",
    "IncomingMessage",
    "LinkedClient",
    "LinkedEvent",
    "LinkedExtraMissing",
    "LinkedNotConnected",
    "LinkedSession",
    "LinkedTransport",
    "LoggedOut",
    "NeonizeClient",
    "Paired",
    "PairingFailed",
    "QrCode",
    "ReconnectBackoff",
]
