"""The channel passes Begasist's channel conformance kit, as every channel must."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from begasist_core import Channel, WebhookRequest
from begasist_core.testing import ChannelConformance, Transmission, TransmissionReader

from begasist_channel_channex import (
    ChannexChannel,
    sign_body,
)

WEBHOOK_SECRET = "test-webhook-secret"


class TestChannexChannel(ChannelConformance):
    channel_class = ChannexChannel
    guest_address = "guest-1"

    @pytest.fixture
    def channel_settings(self) -> Mapping[str, Any]:
        """A hotel's settings, as the suite stores them."""
        return {"webhook_secret": WEBHOOK_SECRET}

    @pytest.fixture
    def read_transmissions(self) -> TransmissionReader:
        """What the provider received: for now, each instance's outbox."""

        def read(channels: Sequence[Channel[Any]]) -> list[Transmission]:
            return [
                Transmission(sent.address, sent.text, sent.provider_message_id)
                for channel in channels
                if isinstance(channel, ChannexChannel)
                for sent in channel.outbox
            ]

        return read

    @pytest.fixture
    def signed_webhook(self, channel_settings: Mapping[str, Any]) -> WebhookRequest:
        """A delivery as the provider sends it, signed as the provider signs it."""
        body = json.dumps(
            {"messages": [{"id": "m1", "from": "guest-1", "name": "Ana", "text": "Hello!"}]}
        ).encode()
        signature = sign_body(WEBHOOK_SECRET, body)
        return WebhookRequest(
            method="POST",
            headers={"X-Channex-Signature": signature},
            body=body,
        )
