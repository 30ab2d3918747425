"""The WhatsApp channel passes the conformance kit, with the Graph API stand-in as Meta."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from begasist_channels_whatsapp import WhatsAppChannel, sign_body
from begasist_channels_whatsapp.testing import GraphStandin
from begasist_core import Channel, WebhookRequest
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.testing import (
    Bus,
    ChannelConformance,
    ChannelHarness,
    Transmission,
    TransmissionReader,
    make_channel_harness,
)

from tests.channels.whatsapp.conftest import ACCESS_TOKEN
from tests.channels.whatsapp.samples import (
    APP_SECRET,
    MESSAGES,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    body_of,
)

GUEST = "34600000001"


def guest_message(guest: str, message_id: str) -> bytes:
    """A webhook body holding one text message that *guest* wrote just now."""
    sample = copy.deepcopy(MESSAGES["text"])
    value = sample["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = guest
    value["messages"][0].update(
        {"from": guest, "id": message_id, "timestamp": str(int(time.time()))}
    )
    return body_of(sample)


class TestWhatsAppChannel(ChannelConformance):
    channel_class = WhatsAppChannel
    guest_address = GUEST

    @pytest.fixture
    def channel_settings(self, graph_standin: GraphStandin) -> Mapping[str, Any]:
        return {
            "phone_number_id": PHONE_NUMBER_ID,
            "waba_id": "1234567890987654321",
            "access_token": ACCESS_TOKEN,
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "graph_api_url": graph_standin.base_url,
            # The kit sends three parts to one guest; Meta's pair rate allows such a burst.
            "per_recipient_interval_seconds": 0,
        }

    @pytest.fixture
    def read_transmissions(self, graph_standin: GraphStandin) -> TransmissionReader:
        def read(channels: Sequence[Channel[Any]]) -> list[Transmission]:
            # The stand-in is shared by every instance: what Meta accepted is what was sent.
            return [
                Transmission(message.to, message.text, message.wamid)
                for message in graph_standin.accepted
                if message.phone_number_id == PHONE_NUMBER_ID
            ]

        return read

    @pytest.fixture
    def signed_webhook(self, channel_settings: Mapping[str, Any]) -> WebhookRequest:
        body = body_of(MESSAGES["text"])
        headers = {"X-Hub-Signature-256": sign_body(APP_SECRET, body)}
        return WebhookRequest(method="POST", headers=headers, body=body)

    @pytest.fixture
    async def channel_harness(
        self,
        channel_settings: Mapping[str, Any],
        read_transmissions: TransmissionReader,
        begasist_bus: Bus,
        begasist_settings_source: StaticSettingsSource,
    ) -> ChannelHarness[Channel[Any]]:
        """The kit's harness, after the guest wrote: WhatsApp sends free text only then.

        The guest's message goes through ``parse``, as in production, which
        opens their 24-hour window.
        """
        harness = await make_channel_harness(
            self.channel_class,
            channel_settings,
            bus=begasist_bus,
            source=begasist_settings_source,
            read_transmissions=read_transmissions,
            hotel=self.hotel,
        )
        webhook = harness.webhook(guest_message(self.guest_address, "wamid.guest-wrote-first"))
        await harness.build().parse(webhook)
        return harness
