"""The ``begasist`` command as an operator runs it: subprocesses on a temporary SQLite store."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from begasist_core import StreamNames
from begasist_suite.cli import check_serve_settings
from begasist_suite.cli_errors import UsageError
from begasist_suite.cli_schema import check_suite_schema
from begasist_suite.config import SuiteSettings
from redis.asyncio import Redis

REPO = Path(__file__).resolve().parents[2]
BEGASIST = Path(sys.executable).parent / "begasist"
SECRET_KEY = "cli-test-secret-key-" + "x" * 32


def clean_environment(**extra: str) -> dict[str, str]:
    """The test's environment without any BEGASIST_* or ASTRA_* setting, plus *extra*."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("BEGASIST_", "ASTRA_DB_"))}
    return {**kept, **extra}


@pytest.fixture
def store_environment(tmp_path: Path) -> dict[str, str]:
    return clean_environment(
        BEGASIST_SQLITE_PATH=str(tmp_path / "store.sqlite3"), BEGASIST_SECRET_KEY=SECRET_KEY
    )


def begasist(
    environment: dict[str, str],
    *arguments: str,
    stdin: str | None = None,
    code: int = 0,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BEGASIST), *arguments],
        env=environment,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == code, f"{arguments}: {result.stdout}\n{result.stderr}"
    return result


def test_hotels(store_environment: dict[str, str]) -> None:
    begasist(store_environment, "hotels", "create", "plaza", "--name", "Hotel Plaza")
    listed = json.loads(begasist(store_environment, "hotels", "list", "--json").stdout)
    assert listed == [{"slug": "plaza", "name": "Hotel Plaza", "config_version": 0}]
    assert "Hotel Plaza" in begasist(store_environment, "hotels", "list").stdout

    taken = begasist(store_environment, "hotels", "create", "plaza", "--name", "X", code=2)
    assert "exists" in taken.stderr
    bad = begasist(store_environment, "hotels", "create", "Not A Slug", "--name", "X", code=2)
    assert bad.stderr.splitlines()[-1].startswith("begasist: error:")

    begasist(store_environment, "hotels", "delete", "plaza")
    assert json.loads(begasist(store_environment, "hotels", "list", "--json").stdout) == []
    begasist(store_environment, "hotels", "delete", "plaza", code=2)


def test_users_and_memberships(store_environment: dict[str, str]) -> None:
    begasist(store_environment, "hotels", "create", "sol", "--name", "Hotel Sol")
    begasist(
        store_environment, "users", "create", "Ana@Sol.test", "--password-stdin", stdin="s3cret\n"
    )
    admin = begasist(store_environment, "users", "create", "root@begasist.test", "--admin")
    assert re.search(r"^password: \S{12,}$", admin.stdout, re.MULTILINE)
    begasist(store_environment, "users", "add-member", "ana@sol.test", "sol", "manager")

    users = json.loads(begasist(store_environment, "users", "list", "--json").stdout)
    assert [(u["email"], u["admin"], u["hotels"]) for u in users] == [
        ("ana@sol.test", False, {"sol": "manager"}),
        ("root@begasist.test", True, {}),
    ]
    begasist(store_environment, "users", "create", "ana@sol.test", "--admin", code=2)
    begasist(store_environment, "users", "add-member", "nobody@sol.test", "sol", "agent", code=2)
    begasist(store_environment, "users", "add-member", "ana@sol.test", "nowhere", "agent", code=2)
    begasist(store_environment, "users", "add-member", "ana@sol.test", "sol", "emperor", code=2)

    begasist(store_environment, "users", "remove-member", "ana@sol.test", "sol")
    begasist(store_environment, "users", "remove-member", "ana@sol.test", "sol", code=2)


def test_tokens_are_printed_once_listed_and_revoked(store_environment: dict[str, str]) -> None:
    begasist(store_environment, "hotels", "create", "plaza", "--name", "Hotel Plaza")
    begasist(store_environment, "users", "create", "ana@plaza.test")
    bot = begasist(store_environment, "tokens", "create-bot", "plaza").stdout.strip()
    api = begasist(
        store_environment, "tokens", "create-api", "ana@plaza.test", "--name", "script"
    ).stdout.strip()
    fleet = begasist(store_environment, "tokens", "create-fleet").stdout.strip()
    assert bot.startswith("bgb_")
    assert api.startswith("bga_")
    assert fleet.startswith("bgf_")

    listed = json.loads(begasist(store_environment, "tokens", "list", "--json").stdout)
    assert [(t["kind"], t["owner"], t["name"]) for t in listed] == [
        ("bot", "plaza", "bot"),
        ("fleet", "platform", "fleet"),
        ("api", "ana@plaza.test", "script"),
    ]
    for secret in (bot, api, fleet):
        assert secret not in json.dumps(listed)

    begasist(store_environment, "tokens", "create-bot", "nowhere", code=2)
    begasist(store_environment, "tokens", "create-api", "nobody@x.test", "--name", "n", code=2)
    for token in listed:
        begasist(store_environment, "tokens", "revoke", token["id"])
    begasist(store_environment, "tokens", "revoke", listed[0]["id"], code=2)
    assert json.loads(begasist(store_environment, "tokens", "list", "--json").stdout) == []


def test_admin_commands_name_their_store(store_environment: dict[str, str]) -> None:
    created = begasist(store_environment, "hotels", "create", "plaza", "--name", "Plaza")
    path = store_environment["BEGASIST_SQLITE_PATH"]
    assert created.stderr.splitlines() == [
        f"begasist: store: SQLite file {path} (BEGASIST_SQLITE_PATH)"
    ]
    astra = clean_environment(
        BEGASIST_STORE="astra", ASTRA_DB_API_ENDPOINT="https://db.example.test"
    )
    refused = begasist(astra, "hotels", "list", code=2)
    assert refused.stderr.splitlines()[0] == (
        "begasist: store: Astra DB https://db.example.test, keyspace default_keyspace"
    )


def test_only_creating_commands_start_a_new_sqlite_store(tmp_path: Path) -> None:
    """With no configuration, a listing run in the wrong folder must not leave a store there."""
    environment = clean_environment()
    store = tmp_path / "begasist.sqlite3"
    for command in (
        ("hotels", "list"),
        ("users", "list", "--json"),
        ("tokens", "list"),
        ("tokens", "create-bot", "plaza"),
        ("users", "add-member", "ana@plaza.test", "plaza", "agent"),
    ):
        refused = begasist(environment, *command, cwd=tmp_path, code=2)
        error = refused.stderr.splitlines()[-1]
        assert error.startswith(f"begasist: error: no SQLite store at {store} ")
        assert "BEGASIST_SQLITE_PATH" in error
        assert f"`{command[0]} {command[1]}` creates none" in error
        assert not store.exists()
    begasist(environment, "hotels", "create", "plaza", "--name", "Plaza", cwd=tmp_path)
    assert store.exists()
    assert "plaza" in begasist(environment, "hotels", "list", cwd=tmp_path).stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    begasist(environment, "users", "create", "ana@plaza.test", cwd=elsewhere)
    assert (elsewhere / "begasist.sqlite3").exists()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "missing setting BEGASIST_SECRET_KEY"),
        ({"BEGASIST_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"BEGASIST_SECRET_KEY": SECRET_KEY}, "missing setting BEGASIST_REDIS_URL"),
        (
            {
                "BEGASIST_SECRET_KEY": SECRET_KEY,
                "BEGASIST_REDIS_URL": "redis://127.0.0.1:1/0",
                "BEGASIST_STORE": "astra",
            },
            "ASTRA_DB_API_ENDPOINT",
        ),
        (
            {
                "BEGASIST_SECRET_KEY": SECRET_KEY,
                "BEGASIST_REDIS_URL": "redis://127.0.0.1:1/0",
                "BEGASIST_HOST": "0.0.0.0",
                "BEGASIST_PUBLIC_URL": "http://inbox.example.test",
            },
            "plain HTTP on 0.0.0.0:8000 with Secure session cookies",
        ),
    ],
)
def test_serve_refuses_to_start_without_its_settings(
    settings: dict[str, str], message: str
) -> None:
    result = begasist(clean_environment(**settings), "serve", code=2)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("host", "settings", "refused"),
    [
        ("0.0.0.0", {}, True),
        ("192.0.2.10", {}, True),
        ("suite.internal", {}, True),
        ("::", {}, True),
        ("127.0.0.1", {}, False),
        ("::1", {}, False),
        ("localhost", {}, False),
        ("0.0.0.0", {"behind_tls_proxy": True}, False),
        ("0.0.0.0", {"public_url": "https://inbox.example.test"}, False),
        ("0.0.0.0", {"cookie_secure": False}, False),
    ],
)
def test_serve_binds_plain_http_beyond_loopback_only_behind_tls_or_without_secure_cookies(
    host: str, settings: dict[str, object], refused: bool
) -> None:
    """Secure cookies over plain http: the browser signs in, then every request answers 401."""
    configured = SuiteSettings(secret_key=SECRET_KEY, redis_url="redis://127.0.0.1:1/0", **settings)
    if refused:
        with pytest.raises(UsageError, match="BEGASIST_BEHIND_TLS_PROXY=true"):
            check_serve_settings(configured, host=host, port=8000)
    else:
        check_serve_settings(configured, host=host, port=8000)


def test_an_invalid_setting_is_a_usage_error() -> None:
    result = begasist(clean_environment(BEGASIST_PORT="seventy"), "hotels", "list", code=2)
    assert "BEGASIST_" in result.stderr


def test_plugins_json_lists_channels_and_responders() -> None:
    listed = json.loads(begasist(clean_environment(), "plugins", "--json").stdout)
    channels = {channel for plugin in listed for channel in plugin["channels"]}
    responders = {responder for plugin in listed for responder in plugin["responders"]}
    assert "demo" in channels
    assert "faq" in responders
    assert all(plugin["status"] == "ok" for plugin in listed)


def test_new_channel_writes_a_channel_package_as_channelbot_does(tmp_path: Path) -> None:
    result = begasist(clean_environment(), "new-channel", "sms", "--dir", str(tmp_path / "sms"))
    assert "wrote begasist-channel-sms (channel 'sms')" in result.stdout
    assert (tmp_path / "sms" / "src" / "begasist_channel_sms" / "channel.py").is_file()
    refused = begasist(
        clean_environment(), "new-channel", "sms", "--dir", str(tmp_path / "sms"), code=2
    )
    assert "already exists and is not an empty folder" in refused.stderr


def test_checked_in_schema_matches_the_code() -> None:
    drifted = check_suite_schema(REPO / "docs" / "schema")
    assert not drifted, (
        f"docs/schema is out of date: {', '.join(drifted)}. "
        "Run `hatch run schema` (begasist schema --out docs/schema) and commit the diff."
    )


def test_the_suite_guide_lists_every_setting() -> None:
    guide = (REPO / "docs" / "suite.md").read_text(encoding="utf-8")
    expected = {
        (field.validation_alias if isinstance(field.validation_alias, str) else None)
        or f"BEGASIST_{name.upper()}"
        for name, field in SuiteSettings.model_fields.items()
    }
    documented = set(re.findall(r"^\| `((?:BEGASIST|ASTRA_DB)_[A-Z_]+)` \|", guide, re.M))
    assert documented == expected


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_dev_runs_the_demo_and_stops_everything(
    tmp_path: Path, begasist_redis_url: str, begasist_names: StreamNames, begasist_redis: Redis
) -> None:
    port = free_port()
    environment = clean_environment(
        BEGASIST_REDIS_URL=begasist_redis_url, BEGASIST_PREFIX=begasist_names.prefix
    )
    with (
        (tmp_path / "dev.log").open("w") as log,
        subprocess.Popen(
            [str(BEGASIST), "dev", "--port", str(port), "--data-dir", str(tmp_path / "dev")],
            cwd=tmp_path,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        ) as process,
    ):
        try:
            banner = read_banner(process)
            logins = dict(re.findall(r"login: (\S+)  password: (\S+)", banner))
            assert set(logins) == {"admin@begasist.test", "staff@plaza.test", "staff@sol.test"}
            assert (tmp_path / "dev" / "dev-secrets.json").stat().st_mode & 0o777 == 0o600
            url = f"http://127.0.0.1:{port}"
            site = re.search(r"Demo hotel website with the web chat: (\S+)", banner)
            assert site is not None, banner
            home = httpx.get(site[1], timeout=10)
            assert f'src="{url}/guest/plaza/webchat/widget.js"' in home.text
            with httpx.Client(base_url=url, timeout=10) as client:
                assert client.get("/health").json() == {"status": "ok"}
                # The demo hotel's web chat lets its site's origin in.
                config = client.get("/guest/plaza/webchat/config.json", headers={"origin": site[1]})
                assert config.headers["access-control-allow-origin"] == site[1]
                login = {"email": "staff@plaza.test", "password": logins["staff@plaza.test"]}
                client.post("/api/v1/auth/login", json=login).raise_for_status()
                deadline = time.monotonic() + 30
                conversations: list[dict[str, object]] = []
                while not conversations and time.monotonic() < deadline:
                    answer = client.get("/api/v1/hotels/plaza/conversations")
                    answer.raise_for_status()
                    conversations = answer.json()["items"]
                    time.sleep(0.5)
            assert conversations, (tmp_path / "dev.log").read_text()
            assert conversations[0]["channel"] == "demo"

            children = psutil.Process(process.pid).children(recursive=True)
            bots = [c for c in children if "begasist_core.channelbot.cli" in c.cmdline()]
            assert len(bots) == 2
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0, (tmp_path / "dev.log").read_text()
            _, alive = psutil.wait_procs(children, timeout=10)
            assert not alive, f"orphans: {alive}"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def read_banner(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Stop with Ctrl-C"):
            return "".join(lines)
    raise AssertionError(f"begasist dev exited ({process.wait()}) before it was ready")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    from begasist_suite.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    suite, core = metadata.version("begasist-suite"), metadata.version("begasist-core")
    assert capsys.readouterr().out.strip() == f"begasist {suite} (begasist-core {core})"
