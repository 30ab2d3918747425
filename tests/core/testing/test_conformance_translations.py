"""The conformance kit checks a channel's settings translations: every entry names a real field
(and a real choice), so a renamed field cannot leave a stale label behind."""

from __future__ import annotations

import pytest

from tests.core.testing.test_conformance_kit import (  # noqa: F401 (a fixture, used by name)
    PROBE_MODULE,
    probe_pytester,
)

pytest_plugins = ["pytester"]

TRANSLATION_PROBES = """

class TranslatedSettings(ProbeSettings):
    translations = {
        "es": {
            "api_token": FieldTranslation(title="Token de la API", description="Del proveedor."),
            "mode": FieldTranslation(choices={"manual": "Manual"}),
        }
    }


class Translated(ProbeChannel):
    Settings = TranslatedSettings


class StaleSettings(ProbeSettings):
    translations = {"es": {"api_key": FieldTranslation(title="Clave de la API")}}


class StaleTranslation(ProbeChannel):
    Settings = StaleSettings


class UnknownChoiceSettings(ProbeSettings):
    translations = {"es": {"mode": FieldTranslation(choices={"automatico": "Automático"})}}


class UnknownChoice(ProbeChannel):
    Settings = UnknownChoiceSettings


class TestTranslated(TestGoodProbe):
    channel_class = Translated


class TestStaleTranslation(TestGoodProbe):
    channel_class = StaleTranslation


class TestUnknownChoice(TestGoodProbe):
    channel_class = UnknownChoice
"""

CHECK = "test_settings_translations_name_real_fields"


def run(pytester: pytest.Pytester, probe: str) -> dict[str, str]:
    """Run one inner test class; its failed tests and their reports."""
    pytester.makeini(
        "[pytest]\n"
        "addopts = --strict-markers -p no:randomly -p no:cacheprovider\n"
        "filterwarnings = error\n"
    )
    module = PROBE_MODULE.replace(
        "from begasist_core import (", "from begasist_core import (FieldTranslation, ", 1
    )
    pytester.makepyfile(test_probe=module + TRANSLATION_PROBES)
    result = pytester.inline_run(f"test_probe.py::{probe}", "-p", "no:xdist")
    passed, _, failed = result.listoutcomes()
    assert passed, f"no test of {probe} passed: the probe itself is broken"
    assert any(CHECK in report.nodeid for report in passed + failed), "the kit has no such check"
    return {report.nodeid.split("::")[-1]: str(report.longrepr) for report in failed}


def test_well_formed_translations_pass(probe_pytester: pytest.Pytester) -> None:  # noqa: F811
    assert run(probe_pytester, "TestTranslated") == {}


@pytest.mark.parametrize(
    ("probe", "reason"),
    [
        ("TestStaleTranslation", "'api_key' is not a field of StaleSettings"),
        ("TestUnknownChoice", "'automatico' is not a choice of 'mode'"),
    ],
)
def test_a_translation_of_nothing_real_fails_exactly_that_check(
    probe_pytester: pytest.Pytester,  # noqa: F811
    probe: str,
    reason: str,
) -> None:
    failed = run(probe_pytester, probe)
    assert set(failed) == {CHECK}
    assert reason in failed[CHECK]
