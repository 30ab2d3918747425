"""The shared webhook URL extension of the Channel API: its defaults and its registration rules."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from begasist_core import (
    Capabilities,
    Channel,
    ChannelSettings,
    Message,
    PluginLoadError,
    RoutedWebhook,
    SendReceipt,
    SharedWebhook,
    WebhookNotSupported,
    WebhookRequest,
    WebhookResponse,
)
from begasist_core.plugins._registry import check_channel_class
from pydantic import BaseModel, SecretStr, ValidationError


class Plain(Channel[ChannelSettings]):
    name: ClassVar[str] = "plain"

    async def send(self, message: Message) -> SendReceipt:
        return SendReceipt(message_id=message.id, provider_message_ids=("x",))


class AppSettings(BaseModel):
    app_secret: SecretStr


def test_a_channel_has_no_shared_url_by_default() -> None:
    assert Plain.AppSettings is None
    assert not Plain.capabilities.shared_webhook
    assert Plain.route_key(ChannelSettings()) is None
    with pytest.raises(WebhookNotSupported, match="plain channel has no shared webhook URL"):
        Plain.verify_shared(WebhookRequest(method="POST"), AppSettings(app_secret="s"))
    assert WebhookNotSupported.status_code == 404


def test_a_shared_webhook_answers_200_with_no_parts_by_default() -> None:
    assert SharedWebhook() == SharedWebhook(response=WebhookResponse(), parts=())


def test_a_routed_part_needs_a_key() -> None:
    assert RoutedWebhook(route_key="k", body=b"{}").content_type == "application/json"
    with pytest.raises(ValidationError):
        RoutedWebhook(route_key="", body=b"{}")


def test_declaring_a_shared_url_without_app_settings_is_refused() -> None:
    class Declared(Plain):
        capabilities: ClassVar[Capabilities] = Capabilities(shared_webhook=True)

    with pytest.raises(PluginLoadError, match="shared_webhook is declared but AppSettings"):
        check_channel_class(Declared)


def test_app_settings_must_be_a_pydantic_model() -> None:
    class NotAModel(Plain):
        AppSettings: ClassVar[Any] = dict

    with pytest.raises(PluginLoadError, match="is not a pydantic model"):
        check_channel_class(NotAModel)


def test_a_complete_shared_url_channel_is_accepted() -> None:
    class Shared(Plain):
        AppSettings: ClassVar[type[BaseModel] | None] = AppSettings
        capabilities: ClassVar[Capabilities] = Capabilities(shared_webhook=True)

    assert check_channel_class(Shared) is Shared
