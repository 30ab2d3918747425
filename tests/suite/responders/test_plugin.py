"""The suite's responders register through begasist_register_responders like any plugin."""

from __future__ import annotations

from begasist_core import PluginManager, PluginStatus
from begasist_suite.responders import FaqResponder, builtin_responders


def test_registering_the_builtin_plugin_yields_the_faq_responder() -> None:
    manager = PluginManager(load=frozenset())
    info = manager.register_plugin(builtin_responders, name=builtin_responders.PLUGIN_NAME)
    assert info.status is PluginStatus.OK
    assert info.responders == ("faq",)
    assert manager.responders["faq"] is FaqResponder
    assert dict(manager.channels) == {}
