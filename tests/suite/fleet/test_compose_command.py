"""``begasist fleet compose``: compose.yaml from the hotels in the store, tokens in ``.env``."""

from __future__ import annotations

import difflib
import stat
from pathlib import Path
from typing import Any

import yaml
from begasist_suite.fleet.env_file import EnvFile
from begasist_suite.seed import DEMO_HOTELS

from tests.suite.fleet.conftest import (
    Begasist,
    bot_token_owners,
    create_hotels,
    delete_hotel,
    on_store,
)

REPO = Path(__file__).resolve().parents[3]


def services(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))["services"]
    return found


def bot_tokens(env_path: Path) -> dict[str, str]:
    env = EnvFile.read(env_path)
    return {
        name: env.get(name) or "" for name in env.names() if name.startswith("BEGASIST_BOT_TOKEN_")
    }


def test_the_checked_in_compose_file_is_the_output_for_the_demo_hotels(
    initialised: Begasist, tmp_path: Path
) -> None:
    create_hotels(tmp_path, *(hotel.slug for hotel in DEMO_HOTELS))
    initialised("fleet", "compose", "--out", "compose.yaml")
    generated = (tmp_path / "compose.yaml").read_text(encoding="utf-8")
    checked_in = (REPO / "compose.yaml").read_text(encoding="utf-8")
    assert generated == checked_in, (
        "compose.yaml is not `begasist fleet compose`'s output for the demo hotels:\n"
        + "".join(difflib.unified_diff(checked_in.splitlines(True), generated.splitlines(True)))
    )


def test_missing_bot_tokens_are_minted_into_the_env_and_never_printed(
    initialised: Begasist, tmp_path: Path
) -> None:
    create_hotels(tmp_path, "plaza-mar", "sol")
    result = initialised("fleet", "compose")
    tokens = bot_tokens(tmp_path / ".env")
    assert set(tokens) == {"BEGASIST_BOT_TOKEN_PLAZA_MAR", "BEGASIST_BOT_TOKEN_SOL"}
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    for token in tokens.values():
        assert token.startswith("bgb_")
        assert token not in result.stdout + result.stderr
    assert "plaza-mar, sol" in result.stdout
    assert bot_token_owners(tmp_path) == ["plaza-mar", "sol"]
    bot = services(tmp_path / "compose.yaml")["bot-plaza-mar"]
    assert bot["command"] == ["--hotel", "plaza-mar"]
    assert "${BEGASIST_BOT_TOKEN_PLAZA_MAR:?" in bot["environment"]["BEGASIST_BOT_TOKEN"]

    again = initialised("fleet", "compose")
    assert bot_tokens(tmp_path / ".env") == tokens, "a live token is kept"
    assert "minted" not in again.stdout


def test_a_token_the_store_no_longer_knows_is_replaced(
    initialised: Begasist, tmp_path: Path
) -> None:
    create_hotels(tmp_path, "sol")
    initialised("fleet", "compose")
    first = bot_tokens(tmp_path / ".env")["BEGASIST_BOT_TOKEN_SOL"]
    # Revoked as an operator would, with the command that lists and revokes tokens.
    listed = on_store(initialised, "tokens", "list").splitlines()
    on_store(initialised, "tokens", "revoke", listed[1].split()[0])
    result = initialised("fleet", "compose")
    assert "replaced bot tokens the store does not know for sol" in result.stdout
    assert bot_tokens(tmp_path / ".env")["BEGASIST_BOT_TOKEN_SOL"] not in {"", first}


def test_adding_or_removing_a_hotel_changes_only_its_services(
    initialised: Begasist, tmp_path: Path
) -> None:
    create_hotels(tmp_path, "plaza", "sol")
    compose = tmp_path / "compose.yaml"
    initialised("fleet", "compose", "--standby")
    before = compose.read_text(encoding="utf-8")
    create_hotels(tmp_path, "mar")
    initialised("fleet", "compose", "--standby")
    after = compose.read_text(encoding="utf-8")

    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff
    assert all(line.startswith("+") for line in diff), "nothing else changed"
    added = yaml.safe_load("\n".join(line[1:] for line in diff if line.strip("+")))
    assert set(added) == {"bot-mar", "bot-mar-standby"}
    assert added["bot-mar-standby"] == added["bot-mar"], "the standby is the same bot"
    assert {name: s for name, s in services(compose).items() if name in added} == added

    delete_hotel(tmp_path, "mar")
    removed = initialised("fleet", "compose", "--standby")
    assert compose.read_text(encoding="utf-8") == before
    assert "BEGASIST_BOT_TOKEN_MAR" not in bot_tokens(tmp_path / ".env")
    assert "removed from .env: BEGASIST_BOT_TOKEN_MAR" in removed.stdout


def test_it_needs_the_env_and_the_store_of_init(begasist: Begasist, tmp_path: Path) -> None:
    no_env = begasist("fleet", "compose", code=2)
    assert "begasist init" in no_env.stderr
    (tmp_path / ".env").write_text("BEGASIST_SECRET_KEY=" + "k" * 40 + "\n", encoding="utf-8")
    no_store = begasist("fleet", "compose", code=2)
    assert "no SQLite store" in no_store.stderr
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "compose.yaml").exists()
