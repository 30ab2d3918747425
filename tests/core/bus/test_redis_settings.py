"""BEGASIST_REDIS_*: a URL or Sentinels (never both), parsed and named without secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from begasist_core.bus.connection import redis_label
from begasist_core.bus.redis_settings import (
    RedisSettings,
    parse_sentinels,
    redis_client,
    redis_settings_label,
)
from begasist_core.channelbot.cli import main as channelbot
from pydantic import ValidationError


@pytest.fixture(autouse=True)
def no_redis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RedisSettings.model_fields:
        monkeypatch.delenv(f"BEGASIST_{name.upper()}", raising=False)


def test_sentinels_are_host_port_pairs() -> None:
    assert parse_sentinels("a:26379, b.internal:26380,[::1]:26381,") == (
        ("a", 26379),
        ("b.internal", 26380),
        ("::1", 26381),
    )


@pytest.mark.parametrize("value", ["a", "a:", ":26379", "a:port", "a:0", "a:70000"])
def test_a_malformed_sentinel_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="is not host:port"):
        parse_sentinels(value)


def test_sentinels_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEGASIST_REDIS_SENTINELS", "s1:26379,s2:26379")
    monkeypatch.setenv("BEGASIST_REDIS_SENTINEL_MASTER", "begasist")
    monkeypatch.setenv("BEGASIST_REDIS_PASSWORD", "master-secret")
    settings = RedisSettings()
    assert settings.redis_sentinels == (("s1", 26379), ("s2", 26379))
    assert settings.redis_configured
    label = redis_settings_label(settings)
    assert label == "master 'begasist' via sentinels s1:26379,s2:26379"
    assert "secret" not in label


def test_a_url_and_sentinels_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEGASIST_REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("BEGASIST_REDIS_SENTINELS", "s1:26379")
    monkeypatch.setenv("BEGASIST_REDIS_SENTINEL_MASTER", "begasist")
    with pytest.raises(ValidationError, match="both set"):
        RedisSettings()


def test_sentinels_need_the_master_name_and_the_name_needs_sentinels() -> None:
    with pytest.raises(ValidationError, match="needs BEGASIST_REDIS_SENTINEL_MASTER"):
        RedisSettings(redis_sentinels="s1:26379")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="needs BEGASIST_REDIS_SENTINELS"):
        RedisSettings(redis_sentinel_master="begasist")


def test_neither_is_unconfigured_and_an_empty_url_is_unset() -> None:
    assert not RedisSettings().redis_configured
    assert not RedisSettings(redis_url="").redis_configured
    with pytest.raises(ValueError, match="no Redis"):
        redis_client(RedisSettings())


@pytest.mark.anyio
async def test_the_sentinel_client_is_named_by_its_master() -> None:
    client = redis_client(
        RedisSettings(redis_sentinels="127.0.0.1:1", redis_sentinel_master="begasist")  # type: ignore[arg-type]
    )
    try:
        assert redis_label(client) == "master 'begasist' via Sentinel"
    finally:
        await client.aclose()


def test_channelbot_refuses_a_url_and_sentinels(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEGASIST_REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("BEGASIST_REDIS_SENTINELS", "s1:26379")
    monkeypatch.setenv("BEGASIST_REDIS_SENTINEL_MASTER", "begasist")
    with pytest.raises(SystemExit) as exited:
        channelbot(["--hotel", "plaza"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "BEGASIST_REDIS_URL and BEGASIST_REDIS_SENTINELS are both set" in err


def test_channelbot_refuses_the_redis_url_flag_with_sentinels(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = tmp_path / "hotels.toml"
    settings.write_text(
        "[hotels.plaza]\nversion = 1\n[hotels.plaza.channels.demo]\nwebhook_secret = 'shh'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BEGASIST_REDIS_SENTINELS", "s1:26379")
    monkeypatch.setenv("BEGASIST_REDIS_SENTINEL_MASTER", "begasist")
    code = channelbot(
        ["--hotel", "plaza", "--settings-file", str(settings), "--redis-url", "redis://r:6379"]
    )
    assert code == 2
    assert "--redis-url and BEGASIST_REDIS_SENTINELS are both given" in capsys.readouterr().err
