"""The channelbot command line: clear errors and exit code 2 for what an operator must fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from begasist_core.channelbot.cli import main
from begasist_core.channelbot.config import BotConfig
from begasist_core.testing import write_distribution


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "hotels.toml"
    path.write_text(
        "[hotels.plaza]\nversion = 1\n[hotels.plaza.channels.demo]\nwebhook_secret = 'shh'\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def no_bot_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (
        "BEGASIST_REDIS_URL",
        "BEGASIST_SUITE_URL",
        "BEGASIST_BOT_TOKEN",
        "BEGASIST_BOT_TOKENS",
        "BEGASIST_SETTINGS_FILE",
    ):
        monkeypatch.delenv(variable, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_unknown_hotel_is_a_usage_error(
    settings_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, "--hotel", "ritz", "--settings-file", str(settings_file))
    assert code == 2
    assert "hotel 'ritz' is not in" in err


def test_invalid_hotel_slug_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "--hotel", "Bad Slug", "--settings-file", "x.toml")
    assert code == 2
    assert "invalid hotel slug" in err


def test_missing_redis_url_is_a_usage_error(
    settings_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, "--hotel", "plaza", "--settings-file", str(settings_file))
    assert code == 2
    assert "missing setting BEGASIST_REDIS_URL" in err


def test_missing_settings_source_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "--hotel", "plaza")
    assert code == 2
    assert "missing setting BEGASIST_SUITE_URL" in err


def test_missing_bot_token_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "--hotel", "plaza", "--suite-url", "http://127.0.0.1:9")
    assert code == 2
    assert "missing setting BEGASIST_BOT_TOKEN" in err


def test_a_missing_channel_setting_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hotels.toml"
    path.write_text("[hotels.plaza]\nversion = 1\n[hotels.plaza.channels.demo]\n", encoding="utf-8")
    code, err = run(capsys, "--hotel", "plaza", "--settings-file", str(path))
    assert code == 2
    assert "channel demo: webhook_secret: Field required" in err


def test_no_hotel_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys)
    assert code == 2
    assert "--hotel" in err


def test_plugins_json_lists_a_broken_plugin_as_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_distribution(
        tmp_path / "site",
        name="begasist-broken",
        version="0.0.1",
        modules={"begasist_broken": "raise RuntimeError('boom at import')\n"},
        entry_points={"broken": "begasist_broken"},
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("BEGASIST_LOAD_PLUGINS", raising=False)

    assert main(["plugins", "--json"]) == 0
    plugins = {info["name"]: info for info in json.loads(capsys.readouterr().out)}
    assert plugins["demo"]["status"] == "ok"
    broken = plugins["broken"]
    assert broken["status"] == "quarantined"
    assert broken["distribution"] == "begasist-broken"
    assert broken["version"] == "0.0.1"
    assert "boom at import" in broken["error"]


@pytest.mark.parametrize("ttl", ["0.5", "0", "-3", "nan"])
def test_a_lease_shorter_than_the_safe_minimum_is_refused_with_the_reason(
    ttl: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEGASIST_LEASE_TTL_SECONDS", ttl)
    with pytest.raises(SystemExit) as stopped:
        main(["--hotel", "plaza"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "lease_ttl_seconds" in err
    assert "must be at least 1 s" in err


@pytest.mark.parametrize("ttl", [1, 3, 10])
def test_a_short_lease_down_to_the_safe_minimum_is_accepted(ttl: float) -> None:
    assert BotConfig(lease_ttl_seconds=ttl).lease_ttl_seconds == ttl
