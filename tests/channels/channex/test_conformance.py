"""The Channex channel passes the conformance kit, against the Channex API stand-in.

The stand-in (``begasist_channels_channex.testing``) is a real local HTTP
server speaking Channex's documented wire format; it is not Channex.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from begasist_channels_channex import SECRET_HEADER, ChannexChannel, Ota, booking_address
from begasist_channels_channex.testing import ChannexStandin
from begasist_core import Channel, WebhookRequest
from begasist_core.testing import ChannelConformance, Transmission, TransmissionReader

from tests.channels.channex.conftest import BOOKING_ID, WEBHOOK_SECRET, settings_for


class TestChannexChannel(ChannelConformance):
    channel_class = ChannexChannel
    guest_address = booking_address(Ota.BOOKING_COM, BOOKING_ID)
    # The secret header is compared whole; the body is not signed (Channex signs nothing).
    signature_covers_body = False

    @pytest.fixture
    def channel_settings(self, channex: ChannexStandin) -> Mapping[str, Any]:
        return settings_for(channex)

    @pytest.fixture
    def read_transmissions(self, channex: ChannexStandin) -> TransmissionReader:
        def read(channels: Sequence[Channel[Any]]) -> list[Transmission]:
            return [
                Transmission(
                    booking_address(Ota.BOOKING_COM, sent.booking_id), sent.message, sent.id
                )
                for sent in channex.sent
            ]

        return read

    @pytest.fixture
    def signed_webhook(
        self, channel_settings: Mapping[str, Any], channex: ChannexStandin
    ) -> WebhookRequest:
        body = channex.guest_writes(BOOKING_ID, "Hello, can we check in early?")
        return WebhookRequest(method="POST", headers={SECRET_HEADER: WEBHOOK_SECRET}, body=body)
