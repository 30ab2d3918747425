"""The plugin manager: what a plugin may register, and quarantine of what it may not."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pytest
from begasist_core import (
    Channel,
    ChannelSettings,
    Message,
    ReplyDraft,
    ReplyRequest,
    Responder,
    SendReceipt,
    hookimpl,
)
from begasist_core.plugins.manager import (
    PluginInfo,
    PluginManager,
    PluginStatus,
    UnknownChannel,
    format_plugin_table,
    plugins_to_load_from_env,
)


class SmsChannel(Channel[ChannelSettings]):
    name: ClassVar[str] = "sms"

    async def send(self, message: Message) -> SendReceipt:
        return SendReceipt(message_id=message.id, provider_message_ids=("sms-1",))


class FaxChannel(SmsChannel):
    name: ClassVar[str] = "fax"


class FaqResponder(Responder):
    name: ClassVar[str] = "faq"

    async def draft(self, request: ReplyRequest) -> ReplyDraft | None:
        return None


class InProcessPlugin:
    """An object whose attributes are hook functions (pluggy plugins must be hashable)."""

    def __init__(self, **hooks: Callable[..., None]) -> None:
        for name, function in hooks.items():
            setattr(self, name, function)


def plugin(
    *channels: object,
    responders: Sequence[object] = (),
    raises: Exception | None = None,
    swallow: bool = False,
) -> InProcessPlugin:
    """A plugin object whose hooks register *channels* and *responders*."""

    @hookimpl
    def begasist_register_channels(register: Callable[[object], None]) -> None:
        for channel in channels:
            try:
                register(channel)
            except Exception:
                if not swallow:
                    raise
        if raises is not None:
            raise raises

    @hookimpl
    def begasist_register_responders(register: Callable[[object], None]) -> None:
        for responder in responders:
            register(responder)

    return InProcessPlugin(
        begasist_register_channels=begasist_register_channels,
        begasist_register_responders=begasist_register_responders,
    )


@pytest.fixture
def manager() -> PluginManager:
    return PluginManager(load=None)


def test_a_plugin_registers_channels_and_responders(manager: PluginManager) -> None:
    info = manager.register_plugin(
        plugin(SmsChannel, FaxChannel, responders=[FaqResponder]),
        name="sms",
        distribution="begasist-channels-sms",
        version="1.2.0",
    )
    assert info == PluginInfo(
        name="sms",
        module=InProcessPlugin.__module__,  # where the plugin object's class lives
        distribution="begasist-channels-sms",
        version="1.2.0",
        status=PluginStatus.OK,
        channels=("sms", "fax"),
        responders=("faq",),
    )
    assert dict(manager.channels) == {"sms": SmsChannel, "fax": FaxChannel}
    assert dict(manager.responders) == {"faq": FaqResponder}
    assert manager.channel("fax") is FaxChannel
    assert manager.plugins == [info]


def test_an_unknown_channel_names_the_known_ones(manager: PluginManager) -> None:
    manager.register_plugin(plugin(SmsChannel, FaxChannel), name="sms")
    with pytest.raises(UnknownChannel, match=r"'pager' is loaded \(loaded: fax, sms\)") as raised:
        manager.channel("pager")
    assert raised.value.known == ("fax", "sms")
    assert isinstance(raised.value, LookupError)


class NoName(Channel[ChannelSettings]):
    async def send(self, message: Message) -> SendReceipt:
        raise NotImplementedError


class BadName(SmsChannel):
    name: ClassVar[str] = "Bad-Name"


class PlainSettings(SmsChannel):
    name: ClassVar[str] = "plain"
    Settings: ClassVar[Any] = dict


class LooseCapabilities(SmsChannel):
    name: ClassVar[str] = "loose"
    capabilities: ClassVar[Any] = {"max_text_length": 160}


class Abstract(Channel[ChannelSettings]):
    name: ClassVar[str] = "abstract"


class NamelessResponder(Responder):
    async def draft(self, request: ReplyRequest) -> ReplyDraft | None:
        return None


@pytest.mark.parametrize(
    ("registered", "responders", "error"),
    [
        pytest.param([object()], [], "is not a Channel subclass", id="not-a-class"),
        pytest.param([FaqResponder], [], "is not a Channel subclass", id="responder-as-channel"),
        pytest.param([Abstract], [], "is abstract (it does not implement send)", id="abstract"),
        pytest.param([BadName], [], "invalid channel name 'Bad-Name'", id="invalid-name"),
        pytest.param([PlainSettings], [], "is not a ChannelSettings subclass", id="plain-settings"),
        pytest.param([LooseCapabilities], [], "is not a Capabilities manifest", id="capabilities"),
        pytest.param([SmsChannel, SmsChannel], [], "registers channel 'sms' twice", id="twice"),
        pytest.param([], [NamelessResponder], "declares no name", id="nameless-responder"),
        pytest.param([], [SmsChannel], "is not a Responder subclass", id="channel-as-responder"),
    ],
)
def test_an_invalid_registration_quarantines_the_whole_plugin(
    manager: PluginManager, registered: list[object], responders: list[object], error: str
) -> None:
    # FaxChannel comes first and is valid: it must be rolled back with the rest.
    info = manager.register_plugin(plugin(FaxChannel, *registered, responders=responders), name="p")
    assert info.status is PluginStatus.QUARANTINED
    assert info.error is not None
    assert error in info.error
    assert (info.channels, info.responders) == ((), ())
    assert dict(manager.channels) == {}
    assert dict(manager.responders) == {}


def test_a_channel_without_a_name_is_refused(manager: PluginManager) -> None:
    info = manager.register_plugin(plugin(NoName), name="p")
    assert info.error is not None
    assert "declares no name" in info.error


def test_a_hook_that_swallows_the_refusal_is_still_quarantined(manager: PluginManager) -> None:
    info = manager.register_plugin(plugin(SmsChannel, BadName, swallow=True), name="p")
    assert info.status is PluginStatus.QUARANTINED
    assert dict(manager.channels) == {}


def test_a_raising_hook_is_quarantined_with_its_error(manager: PluginManager) -> None:
    info = manager.register_plugin(plugin(SmsChannel, raises=RuntimeError("no\nlicense")), name="p")
    assert info.error == "begasist_register_channels failed: RuntimeError: no license"
    assert dict(manager.channels) == {}


def test_a_name_another_plugin_registered_quarantines_the_later_plugin(
    manager: PluginManager,
) -> None:
    first = manager.register_plugin(plugin(SmsChannel), name="first")
    later = manager.register_plugin(plugin(FaxChannel, SmsChannel), name="later")
    assert first.status is PluginStatus.OK
    assert later.error == "channel name 'sms' is already registered by plugin 'first'"
    assert dict(manager.channels) == {"sms": SmsChannel}
    assert manager.plugins == [first, later]


def test_a_plugin_name_is_taken_once(manager: PluginManager) -> None:
    manager.register_plugin(plugin(SmsChannel), name="sms", distribution="dist-a")
    again = manager.register_plugin(plugin(FaxChannel), name="sms", distribution="dist-b")
    assert again.error == "a plugin named 'sms' is already loaded (from dist-a)"
    assert "fax" not in manager.channels


def test_a_misspelt_hook_is_quarantined(manager: PluginManager) -> None:
    @hookimpl
    def begasist_register_channel(register: Callable[[object], None]) -> None:
        register(SmsChannel)

    info = manager.register_plugin(
        InProcessPlugin(begasist_register_channel=begasist_register_channel), name="typo"
    )
    assert info.error is not None
    assert "unknown hook 'begasist_register_channel'" in info.error


def test_a_hook_with_a_wrong_signature_is_quarantined(manager: PluginManager) -> None:
    @hookimpl
    def begasist_register_channels(registry: object) -> None:
        """Its argument is not the spec's ``register``."""

    info = manager.register_plugin(
        InProcessPlugin(begasist_register_channels=begasist_register_channels), name="sig"
    )
    assert info.error is not None
    assert info.error.startswith("invalid hooks: PluginValidationError")


def test_quarantine_is_logged_once_and_leaves_no_hooks(
    manager: PluginManager, caplog: pytest.LogCaptureFixture
) -> None:
    broken = plugin(SmsChannel, raises=RuntimeError("boom"))
    with caplog.at_level(logging.INFO, logger="begasist.plugins"):
        manager.register_plugin(broken, name="broken")
        manager.register_plugin(plugin(FaxChannel), name="fax")
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in errors] == [
        f"plugin broken ({InProcessPlugin.__module__}) quarantined: "
        "begasist_register_channels failed: RuntimeError: boom"
    ]
    registered = manager.hook.begasist_register_channels.get_hookimpls()
    assert [impl.plugin_name for impl in registered] == ["fax"]


def test_each_plugin_hook_runs_alone(manager: PluginManager) -> None:
    calls: list[str] = []

    def counting(name: str) -> InProcessPlugin:
        @hookimpl
        def begasist_register_channels(register: Callable[[object], None]) -> None:
            calls.append(name)

        return InProcessPlugin(begasist_register_channels=begasist_register_channels)

    for name in ("a", "b", "c"):
        manager.register_plugin(counting(name), name=name)
    assert calls == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, None, id="unset-loads-all"),
        pytest.param({"BEGASIST_LOAD_PLUGINS": ""}, frozenset(), id="empty-loads-none"),
        pytest.param({"BEGASIST_LOAD_PLUGINS": " , "}, frozenset(), id="blank-loads-none"),
        pytest.param({"BEGASIST_LOAD_PLUGINS": "demo"}, frozenset({"demo"}), id="one"),
        pytest.param({"BEGASIST_LOAD_PLUGINS": "a, b,"}, frozenset({"a", "b"}), id="several"),
    ],
)
def test_plugins_to_load_from_env(environ: dict[str, str], expected: frozenset[str] | None) -> None:
    assert plugins_to_load_from_env(environ) == expected


def test_the_manager_reads_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEGASIST_LOAD_PLUGINS", "demo,sms")
    assert PluginManager().load == frozenset({"demo", "sms"})
    monkeypatch.delenv("BEGASIST_LOAD_PLUGINS")
    assert PluginManager().load is None


def test_the_plugin_table_puts_the_error_beside_the_name() -> None:
    infos = [
        PluginInfo(
            name="demo",
            module="begasist_channel_demo",
            distribution="begasist-channel-demo",
            version="0.1.0",
            status=PluginStatus.OK,
            channels=("demo",),
        ),
        PluginInfo(
            name="broken",
            module="broken_plugin",
            status=PluginStatus.QUARANTINED,
            error="import failed: ImportError: no module named x",
        ),
    ]
    assert format_plugin_table(infos).splitlines() == [
        "NAME    VERSION  DISTRIBUTION           CHANNELS  STATUS",
        "demo    0.1.0    begasist-channel-demo  demo      ok",
        "broken  -        broken_plugin          -         quarantined: import failed: "
        "ImportError: no module named x",
    ]
    assert format_plugin_table([]) == "no plugins loaded"


def test_a_hook_raising_system_exit_is_quarantined_and_unregistered(
    manager: PluginManager,
) -> None:
    @hookimpl
    def begasist_register_channels(register: Callable[[object], None]) -> None:
        register(SmsChannel)
        raise SystemExit(3)

    quitter = InProcessPlugin(begasist_register_channels=begasist_register_channels)
    info = manager.register_plugin(quitter, name="quitter")
    assert info.status is PluginStatus.QUARANTINED
    assert info.error == "begasist_register_channels failed: SystemExit: 3"

    # The host goes on: the next plugin loads, and nothing of the quitter is kept.
    fax = manager.register_plugin(plugin(FaxChannel), name="fax")
    assert fax.status is PluginStatus.OK
    assert dict(manager.channels) == {"fax": FaxChannel}
    assert manager.plugins == [info, fax]
    registered = manager.hook.begasist_register_channels.get_hookimpls()
    assert [impl.plugin_name for impl in registered] == ["fax"]
    # Calling the hook reaches the fax plugin only (the quitter would exit).
    called: list[object] = []
    manager.hook.begasist_register_channels(register=called.append)
    assert called == [FaxChannel]
