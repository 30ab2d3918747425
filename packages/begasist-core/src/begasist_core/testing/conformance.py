"""The channel conformance suite: the contract every channel is held to, as tests.

Subclass :class:`ChannelConformance` in a test module (the class name must
start with ``Test``), set ``channel_class`` and provide the ``channel_settings``
and ``read_transmissions`` fixtures; pytest then runs every check against the
channel on the test Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

import anyio
import pytest

from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events.codec import decode_event, encode_event, make_event
from begasist_core.events.payloads import (
    MessageChanged,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
)
from begasist_core.models.names import InvalidName, validate_channel_name
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.channel import (
    Capabilities,
    Channel,
    InboundPayload,
    TextOverflow,
    WebhookRequest,
    WebhookResponse,
)
from begasist_core.plugins.context import inbound_event_key
from begasist_core.plugins.errors import MessageTooLong, ParseError, WebhookRejected
from begasist_core.testing.fixtures import make_channel_harness
from begasist_core.testing.guest_socket_checks import GuestSocketChecks
from begasist_core.testing.harness import (
    DEFAULT_HOTEL,
    Bus,
    ChannelHarness,
    TransmissionReader,
)
from begasist_core.testing.settings_checks import SettingsChecks

__all__ = [
    "CREDENTIAL_ALTERATIONS",
    "GARBAGE_BODIES",
    "RUN_STOP_LIMIT_SECONDS",
    "ChannelConformance",
]

RUN_STOP_LIMIT_SECONDS: Final = 1.0
"""How long ``run()`` may take to return once cancelled."""

_DEEP: Final = 100_000

CREDENTIAL_ALTERATIONS: Final[Mapping[str, Callable[[str], str]]] = {
    "upper-case": str.upper,
    "lower-case": str.lower,
    "leading-space": lambda value: " " + value,
    "trailing-space": lambda value: value + " ",
    "truncated": lambda value: value[:-1],
    # How the suite hands on a header sent twice: the values joined by a comma.
    "repeated": lambda value: f"{value}, {value}",
}
"""Other spellings of a credential header's value; ``verify`` must refuse each one
that differs from what the provider sent (exempt one with ``accepted_credential_alterations``)."""

GARBAGE_BODIES: Final[Mapping[str, bytes]] = {
    "empty": b"",
    "binary": b"\x00\xff\xfe\x80\x81",
    "invalid-utf8": b'{"messages": "\xff\xfe"}',
    "not-json": b"not json",
    "truncated-json": b'{"messages": [{"id": ',
    "json-null": b"null",
    "json-number": b"42",
    "json-string": b'"hello"',
    "json-array": b"[]",
    "empty-object": b"{}",
    "wrong-types": b'{"messages": 5, "statuses": "x"}',
    "wrong-item-types": b'{"messages": [5, null, "x"], "statuses": [[]]}',
    "missing-fields": b'{"messages": [{}], "statuses": [{}]}',
    "nan": b'{"messages": [{"id": NaN, "text": Infinity}]}',
    "huge-integer": b'{"messages": [{"id": ' + b"9" * 5000 + b"}]}",
    "deeply-nested-array": b"[" * _DEEP + b"]" * _DEEP,
    "deeply-nested-object": b'{"a":' * _DEEP + b"1" + b"}" * _DEEP,
    "huge": b'{"messages": [{"text": "' + b"a" * 4_000_000 + b'"}]}',
    "control-characters": b'{"messages": [{"id": "\x00", "text": "\x01\x1b"}]}',
}
"""Bodies no channel can read: ``parse`` must raise :class:`ParseError` or return ``[]``."""

_SAMPLE_SENTENCE: Final = (
    "Your room is ready and the breakfast is served from seven until half past ten "
    "in the garden restaurant on the ground floor next to the reception desk"
)


class ChannelConformance(SettingsChecks, GuestSocketChecks):
    """The contract tests; subclass as ``TestMyChannel(ChannelConformance)``.

    Set :attr:`channel_class`; override the ``channel_settings`` and
    ``read_transmissions`` fixtures, for a webhook channel the
    ``signed_webhook`` fixture, and for a guest-socket channel the
    ``guest_hello`` and ``guest_message_frame`` fixtures
    (:mod:`~begasist_core.testing.guest_socket_checks`). Class attributes tune the rest.
    """

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.anyio]

    channel_class: ClassVar[type[Channel[Any]]]
    hotel: ClassVar[str] = DEFAULT_HOTEL
    guest_address: ClassVar[str] = "guest-1"
    """Where test messages go: a valid address for the channel (a phone number, an email)."""
    extra_garbage_bodies: ClassVar[Sequence[bytes]] = ()
    """More unreadable bodies for ``parse``, beside :data:`GARBAGE_BODIES`."""
    webhook_headers: ClassVar[Mapping[str, str]] = {"content-type": "application/json"}
    """Headers of the garbage webhooks."""
    signature_covers_body: ClassVar[bool] = True
    """The webhook signature signs the body, so a changed body must be rejected."""
    accepted_credential_alterations: ClassVar[frozenset[str]] = frozenset()
    """Names in :data:`CREDENTIAL_ALTERATIONS` the provider's header format tolerates
    (a list of signatures that allows spaces, say): those are not checked."""
    run_warmup_seconds: ClassVar[float] = 0.3
    """How long ``run()`` runs before the cancellation test cancels it."""

    @pytest.fixture
    def channel_settings(self) -> Mapping[str, Any]:
        """The channel's raw settings (as a settings source holds them): override this."""
        pytest.fail(f"{type(self).__name__} must define the channel_settings fixture")

    @pytest.fixture
    def read_transmissions(self) -> TransmissionReader:
        """How to read what the channel's provider stand-in received: override this."""
        pytest.fail(f"{type(self).__name__} must define the read_transmissions fixture")

    @pytest.fixture
    def signed_webhook(self, channel_settings: Mapping[str, Any]) -> WebhookRequest | None:
        """A webhook request the provider would send, signed for ``channel_settings``."""
        return None

    @pytest.fixture
    async def channel_harness(
        self,
        channel_settings: Mapping[str, Any],
        read_transmissions: TransmissionReader,
        begasist_bus: Bus,
        begasist_settings_source: StaticSettingsSource,
    ) -> ChannelHarness[Channel[Any]]:
        return await make_channel_harness(
            self.channel_class,
            channel_settings,
            bus=begasist_bus,
            source=begasist_settings_source,
            read_transmissions=read_transmissions,
            hotel=self.hotel,
        )

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        GuestSocketChecks.pytest_generate_tests(self, metafunc)
        if "credential_alteration" in metafunc.fixturenames:
            names = [
                name
                for name in CREDENTIAL_ALTERATIONS
                if name not in self.accepted_credential_alterations
            ]
            metafunc.parametrize("credential_alteration", names, ids=names)
        if "garbage_body" in metafunc.fixturenames:
            bodies = dict(GARBAGE_BODIES)
            for index, body in enumerate(self.extra_garbage_bodies):
                bodies[f"extra-{index}"] = body
            metafunc.parametrize("garbage_body", list(bodies.values()), ids=list(bodies))

    # -- declaration ---------------------------------------------------------

    def test_name_is_a_valid_channel_name(self) -> None:
        name = getattr(self.channel_class, "name", None)
        assert isinstance(name, str), "the channel class declares no name"
        try:
            validate_channel_name(name)
        except InvalidName as invalid:
            pytest.fail(str(invalid))

    def test_capabilities_is_a_valid_manifest(self) -> None:
        capabilities = self.channel_class.capabilities
        assert isinstance(capabilities, Capabilities), f"{capabilities!r} is not Capabilities"
        assert Capabilities.model_validate(capabilities.model_dump()) == capabilities

    def test_webhook_channels_implement_verify_and_parse(self) -> None:
        if not self.channel_class.capabilities.webhook_ingress:
            pytest.skip("the channel declares no webhook ingress")
        missing = [name for name in ("verify", "parse") if not _overrides(self.channel_class, name)]
        assert not missing, f"webhook_ingress is declared but {' and '.join(missing)} is not"

    def test_shared_webhook_channels_implement_routing(self) -> None:
        if not self.channel_class.capabilities.shared_webhook:
            pytest.skip("the channel declares no shared webhook URL")
        # The suite parses each routed part in the hotel's bot, as a per-hotel delivery.
        assert self.channel_class.capabilities.webhook_ingress, "shared_webhook needs ingress"
        missing = [
            name
            for name in ("route_key", "verify_shared")
            if not _overrides(self.channel_class, name)
        ]
        assert not missing, f"shared_webhook is declared but {' and '.join(missing)} is not"

    # -- send ----------------------------------------------------------------

    async def test_send_transmits_and_returns_the_receipt(
        self, channel_harness: ChannelHarness[Channel[Any]]
    ) -> None:
        channel = channel_harness.build()
        message = channel_harness.outbound("Hello from the hotel", address=self.guest_address)
        receipt = await channel.send(message)
        transmitted = await channel_harness.transmitted()
        assert receipt.message_id == message.id
        assert [part.text for part in transmitted] == [message.text]
        assert [part.address for part in transmitted] == [self.guest_address], (
            "send() must deliver to message.guest.address"
        )
        assert len(receipt.provider_message_ids) == len(transmitted)

    async def test_send_is_idempotent_per_message_id(
        self, channel_harness: ChannelHarness[Channel[Any]]
    ) -> None:
        channel = channel_harness.build()
        message = channel_harness.outbound("Your table is booked", address=self.guest_address)
        first = await channel.send(message)
        again = await channel.send(message)
        transmitted = await channel_harness.transmitted()
        times = len(transmitted)
        assert times == 1, f"the same message id was transmitted {times} times"
        assert again == first, "the second send must return the first receipt"

    async def test_send_is_idempotent_across_restarts(
        self, channel_harness: ChannelHarness[Channel[Any]]
    ) -> None:
        message = channel_harness.outbound("See you tomorrow", address=self.guest_address)
        first = await channel_harness.build().send(message)
        after_restart = await channel_harness.build().send(message)
        transmitted = await channel_harness.transmitted()
        assert len(transmitted) == 1, "after a restart, the same message id was transmitted again"
        assert after_restart == first

    @pytest.mark.parametrize("shape", ["words", "one-long-word"])
    async def test_overlong_text_is_handled_per_capabilities(
        self, channel_harness: ChannelHarness[Channel[Any]], shape: str
    ) -> None:
        capabilities = self.channel_class.capabilities
        limit = capabilities.max_text_length
        if limit is None:
            pytest.skip("the channel declares no max_text_length")
        text = _overlong_text(limit, shape)
        if text is None:
            pytest.skip("the limit is longer than the longest message")
        message = channel_harness.outbound(text, address=self.guest_address)
        channel = channel_harness.build()
        if capabilities.text_overflow is TextOverflow.REJECT:
            with pytest.raises(MessageTooLong):
                await channel.send(message)
            assert await channel_harness.transmitted() == [], "a rejected text was transmitted"
            return
        receipt = await channel.send(message)
        parts = [part.text for part in await channel_harness.transmitted()]
        assert len(parts) > 1, "an over-long text was not split"
        too_long = [len(part) for part in parts if len(part) > limit]
        assert not too_long, f"parts of {too_long} characters exceed the limit of {limit}"
        assert _squash("".join(parts)) == _squash(text), "splitting lost or changed text"
        assert len(receipt.provider_message_ids) == len(parts)

    # -- run -----------------------------------------------------------------

    async def test_run_returns_promptly_when_cancelled(
        self, channel_harness: ChannelHarness[Channel[Any]]
    ) -> None:
        limit = RUN_STOP_LIMIT_SECONDS
        outcome = await channel_harness.run_then_cancel(warmup=self.run_warmup_seconds, limit=limit)
        if outcome.error is not None:
            raise AssertionError(f"run() raised {_describe(outcome.error)}") from outcome.error
        assert not outcome.returned_early, "run() returned before it was cancelled"
        assert outcome.stop_seconds is not None, (
            f"run() had not returned {limit} s after cancellation "
            "(does it swallow the cancellation, shield it, or block the event loop?)"
        )
        assert outcome.stop_seconds <= limit, (
            f"run() took {outcome.stop_seconds:.2f} s to return after cancellation"
        )

    # -- webhooks ------------------------------------------------------------

    async def test_parse_of_garbage_raises_only_parse_error(
        self, channel_harness: ChannelHarness[Channel[Any]], garbage_body: bytes
    ) -> None:
        capabilities = self.channel_class.capabilities
        # A guest-socket channel's parse reads ingress bodies too (its guest_frame's).
        if not (capabilities.webhook_ingress or capabilities.guest_socket):
            pytest.skip("the channel declares no webhook ingress nor guest socket")
        channel = channel_harness.build()
        webhook = channel_harness.webhook(garbage_body, headers=self.webhook_headers)
        try:
            with anyio.fail_after(10):
                payloads = await channel.parse(webhook)
        except ParseError:
            return
        except Exception as error:
            pytest.fail(f"parse() raised {_describe(error)}; it may raise only ParseError")
        assert list(payloads) == [], f"parse() of garbage returned {payloads!r}"

    def test_verify_accepts_the_signed_webhook(
        self, signed_webhook: WebhookRequest | None, channel_settings: Mapping[str, Any]
    ) -> None:
        request = self._require_signed(signed_webhook)
        response = self.channel_class.verify(request, self._settings(channel_settings))
        assert isinstance(response, WebhookResponse)
        assert response.enqueue, "a correctly signed delivery must be enqueued"
        assert response.status_code < 300, f"answered {response.status_code} to a good signature"

    def test_verify_rejects_a_changed_body(
        self, signed_webhook: WebhookRequest | None, channel_settings: Mapping[str, Any]
    ) -> None:
        request = self._require_signed(signed_webhook)
        if not self.signature_covers_body:
            pytest.skip("the channel's signature does not cover the body")
        changed = request.model_copy(update={"body": request.body + b" "})
        with pytest.raises(WebhookRejected):
            self.channel_class.verify(changed, self._settings(channel_settings))

    def test_verify_rejects_a_request_without_credentials(
        self, signed_webhook: WebhookRequest | None, channel_settings: Mapping[str, Any]
    ) -> None:
        request = self._require_signed(signed_webhook)
        bare = WebhookRequest(method=request.method, body=request.body)
        with pytest.raises(WebhookRejected):
            self.channel_class.verify(bare, self._settings(channel_settings))

    def test_verify_rejects_credentials_spelt_otherwise(
        self,
        signed_webhook: WebhookRequest | None,
        channel_settings: Mapping[str, Any],
        credential_alteration: str,
    ) -> None:
        """A credential header is compared exactly as the provider sends it: no case-folding,
        no trimming, and a header sent twice is not the header sent once."""
        request = self._require_signed(signed_webhook)
        settings = self._settings(channel_settings)
        credentials = _credential_headers(self.channel_class, request, settings)
        if not credentials:
            pytest.skip("no header of the signed webhook is needed on its own")
        alter = CREDENTIAL_ALTERATIONS[credential_alteration]
        accepted = []
        for name in credentials:
            value = request.headers[name]
            altered = alter(value)
            if altered == value:
                continue  # this spelling is the provider's own
            changed = request.model_copy(update={"headers": {**request.headers, name: altered}})
            try:
                self.channel_class.verify(changed, settings)
            except WebhookRejected:
                continue
            accepted.append(f"{name}: {altered!r}")
        assert not accepted, (
            f"verify() accepted a credential spelt otherwise ({credential_alteration}): "
            f"{'; '.join(accepted)}. Compare the whole header value exactly as the provider "
            "sends it (hmac.compare_digest, no strip() or lower()); list a spelling the "
            "provider's format allows in accepted_credential_alterations"
        )

    async def test_parse_of_the_signed_webhook_gives_events_of_this_channel(
        self,
        signed_webhook: WebhookRequest | None,
        channel_harness: ChannelHarness[Channel[Any]],
    ) -> None:
        request = self._require_signed(signed_webhook)
        webhook = channel_harness.webhook(request.body, headers=request.headers)
        channel = channel_harness.build()
        payloads = list(await channel.parse(webhook))
        assert payloads, "the signed webhook parsed to no events"
        for payload in payloads:
            if isinstance(payload, MessageReceived | MessageEchoed):
                assert payload.message.hotel == channel_harness.hotel
                assert payload.message.channel == self.channel_class.name
            else:
                assert payload.channel == self.channel_class.name
            event = make_event(channel_harness.hotel, payload)
            assert decode_event(encode_event(event)) == event
        again = list(await channel.parse(webhook))
        assert [_provider_id(p) for p in again] == [_provider_id(p) for p in payloads], (
            "parsing the same webhook twice must give the same provider ids (for idempotency)"
        )

    # -- helpers -------------------------------------------------------------

    def _settings(self, channel_settings: Mapping[str, Any]) -> ChannelSettings:
        return self.channel_class.Settings.model_validate(dict(channel_settings))

    def _require_webhooks(self) -> None:
        if not self.channel_class.capabilities.webhook_ingress:
            pytest.skip("the channel declares no webhook ingress")

    def _require_signed(self, signed_webhook: WebhookRequest | None) -> WebhookRequest:
        self._require_webhooks()
        if signed_webhook is None:
            pytest.skip("no signed_webhook fixture: verify is not exercised")
        return signed_webhook


def _overrides(channel_class: type[Channel[Any]], name: str) -> bool:
    """Whether a class between *channel_class* and Channel defines *name* itself."""
    own = [klass for klass in channel_class.__mro__ if issubclass(klass, Channel)]
    return any(name in vars(klass) for klass in own if klass is not Channel)


def _credential_headers(
    channel_class: type[Channel[Any]], request: WebhookRequest, settings: ChannelSettings
) -> list[str]:
    """The headers of *request* without each of which, alone, ``verify`` refuses it."""
    needed = []
    for name in request.headers:
        without = {key: value for key, value in request.headers.items() if key != name}
        try:
            channel_class.verify(request.model_copy(update={"headers": without}), settings)
        except WebhookRejected:
            needed.append(name)
    return needed


def _overlong_text(limit: int, shape: str) -> str | None:
    length = min(2 * limit + 7, 65_536)
    if length <= limit:
        return None
    if shape == "one-long-word":
        return ("abcdefghijklmnopqrstuvwxyz0123456789" * (length // 36 + 1))[:length]
    sentence = _SAMPLE_SENTENCE + " "
    return (sentence * (length // len(sentence) + 1))[:length].rstrip()


def _squash(text: str) -> str:
    return "".join(text.split())


def _provider_id(payload: InboundPayload) -> str | None:
    if isinstance(payload, MessageReceived | MessageEchoed):
        return payload.message.provider_message_id
    if isinstance(payload, MessageChanged | MessageStatusChanged):
        return payload.provider_message_id
    return inbound_event_key("", payload)


def _describe(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"
