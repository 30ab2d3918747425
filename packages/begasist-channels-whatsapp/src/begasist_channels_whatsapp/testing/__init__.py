"""Test and demo aids for the WhatsApp channel: a Graph API stand-in and its status webhooks.

Importing this needs the ``testing`` extra (uvicorn); the channel itself never does.
"""

from begasist_channels_whatsapp.testing.graph_standin import (
    AcceptedMessage,
    GraphStandin,
    RecordedRequest,
    ScriptedFailure,
)
from begasist_channels_whatsapp.testing.status_webhooks import StatusCallback, StatusWebhooks

__all__ = [
    "AcceptedMessage",
    "GraphStandin",
    "RecordedRequest",
    "ScriptedFailure",
    "StatusCallback",
    "StatusWebhooks",
]
