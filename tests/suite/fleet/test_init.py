"""``begasist init``: secret key, store, first platform admin and ``.env``, safe to run again."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from begasist_suite.fleet.env_file import EnvFile
from begasist_suite.secret_box import SecretBox

from tests.suite.fleet.conftest import ADMIN, ADMIN_PASSWORD, Begasist, create_hotels, on_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_the_key_the_store_the_admin_and_a_private_env(
    begasist: Begasist, tmp_path: Path
) -> None:
    result = begasist(
        "init", "--admin-email", ADMIN, "--password-stdin", stdin=ADMIN_PASSWORD + "\n"
    )
    store = tmp_path / "data" / "begasist.sqlite3"
    assert store.is_file()
    assert f"SQLite file {store}" in result.stderr, "init names the store it used"
    env = EnvFile.read(tmp_path / ".env")
    assert mode(tmp_path / ".env") == 0o600
    key = env.get("BEGASIST_SECRET_KEY")
    assert key is not None
    SecretBox(key)  # a key the suite accepts
    assert env.get("BEGASIST_DOMAIN") == "localhost"
    assert key not in result.stdout + result.stderr, "the secret key is never printed"
    users = json.loads(on_store(begasist, "users", "list", "--json"))
    assert [(u["email"], u["admin"]) for u in users] == [(ADMIN, True)]
    # The suite's container (the image's user 10001) writes this store through its mount.
    if os.geteuid() == 0:
        assert {store.stat().st_uid, store.parent.stat().st_uid} == {10001}
    else:
        assert f"sudo chown -R 10001:10001 {store.parent}" in result.stderr


def test_a_directory_that_was_there_is_not_taken_over(begasist: Begasist, tmp_path: Path) -> None:
    owner = tmp_path.stat().st_uid
    result = begasist(
        "init",
        "--admin-email",
        ADMIN,
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
        environment={"BEGASIST_SQLITE_PATH": "store.sqlite3"},
    )
    assert (tmp_path / "store.sqlite3").is_file()
    assert tmp_path.stat().st_uid == owner
    assert (tmp_path / ".env").stat().st_uid == owner
    assert f"give it {tmp_path}" in result.stderr


def test_a_second_run_keeps_everything_and_says_so(initialised: Begasist, tmp_path: Path) -> None:
    before = (tmp_path / ".env").read_bytes()
    again = initialised("init")
    assert (tmp_path / ".env").read_bytes() == before
    assert f"{ADMIN} (exists)" in again.stdout
    assert "exists, left as it is" in again.stdout
    named = initialised("init", "--admin-email", ADMIN, "--password-stdin", stdin="x\n")
    assert "left as it is" in named.stdout, "an existing user is neither changed nor re-asked"
    users = json.loads(on_store(initialised, "users", "list", "--json"))
    assert len(users) == 1


def test_force_updates_the_env_but_keeps_its_key_and_own_lines(
    initialised: Begasist, tmp_path: Path
) -> None:
    env_path = tmp_path / ".env"
    key = EnvFile.read(env_path).get("BEGASIST_SECRET_KEY")
    with env_path.open("a", encoding="utf-8") as file:
        file.write("# mine\nMY_OWN=1\nBEGASIST_DOMAIN=inbox.example.com\n")
    env_path.chmod(0o644)
    create_hotels(tmp_path, "plaza")
    initialised("init", "--force")
    env = EnvFile.read(env_path)
    assert env.get("BEGASIST_SECRET_KEY") == key
    assert env.get("MY_OWN") == "1"
    assert env.get("BEGASIST_DOMAIN") == "inbox.example.com"
    assert (env.get("BEGASIST_BOT_TOKEN_PLAZA") or "").startswith("bgb_")
    assert mode(env_path) == 0o600


@pytest.mark.parametrize(
    "password",
    ["", "short", "aaaaaaaaaaaaaaaa", "password1234", "admin@example.com"],
    ids=["empty", "short", "one-character", "well-known", "the-email"],
)
def test_a_weak_or_empty_password_is_refused_and_nothing_is_made(
    begasist: Begasist, tmp_path: Path, password: str
) -> None:
    refused = begasist(
        "init", "--admin-email", ADMIN, "--password-stdin", stdin=password + "\n", code=2
    )
    assert refused.stderr.splitlines()[-1].startswith("begasist: error: the password is")
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / ".env").exists()


def test_without_a_terminal_the_admin_must_be_named(begasist: Begasist, tmp_path: Path) -> None:
    refused = begasist("init", stdin="", code=2)
    assert "--admin-email" in refused.stderr
    asked = begasist("init", "--admin-email", ADMIN, stdin="", code=2)
    assert "--password-stdin" in asked.stderr
    assert not (tmp_path / ".env").exists()


def test_an_env_without_a_key_or_with_another_key_is_refused(
    begasist: Begasist, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("BEGASIST_DOMAIN=inbox.example.com\n", encoding="utf-8")
    lacking = begasist("init", "--admin-email", ADMIN, "--password-stdin", stdin="", code=2)
    assert "without BEGASIST_SECRET_KEY" in lacking.stderr
    assert not (tmp_path / "data").exists()

    (tmp_path / ".env").write_text("BEGASIST_SECRET_KEY=" + "k" * 40 + "\n", encoding="utf-8")
    other = {"BEGASIST_SECRET_KEY": "e" * 40}
    clash = begasist("init", "--force", environment=other, stdin="", code=2)
    assert "differs" in clash.stderr
    assert "k" * 40 not in clash.stderr
    assert "e" * 40 not in clash.stderr
