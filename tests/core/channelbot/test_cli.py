"""The channelbot command line: clear errors and exit code 2 for what an operator must fix."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from begasist_core import __version__
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
        "BEGASIST_SUITE_WAIT_SECONDS",
        "BEGASIST_FLEET_TOKEN",
        "BEGASIST_SHARD_COUNT",
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


# -- start-up: a suite that is not there yet ------------------------------------


class _Suite(http.server.BaseHTTPRequestHandler):
    """A suite's bot settings endpoint: ``answers`` in turn, then 200 with plaza's settings."""

    answers: list[int] = []
    asked = 0

    def do_GET(self) -> None:
        type(self).asked += 1
        status = type(self).answers.pop(0) if type(self).answers else 200
        body = json.dumps({"hotel": "plaza", "version": 1, "channels": {}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def suite_answering() -> Iterator[tuple[str, type[_Suite]]]:
    handler = type("Suite", (_Suite,), {"answers": [], "asked": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_suite_that_never_answers_is_waited_for_then_named_with_exit_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEGASIST_BOT_TOKEN", "bt_test")
    monkeypatch.setenv("BEGASIST_SUITE_WAIT_SECONDS", "1")
    url = f"http://127.0.0.1:{_closed_port()}"
    code, err = run(capsys, "--hotel", "plaza", "--suite-url", url)
    assert code == 3
    assert f"cannot reach the suite at {url}" in err
    assert "gave up after 1 s (BEGASIST_SUITE_WAIT_SECONDS)" in err


def test_a_suite_still_starting_is_waited_for(
    suite_answering: tuple[str, type[_Suite]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, suite = suite_answering
    suite.answers = [503, 502]
    monkeypatch.setenv("BEGASIST_BOT_TOKEN", "bt_test")
    code, err = run(capsys, "--hotel", "plaza", "--suite-url", url)
    # Past the settings: the next thing missing is Redis.
    assert code == 2
    assert "missing setting BEGASIST_REDIS_URL" in err
    assert suite.asked == 3


def test_a_refused_bot_token_is_not_waited_for(
    suite_answering: tuple[str, type[_Suite]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, suite = suite_answering
    suite.answers = [401]
    monkeypatch.setenv("BEGASIST_BOT_TOKEN", "bt_wrong")
    code, err = run(capsys, "--hotel", "plaza", "--suite-url", url)
    assert code == 2
    assert "refused the bot token for 'plaza' (401)" in err
    assert suite.asked == 1


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.strip() == f"channelbot {__version__} (begasist-core)"


def test_a_health_port_in_use_is_a_usage_error_naming_the_address(
    settings_file: Path, begasist_redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(
            [
                *("--hotel", "plaza", "--settings-file", str(settings_file)),
                *("--redis-url", begasist_redis_url, "--health-port", str(port)),
            ]
        )
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_health_port_setting_and_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEGASIST_BOT_HEALTH_PORT", "9100")
    monkeypatch.setenv("BEGASIST_BOT_HEALTH_HOST", "0.0.0.0")
    config = BotConfig()
    assert (config.health_port, config.health_host) == (9100, "0.0.0.0")
    monkeypatch.delenv("BEGASIST_BOT_HEALTH_PORT")
    monkeypatch.delenv("BEGASIST_BOT_HEALTH_HOST")
    assert (BotConfig().health_port, BotConfig().health_host) == (None, "127.0.0.1")
    assert BotConfig(health_port=0).health_port == 0


def test_an_invalid_health_port_flag_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--health-port", "70000", "health"])
    assert exited.value.code == 2
    assert "--health-port" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard", "4/4"], "shard 4 does not exist in 4"),
        (["--shard", "two"], "--shard wants K/N"),
        (["--shard", "0/2", "--hotel", "plaza"], "drop --hotel"),
        (["--shard", "0/2", "--shard-from-hostname"], "not both"),
        (["--shard-from-hostname"], "needs BEGASIST_SHARD_COUNT"),
        (["--shard", "0/2", "--suite-url", "http://127.0.0.1:9"], "BEGASIST_FLEET_TOKEN"),
    ],
)
def test_a_bad_shard_is_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_the_shard_comes_from_the_statefulset_pods_host_name(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEGASIST_SHARD_COUNT", "4")
    monkeypatch.setattr("socket.gethostname", lambda: "bots-7")
    code, err = run(capsys, "--shard-from-hostname", "--settings-file", str(settings_file))
    assert code == 2
    assert "shard 7 does not exist in 4" in err
    monkeypatch.setattr("socket.gethostname", lambda: "bots-3")
    # Shard 3 of 4 exists: the bot goes on to list the hotels and stops at the missing Redis.
    code, err = run(capsys, "--shard-from-hostname", "--settings-file", str(settings_file))
    assert code == 2
    assert "BEGASIST_REDIS_URL" in err


def test_a_refused_fleet_token_is_not_waited_for(
    suite_answering: tuple[str, type[_Suite]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, suite = suite_answering
    suite.answers = [401]
    monkeypatch.setenv("BEGASIST_FLEET_TOKEN", "bgf_wrong")
    code, err = run(capsys, "--shard", "0/2", "--suite-url", url)
    assert code == 2
    assert "refused the fleet token (401)" in err
    assert "bgf_wrong" not in err
    assert suite.asked == 1
