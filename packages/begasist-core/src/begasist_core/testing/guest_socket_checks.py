"""The conformance kit's guest-socket checks: admission, frames and the round trip through parse.

:class:`~begasist_core.testing.ChannelConformance` inherits these. They apply
to channels declaring ``Capabilities(guest_socket=True)``, which must then
provide the ``guest_hello`` and ``guest_message_frame`` fixtures (a missing
one fails, rather than skips, the checks), and may provide
``guest_identity_hello`` when they verify identities. A channel whose
``guest_upload_policy`` allows uploads under the test settings must also
provide ``guest_attachment_frame``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import pytest

from begasist_core.events.codec import decode_event, encode_event, make_event
from begasist_core.events.payloads import MessageReceived
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.channel import Channel
from begasist_core.plugins.errors import GuestFrameRejected, GuestRefused
from begasist_core.plugins.guest_socket import GuestAdmission, GuestHello
from begasist_core.plugins.guest_upload import GuestUpload
from begasist_core.testing.harness import ChannelHarness

__all__ = ["GUEST_GARBAGE_FRAMES", "GuestSocketChecks"]

GUEST_GARBAGE_FRAMES: Mapping[str, bytes] = {
    "empty": b"",
    "binary": b"\x00\xff\xfe\x80\x81",
    "invalid-utf8": b'{"type": "message", "text": "\xff\xfe"}',
    "not-json": b"not json",
    "truncated-json": b'{"type": "message", "id": ',
    "json-null": b"null",
    "json-array": b"[]",
    "empty-object": b"{}",
    "unknown-type": b'{"type": "hello"}',
    "nan": b'{"type": "message", "id": NaN, "text": Infinity}',
    "huge-integer": b'{"type": "message", "id": ' + b"9" * 5000 + b"}",
    "deeply-nested": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "huge": b'{"type": "message", "id": "client-0001", "text": "' + b"a" * 4_000_000 + b'"}',
}
"""Frames no guest-socket channel may enqueue: ``guest_frame`` raises
:class:`GuestFrameRejected` or returns None for each."""


class GuestSocketChecks:
    """The guest-socket part of the contract; use it through ``ChannelConformance``."""

    channel_class: ClassVar[type[Channel[Any]]]
    foreign_origin: ClassVar[str] = "https://attacker.example"
    """An origin no test settings allow."""

    @pytest.fixture
    def guest_hello(self, channel_settings: Mapping[str, Any]) -> GuestHello | None:
        """A hello the channel admits with ``channel_settings`` (an allowed origin)."""
        return None

    @pytest.fixture
    def guest_identity_hello(self, channel_settings: Mapping[str, Any]) -> GuestHello | None:
        """A hello with an identity and its valid HMAC, if the channel verifies identities."""
        return None

    @pytest.fixture
    def guest_message_frame(self) -> bytes | None:
        """A frame of a guest's text message, as the channel's widget sends it."""
        return None

    @pytest.fixture
    def guest_attachment_frame(self) -> Callable[[str], bytes] | None:
        """A function making a frame of a guest's message that attaches the upload ref given."""
        return None

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "guest_garbage_frame" in metafunc.fixturenames:
            metafunc.parametrize(
                "guest_garbage_frame",
                list(GUEST_GARBAGE_FRAMES.values()),
                ids=list(GUEST_GARBAGE_FRAMES),
            )

    def test_guest_socket_channels_implement_admission_frames_and_parse(self) -> None:
        self._require_guest_socket()
        own = [k for k in self.channel_class.__mro__ if issubclass(k, Channel) and k is not Channel]
        missing = [
            name
            for name in ("admit_guest", "guest_frame", "parse")
            if not any(name in vars(klass) for klass in own)
        ]
        assert not missing, f"guest_socket is declared but {' and '.join(missing)} is not"

    def test_admit_guest_admits_the_hello_the_same_way_every_time(
        self, guest_hello: GuestHello | None, channel_settings: Mapping[str, Any]
    ) -> None:
        hello = self._required(guest_hello, "guest_hello")
        settings = self._guest_settings(channel_settings)
        first = self.channel_class.admit_guest(hello, settings)
        assert isinstance(first, GuestAdmission)
        again = self.channel_class.admit_guest(
            hello.model_copy(update={"first_visit": False}), settings
        )
        assert again.address == first.address, (
            "a reconnecting visitor must get the same address, or they lose their conversation"
        )
        other = self.channel_class.admit_guest(
            hello.model_copy(update={"visitor_id": hello.visitor_id + "x"}), settings
        )
        assert other.address != first.address, "two visitors must not share an address"

    @pytest.mark.parametrize("origin", ["foreign", "missing", "with-path", "upper-case"])
    def test_admit_guest_refuses_an_origin_not_allowed(
        self, origin: str, guest_hello: GuestHello | None, channel_settings: Mapping[str, Any]
    ) -> None:
        hello = self._required(guest_hello, "guest_hello")
        allowed = hello.origin or ""
        changed = {
            "foreign": self.foreign_origin,
            "missing": None,
            "with-path": allowed + "/page",
            "upper-case": allowed.upper(),
        }[origin]
        with pytest.raises(GuestRefused) as refused:
            self.channel_class.admit_guest(
                hello.model_copy(update={"origin": changed}), self._guest_settings(channel_settings)
            )
        assert 4000 <= refused.value.code <= 4999 or refused.value.code == 1008

    def test_admit_guest_checks_the_identity_hmac(
        self, guest_identity_hello: GuestHello | None, channel_settings: Mapping[str, Any]
    ) -> None:
        self._require_guest_socket()
        if guest_identity_hello is None:
            pytest.skip("no guest_identity_hello fixture: the channel verifies no identities")
        hello = guest_identity_hello
        settings = self._guest_settings(channel_settings)
        admitted = self.channel_class.admit_guest(hello, settings)
        assert isinstance(admitted, GuestAdmission)
        digest = hello.identifier_hash or ""
        forgeries = {
            "no hash": hello.model_copy(update={"identifier_hash": None}),
            "empty hash": hello.model_copy(update={"identifier_hash": ""}),
            "another identifier": hello.model_copy(
                update={"identifier": "x" + (hello.identifier or "")}
            ),
            "upper-case hash": hello.model_copy(update={"identifier_hash": digest.upper()}),
            "truncated hash": hello.model_copy(update={"identifier_hash": digest[:-1]}),
            "padded hash": hello.model_copy(update={"identifier_hash": digest + " "}),
        }
        accepted = []
        for name, forged in forgeries.items():
            if forged == hello:
                continue  # an alteration that changes nothing (a hash without letters)
            try:
                self.channel_class.admit_guest(forged, settings)
            except GuestRefused:
                continue
            accepted.append(name)
        assert not accepted, f"admit_guest accepted a forged identity: {', '.join(accepted)}"

    def test_guest_frame_of_garbage_enqueues_nothing(
        self,
        guest_garbage_frame: bytes,
        guest_hello: GuestHello | None,
        channel_settings: Mapping[str, Any],
    ) -> None:
        hello = self._required(guest_hello, "guest_hello")
        settings = self._guest_settings(channel_settings)
        admission = self.channel_class.admit_guest(hello, settings)
        try:
            ingress = self.channel_class.guest_frame(admission, guest_garbage_frame, settings)
        except GuestFrameRejected:
            return
        assert ingress is None, "guest_frame turned garbage into something to enqueue"

    async def test_a_message_frame_round_trips_through_parse(
        self,
        guest_hello: GuestHello | None,
        guest_message_frame: bytes | None,
        channel_settings: Mapping[str, Any],
        channel_harness: ChannelHarness[Channel[Any]],
    ) -> None:
        hello = self._required(guest_hello, "guest_hello")
        frame = self._required(guest_message_frame, "guest_message_frame")
        settings = self._guest_settings(channel_settings)
        channel = channel_harness.build()
        provider_ids: dict[str, str | None] = {}
        for visitor in (hello.visitor_id, hello.visitor_id + "x"):
            admission = self.channel_class.admit_guest(
                hello.model_copy(update={"visitor_id": visitor}), settings
            )
            ingress = self.channel_class.guest_frame(admission, frame, settings)
            assert ingress is not None, "the message frame gave nothing to enqueue"
            webhook = channel_harness.webhook(
                ingress.body, headers={"content-type": ingress.content_type}
            )
            payloads = list(await channel.parse(webhook))
            [received] = payloads
            assert isinstance(received, MessageReceived)
            message = received.message
            assert (message.hotel, message.channel) == (channel_harness.hotel, channel.name)
            assert message.guest.address == admission.address, (
                "parse must take the admitted address"
            )
            event = make_event(channel_harness.hotel, received)
            assert decode_event(encode_event(event)) == event
            again = list(await channel.parse(webhook))
            assert [
                p.message.provider_message_id for p in again if isinstance(p, MessageReceived)
            ] == [message.provider_message_id], (
                "parsing the same body twice must give the same provider id"
            )
            resent = self.channel_class.guest_frame(admission, frame, settings)
            assert resent is not None
            [resent_payload] = await channel.parse(channel_harness.webhook(resent.body))
            assert isinstance(resent_payload, MessageReceived)
            assert resent_payload.message.provider_message_id == message.provider_message_id, (
                "a resent frame (same client id) must give the same provider id: it is stored once"
            )
            provider_ids[visitor] = message.provider_message_id
        assert len(set(provider_ids.values())) == 2, (
            "the same frame from two visitors must give two provider ids, "
            "or one visitor's message would silence the other's"
        )

    async def test_an_attached_upload_is_listed_for_the_suite_to_check(
        self,
        guest_hello: GuestHello | None,
        guest_attachment_frame: Callable[[str], bytes] | None,
        channel_settings: Mapping[str, Any],
        channel_harness: ChannelHarness[Channel[Any]],
    ) -> None:
        """The suite checks only the refs in ``GuestIngress.uploads``: one left out would let
        a guest attach any file by naming its key."""
        hello = self._required(guest_hello, "guest_hello")
        settings = self._guest_settings(channel_settings)
        policy = self.channel_class.guest_upload_policy(settings)
        if policy is None:
            pytest.skip("the channel takes no uploads under the test settings")
        make_frame = self._required(guest_attachment_frame, "guest_attachment_frame")
        upload = GuestUpload(
            key="a" * 64, mime_type=min(policy.mime_types), size_bytes=10, filename="file"
        )
        ref = upload.ref_payload() + ".signature-the-suite-checks"
        admission = self.channel_class.admit_guest(hello, settings)
        ingress = self.channel_class.guest_frame(admission, make_frame(ref), settings)
        assert ingress is not None, "the attachment frame gave nothing to enqueue"
        assert ref in ingress.uploads, "guest_frame must list every ref it used in uploads"
        [received] = await channel_harness.build().parse(channel_harness.webhook(ingress.body))
        assert isinstance(received, MessageReceived)
        assert [a.url for a in received.message.attachments] == [upload.url]

    def _guest_settings(self, channel_settings: Mapping[str, Any]) -> ChannelSettings:
        return self.channel_class.Settings.model_validate(dict(channel_settings))

    def _require_guest_socket(self) -> None:
        if not self.channel_class.capabilities.guest_socket:
            pytest.skip("the channel declares no guest socket")

    def _required(self, value: Any, fixture: str) -> Any:
        self._require_guest_socket()
        if value is None:
            pytest.fail(f"guest_socket is declared: define the {fixture} fixture")
        return value
