"""The web chat channel passes the conformance kit, guest-socket checks included.

Its "provider" is the suite's guest socket: what ``send`` transmits is read
back from the hotel's ``guests`` stream in the test Redis.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from begasist_channels_webchat import WebchatChannel, identity_hash
from begasist_core import Channel, GuestHello
from begasist_core.testing import (
    Bus,
    ChannelConformance,
    Transmission,
    TransmissionReader,
)

ORIGIN = "https://www.plaza.example"
SECRET = "conformance-identity-secret-32-chars-long"


class TestWebchatChannel(ChannelConformance):
    channel_class = WebchatChannel
    guest_address = "visitor-0123456789abcdef"

    @pytest.fixture
    def channel_settings(self) -> Mapping[str, Any]:
        return {"allowed_origins": [ORIGIN], "identity_secret": SECRET}

    @pytest.fixture
    def read_transmissions(self, begasist_bus: Bus) -> TransmissionReader:
        async def read(channels: Sequence[Channel[Any]]) -> list[Transmission]:
            stream = begasist_bus.names.guests(self.hotel, WebchatChannel.name)
            sent = []
            for _, fields in await begasist_bus.redis.xrange(stream):
                frame = json.loads(fields[b"frame"])
                sent.append(
                    Transmission(
                        fields[b"address"].decode(),
                        frame["message"]["text"],
                        frame["message"]["provider_message_id"],
                    )
                )
            return sent

        return read

    @pytest.fixture
    def guest_hello(self) -> GuestHello:
        return GuestHello(origin=ORIGIN, visitor_id="visitor-0123456789abcdef", first_visit=True)

    @pytest.fixture
    def guest_identity_hello(self) -> GuestHello:
        return GuestHello(
            origin=ORIGIN,
            visitor_id="visitor-0123456789abcdef",
            identifier="ana@example.com",
            identifier_hash=identity_hash(SECRET, "ana@example.com"),
        )

    @pytest.fixture
    def guest_message_frame(self) -> bytes:
        return b'{"type": "message", "id": "client-0001", "text": "Hola, \\u00bfhay parking?"}'

    @pytest.fixture
    def guest_attachment_frame(self) -> Callable[[str], bytes]:
        def frame(ref: str) -> bytes:
            return json.dumps(
                {"type": "message", "id": "client-0002", "attachments": [ref]}
            ).encode()

        return frame
