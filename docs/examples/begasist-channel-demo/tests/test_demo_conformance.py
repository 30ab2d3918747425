"""The demo channel passes the conformance kit, as every channel must."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from begasist_channel_demo import DemoChannel, sign_body
from begasist_core import Channel, WebhookRequest
from begasist_core.testing import ChannelConformance, Transmission, TransmissionReader

SECRET = "demo-webhook-secret-5b0c"


class TestDemoChannel(ChannelConformance):
    channel_class = DemoChannel
    guest_address = "+34600000001"

    @pytest.fixture
    def channel_settings(self) -> Mapping[str, Any]:
        return {"webhook_secret": SECRET}

    @pytest.fixture
    def read_transmissions(self) -> TransmissionReader:
        def read(channels: Sequence[Channel[Any]]) -> list[Transmission]:
            # The demo's provider stand-in is each instance's outbox.
            return [
                Transmission(sent.address, sent.text, sent.provider_message_id)
                for channel in channels
                if isinstance(channel, DemoChannel)
                for sent in channel.outbox
            ]

        return read

    @pytest.fixture
    def signed_webhook(self, channel_settings: Mapping[str, Any]) -> WebhookRequest:
        body = json.dumps(
            {
                "messages": [{"id": "m1", "from": "+34600000001", "name": "Ana", "text": "Hi!"}],
                "statuses": [{"id": "demo-1", "status": "delivered"}],
            }
        ).encode()
        return WebhookRequest(
            method="POST",
            headers={"X-Demo-Signature": sign_body(SECRET, body)},
            body=body,
        )


class TestDemoChannelWithSimulatedGuests(TestDemoChannel):
    """With the simulation on, ``run()`` emits while it runs and still stops at once."""

    run_warmup_seconds = 0.3

    @pytest.fixture
    def channel_settings(self) -> Mapping[str, Any]:
        return {"webhook_secret": SECRET, "simulated_guest_interval_seconds": 0.05}
