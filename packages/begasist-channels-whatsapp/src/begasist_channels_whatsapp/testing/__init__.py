"""Test and demo aids for the WhatsApp channel: a stand-in for Meta's Graph API.

Importing this needs the ``testing`` extra (uvicorn); the channel itself never does.
"""

from begasist_channels_whatsapp.testing.graph_standin import (
    AcceptedMessage,
    GraphStandin,
    RecordedRequest,
    ScriptedFailure,
)

__all__ = ["AcceptedMessage", "GraphStandin", "RecordedRequest", "ScriptedFailure"]
