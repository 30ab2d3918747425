"""Channels for the runtime's tests: they record what happens to them in Redis.

This module is also copied next to a throwaway ``*.dist-info`` so that a
channelbot subprocess discovers it through the ``begasist.channels`` entry point.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import anyio
from begasist_core import (
    Capabilities,
    Channel,
    ChannelSettings,
    CredentialsRevoked,
    Direction,
    GuestIdentity,
    InboundPayload,
    Message,
    MessageReceived,
    ParseError,
    PermanentSendError,
    SendReceipt,
    WebhookReceived,
    hookimpl,
)
from pydantic import SecretStr
from redis.asyncio import Redis


class ProbeSettings(ChannelSettings):
    label: str = "probe"
    send_seconds: float = 0.0
    stop_seconds: float = 0.0
    """How long run() takes to wind down when cancelled (a slow disconnect)."""
    crash_after_seconds: float | None = None
    probe_redis_url: str | None = None
    api_token: SecretStr = SecretStr("")
    revoked: bool = False
    """Refuse every send as a provider refuses an expired token (CredentialsRevoked)."""


class ProbeChannel(Channel[ProbeSettings]):
    """Counts its starts and sends in Redis keys under ``{prefix}:probe:{name}:``."""

    name = "probe"
    Settings = ProbeSettings
    capabilities = Capabilities(max_text_length=1000)

    def _log_key(self, what: str) -> str:
        return f"{self.context.names.prefix}:probe:{self.name}:{what}"

    def _redis(self) -> Redis:
        url = self.settings.probe_redis_url or os.environ["PROBE_REDIS_URL"]
        return Redis.from_url(url)

    async def _record(self, what: str, value: str) -> None:
        client = self._redis()
        try:
            await client.rpush(self._log_key(what), value)
        finally:
            # Shielded: a channel is often cancelled mid-record, and an
            # interrupted aclose() would leak the connection.
            with anyio.CancelScope(shield=True):
                await client.aclose()

    async def run(self) -> None:
        await self._record("starts", self.settings.label)
        try:
            if self.settings.crash_after_seconds is not None:
                await anyio.sleep(self.settings.crash_after_seconds)
                token = self.settings.api_token.get_secret_value()
                raise RuntimeError(f"probe crash (GET /bot{token}/poll failed)")
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(self.settings.stop_seconds)

    async def parse(self, webhook: WebhookReceived) -> Sequence[InboundPayload]:
        try:
            document = json.loads(webhook.body)
            guest = GuestIdentity(channel=self.name, address=str(document["from"]))
            return [
                MessageReceived(
                    message=Message(
                        hotel=self.context.hotel,
                        channel=self.name,
                        conversation_key=guest.address,
                        direction=Direction.INBOUND,
                        guest=guest,
                        text=str(document["text"]),
                        provider_message_id=str(document["id"]),
                    )
                )
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise ParseError(f"not a probe webhook: {error}") from None

    async def send(self, message: Message) -> SendReceipt:
        if message.text == "refuse me":
            raise PermanentSendError("the probe refuses this text")
        if self.settings.revoked:
            raise CredentialsRevoked("the probe's token was revoked: save a new one")
        previous = await self.context.sent.get(message.id)
        if previous is not None:
            return previous
        await self._record("send_started", message.id)
        await anyio.sleep(self.settings.send_seconds)
        receipt = SendReceipt(message_id=message.id, provider_message_ids=(f"p-{message.id}",))
        await self.context.sent.record(receipt)
        await self._record("sent", message.id)
        return receipt


class EchoProbeChannel(ProbeChannel):
    name = "echo_probe"


@hookimpl
def begasist_register_channels(register: Any) -> None:
    register(ProbeChannel)
    register(EchoProbeChannel)
