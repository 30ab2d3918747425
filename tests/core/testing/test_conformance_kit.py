"""The conformance kit can fail: broken channels fail exactly the checks they break.

One inner pytest session (pytester) runs the suite against a good probe
channel and against one variant per broken rule; each class must fail
precisely its rule's tests and pass the rest.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PROBE_MODULE = """
import json
import time
from typing import Annotated, Any, ClassVar, Mapping

import anyio
import pytest
from pydantic import BaseModel, Field, HttpUrl, SecretStr

from begasist_core import (
    Capabilities, Channel, ChannelSettings, Direction, GuestIdentity, Message,
    MessageReceived, ParseError, SendReceipt, WebhookRequest, WebhookResponse,
    WebhookSignatureError, new_id,
)
from begasist_core.testing import ChannelConformance, Transmission


class ProbeSettings(ChannelSettings):
    api_token: SecretStr


class ProbeChannel(Channel[ProbeSettings]):
    name = "probe"
    Settings = ProbeSettings
    capabilities = Capabilities(max_text_length=20, webhook_ingress=True)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.outbox: list[Transmission] = []

    def transmit(self, message: Message, parts: list[str]) -> SendReceipt:
        ids = []
        for part in parts:
            ids.append(new_id())
            self.outbox.append(Transmission(message.guest.address, part, ids[-1]))
        return SendReceipt(message_id=message.id, provider_message_ids=tuple(ids))

    async def send(self, message: Message) -> SendReceipt:
        earlier = await self.context.sent.get(message.id)
        if earlier is not None:
            return earlier
        receipt = self.transmit(message, self.split_text(message.text))
        await self.context.sent.record(receipt)
        return receipt

    @classmethod
    def verify(cls, request: WebhookRequest, settings: Any) -> WebhookResponse:
        if request.headers.get("x-token") != cls.token_of(settings):
            raise WebhookSignatureError("bad token")
        return WebhookResponse()

    @staticmethod
    def token_of(settings: Any) -> str:
        return settings.api_token.get_secret_value()

    def received(self, item: dict[str, Any]) -> MessageReceived:
        sender = item["from"]
        return MessageReceived(message=Message(
            hotel=self.context.hotel, channel=self.name, conversation_key=sender,
            direction=Direction.INBOUND, guest=GuestIdentity(channel=self.name, address=sender),
            text=item["text"], provider_message_id=item["id"],
        ))

    async def parse(self, webhook: Any) -> list[MessageReceived]:
        try:
            return [self.received(item) for item in json.loads(webhook.body)["messages"]]
        except (ValueError, RecursionError, KeyError, TypeError) as error:
            raise ParseError(repr(error)) from None


class NonIdempotentSend(ProbeChannel):
    async def send(self, message: Message) -> SendReceipt:
        return self.transmit(message, self.split_text(message.text))


class SendIgnoresTheLimit(ProbeChannel):
    async def send(self, message: Message) -> SendReceipt:
        earlier = await self.context.sent.get(message.id)
        if earlier is not None:
            return earlier
        receipt = self.transmit(message, [message.text])
        await self.context.sent.record(receipt)
        return receipt


class ParseRaisesKeyError(ProbeChannel):
    async def parse(self, webhook: Any) -> list[MessageReceived]:
        try:
            document = json.loads(webhook.body)
        except ValueError as error:
            raise ParseError(str(error)) from None
        return [self.received(item) for item in document["messages"]]


class PlainSettings(ChannelSettings):
    api_token: str


class PlainStrSecret(ProbeChannel):
    Settings = PlainSettings

    @staticmethod
    def token_of(settings: Any) -> str:
        return settings.api_token


class RunIgnoresCancellation(ProbeChannel):
    async def run(self) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(2)  # a "graceful" goodbye that ignores the deadline


class RunReturnsAtOnce(ProbeChannel):
    async def run(self) -> None:
        return None


class RunBlocksTheLoop(ProbeChannel):
    async def run(self) -> None:
        time.sleep(2)  # a blocking client: cancellation cannot even be delivered
        await anyio.sleep_forever()


class SendToTheWrongGuest(ProbeChannel):
    def transmit(self, message: Message, parts: list[str]) -> SendReceipt:
        wrong = message.model_copy(
            update={"guest": GuestIdentity(channel=self.name, address="+10000000000")}
        )
        return super().transmit(wrong, parts)


class VerifyRefusesPolitely(ProbeChannel):
    @classmethod
    def verify(cls, request: WebhookRequest, settings: Any) -> WebhookResponse:
        super().verify(request, settings)  # bad credentials are still refused
        return WebhookResponse(status_code=403, enqueue=False)  # ...and good ones too


class ListSettings(ChannelSettings):
    api_token: SecretStr
    fallback_tokens: list[SecretStr] = []


class SecretsInAList(ProbeChannel):
    Settings = ListSettings


class ConstrainedSettings(ChannelSettings):
    api_token: Annotated[SecretStr | None, Field(min_length=1)] = "probe-token"
    webhook_secret: Annotated[SecretStr, Field(min_length=8)] | None = None


class ConstrainedOptionalSecrets(ProbeChannel):
    Settings = ConstrainedSettings


class VerifyFoldsCase(ProbeChannel):
    @classmethod
    def verify(cls, request: WebhookRequest, settings: Any) -> WebhookResponse:
        given = request.headers.get("x-token", "").strip().lower()
        if given != cls.token_of(settings):
            raise WebhookSignatureError("bad token")
        return WebhookResponse()


class UndeclaredHostSettings(ChannelSettings):
    api_token: SecretStr
    api_host: str = "api.probe.test"
    callbackPort: int = 8443
    display_name: str = "Probe"


class UndeclaredHost(ProbeChannel):
    Settings = UndeclaredHostSettings


class UndeclaredUrlTypeSettings(ChannelSettings):
    api_token: Annotated[SecretStr | None, Field(min_length=1)] = None
    provider: Annotated[HttpUrl | None, Field(description="where the API answers")] = None


class UndeclaredUrlType(ProbeChannel):
    Settings = UndeclaredUrlTypeSettings


class Relay(BaseModel):
    hostname: str = "relay.probe.test"
    fallback_tokens: list[SecretStr] = []


class UndeclaredNestedSettings(ChannelSettings):
    api_token: SecretStr
    relay: Relay = Relay()


class UndeclaredNested(ProbeChannel):
    Settings = UndeclaredNestedSettings


class DeclaredSettings(UndeclaredHostSettings):
    secret_destinations: ClassVar[frozenset[str]] = frozenset({"api_host", "provider", "relay"})
    not_secret_destinations: ClassVar[Mapping[str, str]] = {
        "callbackPort": "the port guests' phones call back on; no secret goes there",
    }
    provider: HttpUrl = HttpUrl("https://api.probe.test")
    relay: Relay = Relay()


class DeclaredDestinations(ProbeChannel):
    Settings = DeclaredSettings


class NoSecretSettings(ChannelSettings):
    api_host: str = "api.probe.test"


class NoSecretNoDeclaration(ProbeChannel):
    Settings = NoSecretSettings

    @staticmethod
    def token_of(settings: Any) -> str:
        return "tok-9f8e7d6c5b4a"


class LeakyAppSettings(BaseModel):
    app_secret: SecretStr
    signing_service_url: str = "https://sign.probe.test"


class AppSettingsUndeclared(ProbeChannel):
    AppSettings = LeakyAppSettings


class MisdeclaredAppSettings(LeakyAppSettings):
    secret_destinations: ClassVar[frozenset[str]] = frozenset({"signing_service_uri"})


class AppSettingsMisdeclared(ProbeChannel):
    AppSettings = MisdeclaredAppSettings


class DeclaredAppSettings(LeakyAppSettings):
    secret_destinations: ClassVar[frozenset[str]] = frozenset({"signing_service_url"})


class AppSettingsDeclared(ProbeChannel):
    AppSettings = DeclaredAppSettings


class ProbeConformance(ChannelConformance):
    @pytest.fixture
    def channel_settings(self) -> dict[str, Any]:
        return {"api_token": "tok-9f8e7d6c5b4a"}

    @pytest.fixture
    def read_transmissions(self) -> Any:
        return lambda channels: [sent for channel in channels for sent in channel.outbox]

    @pytest.fixture
    def signed_webhook(self) -> WebhookRequest:
        body = json.dumps({"messages": [{"id": "p1", "from": "guest-1", "text": "Hi"}]})
        return WebhookRequest(method="POST", headers={"X-Token": "tok-9f8e7d6c5b4a"}, body=body)


class TestGoodProbe(ProbeConformance):
    channel_class = ProbeChannel
    signature_covers_body = False


class TestNonIdempotentSend(TestGoodProbe):
    channel_class = NonIdempotentSend


class TestSendIgnoresTheLimit(TestGoodProbe):
    channel_class = SendIgnoresTheLimit


class TestParseRaisesKeyError(TestGoodProbe):
    channel_class = ParseRaisesKeyError


class TestPlainStrSecret(TestGoodProbe):
    channel_class = PlainStrSecret


class TestRunIgnoresCancellation(TestGoodProbe):
    channel_class = RunIgnoresCancellation


class TestRunReturnsAtOnce(TestGoodProbe):
    channel_class = RunReturnsAtOnce


class TestRunBlocksTheLoop(TestGoodProbe):
    channel_class = RunBlocksTheLoop


class TestSendToTheWrongGuest(TestGoodProbe):
    channel_class = SendToTheWrongGuest


class TestVerifyRefusesPolitely(TestGoodProbe):
    channel_class = VerifyRefusesPolitely


class TestSecretsInAList(TestGoodProbe):
    channel_class = SecretsInAList


class TestConstrainedOptionalSecrets(TestGoodProbe):
    channel_class = ConstrainedOptionalSecrets


class TestVerifyFoldsCase(TestGoodProbe):
    channel_class = VerifyFoldsCase


class TestVerifyFoldsCaseAllowed(TestGoodProbe):
    channel_class = VerifyFoldsCase
    accepted_credential_alterations = frozenset({"upper-case", "leading-space", "trailing-space"})


class TestUndeclaredHost(TestGoodProbe):
    channel_class = UndeclaredHost


class TestUndeclaredUrlType(TestGoodProbe):
    channel_class = UndeclaredUrlType


class TestUndeclaredNested(TestGoodProbe):
    channel_class = UndeclaredNested


class TestDeclaredDestinations(TestGoodProbe):
    channel_class = DeclaredDestinations


class TestNoSecretNoDeclaration(TestGoodProbe):
    channel_class = NoSecretNoDeclaration

    @pytest.fixture
    def channel_settings(self) -> dict[str, Any]:
        return {}


class TestAppSettingsUndeclared(TestGoodProbe):
    channel_class = AppSettingsUndeclared


class TestAppSettingsMisdeclared(TestGoodProbe):
    channel_class = AppSettingsMisdeclared


class TestAppSettingsDeclared(TestGoodProbe):
    channel_class = AppSettingsDeclared
"""


GARBAGE_TEST = "test_parse_of_garbage_raises_only_parse_error"
RUN_TEST = "test_run_returns_promptly_when_cancelled"
SPELLING_TEST = "test_verify_rejects_credentials_spelt_otherwise"
DESTINATIONS_TEST = "test_settings_declare_where_secrets_go"
APP_DESTINATIONS_TEST = "test_app_settings_declare_where_secrets_go"


def run_probe(pytester: pytest.Pytester, redis_url: str, probe: str) -> dict[str, str]:
    """Run one inner test class; return its failed tests (with parameters) and reports."""
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


@pytest.fixture
def probe_pytester(
    pytester: pytest.Pytester, begasist_redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    # The inner session's begasist_redis_url then reuses this session's server.
    monkeypatch.setenv("BEGASIST_TEST_REDIS_URL", begasist_redis_url)
    return pytester


@pytest.mark.parametrize(
    "probe",
    [
        "TestGoodProbe",
        "TestSecretsInAList",
        "TestConstrainedOptionalSecrets",
        "TestVerifyFoldsCaseAllowed",
        "TestDeclaredDestinations",
        "TestNoSecretNoDeclaration",
        "TestAppSettingsDeclared",
    ],
)
def test_a_good_channel_passes_every_check(
    probe_pytester: pytest.Pytester, begasist_redis_url: str, probe: str
) -> None:
    assert run_probe(probe_pytester, begasist_redis_url, probe) == {}


@pytest.mark.parametrize(
    ("probe", "expected", "reason"),
    [
        pytest.param(
            "TestNonIdempotentSend",
            {"test_send_is_idempotent_per_message_id", "test_send_is_idempotent_across_restarts"},
            "the same message id was transmitted",
            id="non-idempotent-send",
        ),
        pytest.param(
            "TestSendIgnoresTheLimit",
            {
                "test_overlong_text_is_handled_per_capabilities[words]",
                "test_overlong_text_is_handled_per_capabilities[one-long-word]",
            },
            "was not split",
            id="send-ignores-the-limit",
        ),
        pytest.param(
            "TestPlainStrSecret",
            {
                "test_secret_looking_fields_are_secret_str",
                "test_secrets_never_appear_in_repr_or_json",
            },
            "api_token",
            id="plain-str-secret",
        ),
        pytest.param(
            "TestRunIgnoresCancellation",
            {RUN_TEST},
            "had not returned",
            id="run-ignores-cancellation",
        ),
        pytest.param(
            "TestRunBlocksTheLoop", {RUN_TEST}, "block the event loop", id="run-blocks-the-loop"
        ),
        pytest.param(
            "TestSendToTheWrongGuest",
            {"test_send_transmits_and_returns_the_receipt"},
            "must deliver to message.guest.address",
            id="send-to-the-wrong-guest",
        ),
        pytest.param(
            "TestVerifyRefusesPolitely",
            {"test_verify_accepts_the_signed_webhook"},
            "must be enqueued",
            id="verify-refuses-politely",
        ),
        pytest.param(
            "TestRunReturnsAtOnce",
            {RUN_TEST},
            "returned before it was cancelled",
            id="run-returns-at-once",
        ),
        pytest.param(
            "TestVerifyFoldsCase",
            {
                f"{SPELLING_TEST}[upper-case]",
                f"{SPELLING_TEST}[leading-space]",
                f"{SPELLING_TEST}[trailing-space]",
            },
            "accepted a credential spelt otherwise",
            id="verify-folds-case",
        ),
        pytest.param(
            "TestUndeclaredHost",
            {DESTINATIONS_TEST},
            "api_host (the word 'host'); callbackPort (the word 'port')",
            id="undeclared-host-and-port",
        ),
        pytest.param(
            "TestUndeclaredUrlType",
            {DESTINATIONS_TEST},
            "provider (the type HttpUrl)",
            id="undeclared-url-type",
        ),
        pytest.param(
            "TestUndeclaredNested",
            {DESTINATIONS_TEST},
            "relay.hostname (the word 'hostname') in relay",
            id="undeclared-nested-host",
        ),
        pytest.param(
            "TestAppSettingsUndeclared",
            {APP_DESTINATIONS_TEST},
            "signing_service_url (the word 'url')",
            id="app-settings-undeclared",
        ),
        pytest.param(
            "TestAppSettingsMisdeclared",
            {APP_DESTINATIONS_TEST},
            "secret_destinations names 'signing_service_uri', which is not a field",
            id="app-settings-misdeclared",
        ),
    ],
)
def test_a_broken_channel_fails_exactly_its_rule(
    probe_pytester: pytest.Pytester,
    begasist_redis_url: str,
    probe: str,
    expected: set[str],
    reason: str,
) -> None:
    failed = run_probe(probe_pytester, begasist_redis_url, probe)
    assert set(failed) == expected
    assert all(reason in report for report in failed.values())


def test_a_parse_leaking_key_error_fails_the_garbage_checks(
    probe_pytester: pytest.Pytester, begasist_redis_url: str
) -> None:
    failed = run_probe(probe_pytester, begasist_redis_url, "TestParseRaisesKeyError")
    assert {name.partition("[")[0] for name in failed} == {GARBAGE_TEST}
    assert {f"{GARBAGE_TEST}[missing-fields]", f"{GARBAGE_TEST}[empty-object]"} <= set(failed)
    assert "parse() raised KeyError" in failed[f"{GARBAGE_TEST}[missing-fields]"]
