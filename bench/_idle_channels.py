"""Two do-nothing channels for the runtime benchmarks: they measure the runtime, not a provider."""

from __future__ import annotations

from typing import Any

from begasist_core import Channel, ChannelSettings, Message, SendReceipt, hookimpl


class IdleSettings(ChannelSettings):
    label: str = "v0"


class IdleChannel(Channel[IdleSettings]):
    name = "idle"
    Settings = IdleSettings

    async def send(self, message: Message) -> SendReceipt:
        return SendReceipt(message_id=message.id, provider_message_ids=(message.id,))


class OtherIdleChannel(IdleChannel):
    name = "other_idle"


@hookimpl
def begasist_register_channels(register: Any) -> None:
    register(IdleChannel)
    register(OtherIdleChannel)
