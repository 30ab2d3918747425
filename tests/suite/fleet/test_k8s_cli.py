"""``begasist fleet k8s`` as an operator runs it: a store's hotels, a .env, a directory."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml

from tests.suite.fleet.conftest import Begasist, on_store
from tests.suite.test_cli import SECRET_KEY, begasist, clean_environment

FLEET_COMMAND = ["fleet", "k8s"]


def seeded(tmp_path: Path, *hotels: str) -> dict[str, str]:
    environment = clean_environment(BEGASIST_SQLITE_PATH=str(tmp_path / "store.sqlite3"))
    for hotel in hotels:
        begasist(environment, "hotels", "create", hotel, "--name", hotel.title())
    return environment


def test_writes_validated_manifests_with_the_env_files_secrets_never_printed(
    tmp_path: Path,
) -> None:
    environment = seeded(tmp_path, "plaza", "sol")
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"BEGASIST_SECRET_KEY={SECRET_KEY}\nBEGASIST_BOT_TOKEN_PLAZA=bot-secret-of-plaza\n"
    )
    out = tmp_path / "k8s"
    result = begasist(
        environment,
        *FLEET_COMMAND,
        "--out",
        str(out),
        "--env",
        str(env_file),
        "--namespace",
        "hotels",
        "--image-tag",
        "green-7",
    )
    names = sorted(path.name for path in out.iterdir())
    assert names == [
        "00-namespace.yaml",
        "10-secrets.yaml",
        "20-redis.yaml",
        "30-suite.yaml",
        "40-ingress.yaml",
        "50-bots.yaml",
    ]
    assert result.stdout.split() == [str(out / name) for name in names]
    for secret in (SECRET_KEY, "bot-secret-of-plaza"):
        assert secret not in result.stdout + result.stderr
    # The missing token is named (never its value, there is none) as a placeholder.
    assert "BEGASIST_BOT_TOKEN_SOL" in result.stderr
    assert "BEGASIST_BOT_TOKEN_PLAZA" not in result.stderr
    secrets_file = out / "10-secrets.yaml"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert "REPLACE-ME: BEGASIST_BOT_TOKEN_SOL" in secrets_file.read_text()
    documents = [
        document for name in names for document in yaml.safe_load_all((out / name).read_text())
    ]
    for document in documents:
        kubernetes_validate.validate(document, "1.37.0", strict=True)
        assert document["kind"] == "Namespace" or document["metadata"]["namespace"] == "hotels"
    tokens = next(d for d in documents if d["metadata"]["name"] == "begasist-bot-tokens")
    assert tokens["stringData"] == {"plaza": "bot-secret-of-plaza", "sol": "REPLACE-ME"}
    bots = [d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"]
    assert bots == ["suite-blue", "bot-plaza", "bot-sol"]

    # Again: the same bytes. Then sharded: the per-hotel bots are gone, a StatefulSet is there.
    before = {name: (out / name).read_bytes() for name in names}
    begasist(
        environment,
        *FLEET_COMMAND,
        "--out",
        str(out),
        "--env",
        str(env_file),
        "--namespace",
        "hotels",
        "--image-tag",
        "green-7",
    )
    assert {name: (out / name).read_bytes() for name in names} == before
    # Sharded, Redis elsewhere, the Secrets managed another way: the applied ones stay put.
    result = begasist(
        environment,
        *FLEET_COMMAND,
        "--out",
        str(out),
        "--sharded",
        "2",
        "--external-redis",
        "--without-secrets",
    )
    assert str(out / "10-secrets.yaml") not in result.stdout
    assert "REPLACE-ME" not in result.stderr
    assert (out / "10-secrets.yaml").read_bytes() == before["10-secrets.yaml"]
    assert not (out / "20-redis.yaml").exists()
    bots_file = list(yaml.safe_load_all((out / "50-bots.yaml").read_text()))
    assert [d["kind"] for d in bots_file] == ["Service", "StatefulSet", "PodDisruptionBudget"]


def test_refuses_bad_flags_and_a_missing_store(tmp_path: Path) -> None:
    environment = seeded(tmp_path, "plaza")
    result = begasist(environment, *FLEET_COMMAND, "--out", str(tmp_path), "--sharded", "0", code=2)
    assert "--sharded" in result.stderr
    result = begasist(environment, *FLEET_COMMAND, "--image-tag", "bad tag!", code=2)
    assert "--image-tag" in result.stderr
    elsewhere = clean_environment(BEGASIST_SQLITE_PATH=str(tmp_path / "none.sqlite3"))
    result = begasist(elsewhere, *FLEET_COMMAND, "--out", str(tmp_path / "k"), code=2)
    assert "no SQLite store" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_the_fleet_help_lists_k8s() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "begasist_suite.cli", "fleet", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "k8s" in result.stdout


def test_after_init_and_fleet_compose_no_secret_is_a_placeholder(
    initialised: Begasist, tmp_path: Path
) -> None:
    # The operator's path: init, hotels, compose (which mints the bots' tokens into .env),
    # then k8s from the same directory, store and .env with no setting at all.
    for hotel in ("plaza", "sol"):
        on_store(initialised, "hotels", "create", hotel, "--name", hotel.title())
    initialised("fleet", "compose")
    result = initialised(*FLEET_COMMAND)
    assert "REPLACE-ME" not in result.stderr
    assert "data/begasist.sqlite3" in result.stderr
    secrets = list(yaml.safe_load_all((tmp_path / "k8s" / "10-secrets.yaml").read_text()))
    env = dict(
        line.split("=", 1) for line in (tmp_path / ".env").read_text().splitlines() if "=" in line
    )
    values = {key: value for secret in secrets for key, value in secret["stringData"].items()}
    assert values == {
        "BEGASIST_SECRET_KEY": env["BEGASIST_SECRET_KEY"],
        "plaza": env["BEGASIST_BOT_TOKEN_PLAZA"],
        "sol": env["BEGASIST_BOT_TOKEN_SOL"],
    }
    for value in values.values():
        assert value not in result.stdout + result.stderr
