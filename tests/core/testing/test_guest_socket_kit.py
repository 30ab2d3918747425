"""The kit's guest-socket checks can fail: each broken guest channel fails exactly its rule.

As in ``test_conformance_kit.py``, one inner pytest session (pytester) runs the
suite against a good guest-socket probe and against one variant per broken
rule.
"""

from __future__ import annotations

import pytest

from tests.core.testing.test_conformance_kit import probe_pytester

pytest_plugins = ["pytester"]

__all__ = ["probe_pytester"]  # the fixture, imported for this module's tests

PROBE_MODULE = """
import hashlib
import hmac
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from begasist_core import (
    Capabilities, Channel, ChannelSettings, Direction, GuestAdmission, GuestFrameRejected,
    GuestHello, GuestIdentity, GuestIngress, GuestRefused, Message, MessageReceived,
    ParseError, SendReceipt,
)
from begasist_core.testing import ChannelConformance, Transmission

ORIGIN = "https://hotel.example"


class GuestSettings(ChannelSettings):
    allowed_origins: list[str] = []
    identity_secret: SecretStr | None = None


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["message"]
    id: str
    text: str
    address: str | None = None


def mac(secret: str, identifier: str) -> str:
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


class GuestProbe(Channel[GuestSettings]):
    name = "guestprobe"
    Settings = GuestSettings
    capabilities = Capabilities(guest_socket=True)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.outbox: list[Transmission] = []

    async def send(self, message: Message) -> SendReceipt:
        earlier = await self.context.sent.get(message.id)
        if earlier is not None:
            return earlier
        self.outbox.append(Transmission(message.guest.address, message.text, message.id))
        receipt = SendReceipt(message_id=message.id, provider_message_ids=(message.id,))
        await self.context.sent.record(receipt)
        return receipt

    @classmethod
    def origin_allowed(cls, hello: GuestHello, settings: Any) -> bool:
        return hello.origin in settings.allowed_origins

    @classmethod
    def hash_matches(cls, expected: str, given: str) -> bool:
        return hmac.compare_digest(expected.encode(), given.encode())

    @classmethod
    def admit_guest(cls, hello: GuestHello, settings: Any) -> GuestAdmission:
        if not cls.origin_allowed(hello, settings):
            raise GuestRefused(4403, "origin not allowed")
        if hello.identifier is not None:
            expected = mac(settings.identity_secret.get_secret_value(), hello.identifier)
            if not cls.hash_matches(expected, hello.identifier_hash or ""):
                raise GuestRefused(4401, "identity not verified")
        return GuestAdmission(address=hello.visitor_id)

    @classmethod
    def address_of(cls, admission: GuestAdmission, frame: Frame) -> str:
        return admission.address

    @classmethod
    def provider_id(cls, address: str, frame: Frame) -> str:
        return f"{address}/{frame.id}"

    @classmethod
    def guest_frame(
        cls, admission: GuestAdmission, frame: bytes, settings: Any
    ) -> GuestIngress | None:
        if len(frame) > 10_000:
            raise GuestFrameRejected(1009, "too large")
        try:
            parsed = Frame.model_validate_json(frame)
        except ValidationError:
            raise GuestFrameRejected(4400, "malformed") from None
        address = cls.address_of(admission, parsed)
        body = {"address": address, "id": cls.provider_id(address, parsed), "text": parsed.text}
        return GuestIngress(body=json.dumps(body).encode())

    async def parse(self, webhook: Any) -> list[MessageReceived]:
        try:
            body = json.loads(webhook.body)
            address, provider_id, text = body["address"], body["id"], body["text"]
            return [MessageReceived(message=Message(
                hotel=self.context.hotel, channel=self.name, conversation_key=address,
                direction=Direction.INBOUND,
                guest=GuestIdentity(channel=self.name, address=address),
                text=text, provider_message_id=provider_id,
            ))]
        except (ValueError, RecursionError, KeyError, TypeError) as error:
            raise ParseError(repr(error)) from None


class AdmitsAnyOrigin(GuestProbe):
    @classmethod
    def origin_allowed(cls, hello: GuestHello, settings: Any) -> bool:
        return True


class HashFoldsCase(GuestProbe):
    @classmethod
    def hash_matches(cls, expected: str, given: str) -> bool:
        return expected == given.strip().lower()


class FrameNamesTheAddress(GuestProbe):
    @classmethod
    def address_of(cls, admission: GuestAdmission, frame: Frame) -> str:
        return frame.address or admission.address


class UnscopedProviderIds(GuestProbe):
    @classmethod
    def provider_id(cls, address: str, frame: Frame) -> str:
        return frame.id


class EnqueuesGarbage(GuestProbe):
    @classmethod
    def guest_frame(
        cls, admission: GuestAdmission, frame: bytes, settings: Any
    ) -> GuestIngress | None:
        try:
            return super().guest_frame(admission, frame, settings)
        except GuestFrameRejected:
            return GuestIngress(body=frame[:100])


class TestGuestProbe(ChannelConformance):
    channel_class = GuestProbe
    guest_address = "visitor-0123456789"

    @pytest.fixture
    def channel_settings(self) -> dict[str, Any]:
        return {"allowed_origins": [ORIGIN], "identity_secret": "s3cret"}

    @pytest.fixture
    def read_transmissions(self) -> Any:
        return lambda channels: [t for channel in channels for t in channel.outbox]

    @pytest.fixture
    def guest_hello(self) -> GuestHello:
        return GuestHello(origin=ORIGIN, visitor_id="visitor-0123456789")

    @pytest.fixture
    def guest_identity_hello(self) -> GuestHello:
        return GuestHello(
            origin=ORIGIN, visitor_id="visitor-0123456789", identifier="ana@example.com",
            identifier_hash=mac("s3cret", "ana@example.com"),
        )

    @pytest.fixture
    def guest_message_frame(self) -> bytes:
        return b'{"type": "message", "id": "c-1", "text": "Hola", "address": "someone-else"}'


class TestAdmitsAnyOrigin(TestGuestProbe):
    channel_class = AdmitsAnyOrigin


class TestHashFoldsCase(TestGuestProbe):
    channel_class = HashFoldsCase


class TestFrameNamesTheAddress(TestGuestProbe):
    channel_class = FrameNamesTheAddress


class TestUnscopedProviderIds(TestGuestProbe):
    channel_class = UnscopedProviderIds


class TestEnqueuesGarbage(TestGuestProbe):
    channel_class = EnqueuesGarbage


class TestMissingFixtures(TestGuestProbe):
    @pytest.fixture
    def guest_message_frame(self) -> None:
        return None
"""

ORIGIN_TEST = "test_admit_guest_refuses_an_origin_not_allowed"
ROUND_TRIP_TEST = "test_a_message_frame_round_trips_through_parse"


def run_guest_probe(pytester: pytest.Pytester, probe: str) -> dict[str, str]:
    pytester.makeini(
        "[pytest]\n"
        "addopts = --strict-markers -p no:randomly -p no:cacheprovider\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(test_probe=PROBE_MODULE)
    result = pytester.inline_run(f"test_probe.py::{probe}", "-p", "no:xdist")
    passed, _, failed = result.listoutcomes()
    assert passed, f"no test of {probe} passed: the probe itself is broken"
    return {report.nodeid.split("::")[-1]: str(report.longrepr) for report in failed}


def test_a_good_guest_channel_passes_every_check(probe_pytester: pytest.Pytester) -> None:
    assert run_guest_probe(probe_pytester, "TestGuestProbe") == {}


@pytest.mark.parametrize(
    ("probe", "failing", "explanation"),
    [
        (
            "TestAdmitsAnyOrigin",
            {
                f"{ORIGIN_TEST}[{case}]"
                for case in ("foreign", "missing", "with-path", "upper-case")
            },
            "DID NOT RAISE",
        ),
        (
            "TestHashFoldsCase",
            {"test_admit_guest_checks_the_identity_hmac"},
            "upper-case hash, padded hash",
        ),
        ("TestFrameNamesTheAddress", {ROUND_TRIP_TEST}, "parse must take the admitted address"),
        ("TestUnscopedProviderIds", {ROUND_TRIP_TEST}, "two provider ids"),
        ("TestMissingFixtures", {ROUND_TRIP_TEST}, "define the guest_message_frame fixture"),
    ],
)
def test_a_broken_guest_channel_fails_exactly_its_rule(
    probe_pytester: pytest.Pytester, probe: str, failing: set[str], explanation: str
) -> None:
    failed = run_guest_probe(probe_pytester, probe)
    assert set(failed) == failing
    assert all(explanation in report for report in failed.values())


def test_a_channel_enqueuing_garbage_fails_the_garbage_frames(
    probe_pytester: pytest.Pytester,
) -> None:
    failed = run_guest_probe(probe_pytester, "TestEnqueuesGarbage")
    assert failed
    assert all(name.startswith("test_guest_frame_of_garbage_enqueues_nothing[") for name in failed)
    assert all("turned garbage into something to enqueue" in report for report in failed.values())
