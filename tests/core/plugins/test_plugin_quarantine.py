"""Quarantine of broken plugins from a real (tiny, on-disk) distribution's entry points."""

from __future__ import annotations

import importlib
import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from begasist_channel_demo import DemoChannel
from begasist_core.plugins.manager import PluginInfo, PluginManager, PluginStatus
from begasist_core.testing import write_distribution

CHANNEL_MODULE = """
from typing import ClassVar

from begasist_core import Channel, ChannelSettings, Message, SendReceipt, hookimpl


class ProbeChannel(Channel[ChannelSettings]):
    name: ClassVar[str] = {channel!r}

    async def send(self, message: Message) -> SendReceipt:
        return SendReceipt(message_id=message.id, provider_message_ids=("probe-1",))


@hookimpl
def begasist_register_channels(register):
    {body}
"""


@pytest.fixture
def distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Install ``begasist-qtest 1.0`` on sys.path: one good plugin and five broken ones.

    Yields the module prefix; module names are unique per test, so nothing
    one test imported is found in ``sys.modules`` by another.
    """
    prefix = f"qtest_{uuid4().hex[:10]}"
    modules = {
        "good": CHANNEL_MODULE.format(channel="qt_good", body="register(ProbeChannel)"),
        "hook": CHANNEL_MODULE.format(
            channel="qt_hook", body='raise RuntimeError("licence server unreachable")'
        ),
        "duplicate": CHANNEL_MODULE.format(channel="qt_good", body="register(ProbeChannel)"),
        "imports": 'raise ImportError("libfoo.so.1: cannot open shared object file")\n',
        "exits": "import sys\n\nsys.exit(3)\n",
    }
    write_distribution(
        tmp_path,
        name="begasist-qtest",
        version="1.0",
        modules={f"{prefix}_{name}": textwrap.dedent(source) for name, source in modules.items()},
        entry_points={
            "qt_good": f"{prefix}_good",
            "qt_hook": f"{prefix}_hook",
            # Sorts after qt_good, so it is the later plugin to claim the name.
            "qt_later_duplicate": f"{prefix}_duplicate",
            "qt_imports": f"{prefix}_imports",
            "qt_exits": f"{prefix}_exits",
            "qt_missing": f"{prefix}_not_there",
        },
    )
    monkeypatch.syspath_prepend(tmp_path)  # also invalidates the import caches
    importlib.invalidate_caches()
    yield prefix
    for module in [name for name in sys.modules if name.startswith(prefix)]:
        del sys.modules[module]


def by_name(manager: PluginManager) -> dict[str, PluginInfo]:
    return {info.name: info for info in manager.plugins}


def test_broken_plugins_are_quarantined_and_the_good_ones_load(
    distribution: str, caplog: pytest.LogCaptureFixture
) -> None:
    manager = PluginManager(load=None)
    with caplog.at_level(logging.ERROR, logger="begasist.plugins"):
        manager.load_entry_points()
    plugins = by_name(manager)

    good = plugins["qt_good"]
    assert good.status is PluginStatus.OK
    assert (good.distribution, good.version) == ("begasist-qtest", "1.0")
    assert good.module == f"{distribution}_good"
    assert plugins["demo"].channels == ("demo",)
    assert manager.channel("demo") is DemoChannel
    assert manager.channel("qt_good").__module__ == f"{distribution}_good"

    errors = {
        name: info.error
        for name, info in plugins.items()
        if info.status is PluginStatus.QUARANTINED
    }
    assert errors == {
        "qt_hook": "begasist_register_channels failed: RuntimeError: licence server unreachable",
        "qt_later_duplicate": "channel name 'qt_good' is already registered by plugin 'qt_good'",
        "qt_imports": "import failed: ImportError: libfoo.so.1: cannot open shared object file",
        "qt_exits": "import failed: SystemExit: 3",
        "qt_missing": "import failed: ModuleNotFoundError: "
        f"No module named '{distribution}_not_there'",
    }
    assert all(plugins[name].distribution == "begasist-qtest" for name in errors)
    assert "qt_hook" not in manager.channels

    logged = [record.getMessage() for record in caplog.records]
    for name, error in errors.items():
        assert [line for line in logged if line.startswith(f"plugin {name} ")] == [
            f"plugin {name} (begasist-qtest) quarantined: {error}"
        ]


def test_an_empty_load_list_loads_no_plugin(
    distribution: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEGASIST_LOAD_PLUGINS", "")
    manager = PluginManager()
    manager.load_entry_points()
    assert manager.plugins == []
    assert dict(manager.channels) == {}
    assert not any(name.startswith(distribution) for name in sys.modules)


def test_a_load_list_loads_only_the_plugins_it_names(
    distribution: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEGASIST_LOAD_PLUGINS", "demo")
    manager = PluginManager()
    manager.load_entry_points()
    assert manager.plugins == [
        PluginInfo(
            name="demo",
            module="begasist_channel_demo",
            distribution="begasist-channel-demo",
            version="0.1.0",
            status=PluginStatus.OK,
            channels=("demo",),
        )
    ]
    # The broken modules were never even imported.
    assert not any(name.startswith(distribution) for name in sys.modules)


def test_a_load_list_can_name_a_broken_plugin_which_is_then_quarantined(
    distribution: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEGASIST_LOAD_PLUGINS", "qt_good,qt_imports")
    manager = PluginManager()
    manager.load_entry_points()
    statuses = {info.name: info.status for info in manager.plugins}
    assert statuses == {"qt_good": PluginStatus.OK, "qt_imports": PluginStatus.QUARANTINED}


def test_loading_again_loads_nothing_twice(distribution: str) -> None:
    manager = PluginManager(load=frozenset({"demo", "qt_good"}))
    manager.load_entry_points()
    manager.load_entry_points()
    assert [(info.name, info.status) for info in manager.plugins] == [
        ("demo", PluginStatus.OK),
        ("qt_good", PluginStatus.OK),
    ]
