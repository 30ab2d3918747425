"""``begasist serve`` and the Redis settings: a URL or Sentinels, never both."""

from __future__ import annotations

import pytest
from begasist_suite.cli import check_serve_settings, main
from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings

SECRET_KEY = "serve-redis-test-key-" + "x" * 32


@pytest.fixture(autouse=True)
def no_redis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SuiteSettings.model_fields:
        if name.startswith("redis_"):
            monkeypatch.delenv(f"BEGASIST_{name.upper()}", raising=False)


def test_serve_refuses_a_url_and_sentinels_together(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEGASIST_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("BEGASIST_REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("BEGASIST_REDIS_SENTINELS", "s1:26379,s2:26379")
    monkeypatch.setenv("BEGASIST_REDIS_SENTINEL_MASTER", "begasist")
    with pytest.raises(SystemExit) as exited:
        main(["serve"])
    assert exited.value.code == 2
    assert "BEGASIST_REDIS_URL and BEGASIST_REDIS_SENTINELS are both set" in (
        capsys.readouterr().err
    )


def test_sentinels_alone_are_enough_to_serve() -> None:
    settings = SuiteSettings(
        secret_key=SECRET_KEY,
        redis_sentinels="s1:26379",  # type: ignore[arg-type]
        redis_sentinel_master="begasist",
    )
    check_serve_settings(settings, host="127.0.0.1", port=8000)


def test_neither_names_both_ways_to_give_redis() -> None:
    with pytest.raises(UsageError, match="BEGASIST_REDIS_URL, or BEGASIST_REDIS_SENTINELS"):
        check_serve_settings(SuiteSettings(secret_key=SECRET_KEY), host="127.0.0.1", port=8000)
