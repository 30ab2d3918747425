"""Rules a plugin must follow, each enforced by quarantine, never by a crash."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from begasist_core.channelbot.cli import main
from begasist_core.plugins.manager import PluginManager, PluginStatus
from begasist_core.testing import write_distribution

CHANNEL = """
from typing import Any
from begasist_core import Channel, ChannelSettings, Message, SendReceipt, hookimpl
{extra}

class Settings(ChannelSettings):
    {settings}


class Probe(Channel[Settings]):
    name = "{channel}"
    Settings = Settings

    async def send(self, message: Message) -> SendReceipt:
        return SendReceipt(message_id=message.id, provider_message_ids=("x",))


@hookimpl
{hook_def} begasist_register_channels(register: Any) -> None:
    {body}
"""


def channel_module(
    channel: str,
    *,
    body: str = "register(Probe)",
    hook_def: str = "def",
    settings: str = "pass",
    extra: str = "",
) -> str:
    return textwrap.dedent(CHANNEL).format(
        channel=channel, body=body, hook_def=hook_def, settings=settings, extra=extra
    )


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Install a throwaway distribution whose entry points map to module sources."""
    prefix = f"rules_{uuid4().hex[:10]}"

    def install(entries: dict[str, str]) -> PluginManager:
        write_distribution(
            tmp_path,
            name="begasist-rules",
            version="2.0",
            modules={f"{prefix}_{n}": source for n, source in enumerate(entries.values())},
            entry_points={entry: f"{prefix}_{n}" for n, entry in enumerate(entries)},
        )
        monkeypatch.syspath_prepend(tmp_path)
        importlib.invalidate_caches()
        manager = PluginManager(load=frozenset(entries))
        manager.load_entry_points()
        return manager

    yield install
    for module in [name for name in sys.modules if name.startswith(prefix)]:
        del sys.modules[module]


def status(manager: PluginManager, name: str) -> tuple[PluginStatus, str | None]:
    [info] = [info for info in manager.plugins if info.name == name]
    return info.status, info.error


def test_an_entry_name_that_is_no_channel_name_is_quarantined(install: object) -> None:
    manager = install({"SMS-Bad": channel_module("sms")})  # type: ignore[operator]
    state, error = status(manager, "SMS-Bad")
    assert state is PluginStatus.QUARANTINED
    assert "entry point name" in (error or "")
    assert "sms" not in manager.channels


def test_a_plugin_may_not_take_another_channels_name(install: object) -> None:
    manager = install({"telegram": channel_module("sms")})  # type: ignore[operator]
    state, error = status(manager, "telegram")
    assert state is PluginStatus.QUARANTINED
    assert "registers channels sms, none named 'telegram'" in (error or "")
    assert manager.channels == {}


def test_an_async_hook_is_quarantined_without_a_never_awaited_warning(install: object) -> None:
    manager = install({"sms": channel_module("sms", hook_def="async def")})  # type: ignore[operator]
    state, error = status(manager, "sms")
    assert state is PluginStatus.QUARANTINED
    assert "is async" in (error or "")


def test_settings_without_a_json_schema_are_quarantined(install: object) -> None:
    module = channel_module(
        "sms",
        settings=(
            "model_config = {'arbitrary_types_allowed': True}\n    client: Opaque | None = None"
        ),
        extra="class Opaque: ...",
    )
    manager = install({"sms": module})  # type: ignore[operator]
    state, error = status(manager, "sms")
    assert state is PluginStatus.QUARANTINED
    assert "has no JSON Schema" in (error or "")


def test_an_exception_whose_str_raises_is_still_reported(install: object) -> None:
    module = channel_module(
        "sms",
        body="raise Weird()",
        extra="class Weird(Exception):\n    def __str__(self) -> str:\n        raise RuntimeError",
    )
    manager = install({"sms": module})  # type: ignore[operator]
    state, error = status(manager, "sms")
    assert state is PluginStatus.QUARANTINED
    assert "Weird" in (error or "")


def test_plugins_json_stays_json_when_a_plugin_prints_and_names_its_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The entry point names an attribute (the module itself, re-exported), so the
    # reported module must come from the entry point's module part, not its value.
    module = channel_module(
        "sms", extra="import sys\nprint('hello from the plugin')\nplugin = sys.modules[__name__]"
    )
    write_distribution(
        tmp_path,
        name="begasist-chatty",
        modules={"begasist_chatty": module},
        entry_points={"sms": "begasist_chatty:plugin"},
    )
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.setenv("BEGASIST_LOAD_PLUGINS", "sms")
    try:
        assert main(["plugins", "--json"]) == 0
        captured = capsys.readouterr()
    finally:
        sys.modules.pop("begasist_chatty", None)
    [info] = json.loads(captured.out)
    assert info["status"] == "ok"
    assert info["channels"] == ["sms"]
    assert info["module"] == "begasist_chatty"
    assert "hello from the plugin" in captured.err
