"""``begasist init`` / ``fleet`` as an operator runs them: subprocesses in a fresh directory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.suite.test_cli import clean_environment

BEGASIST = Path(sys.executable).parent / "begasist"
ADMIN = "admin@example.com"
ADMIN_PASSWORD = "a long and quiet hotel corridor"

Begasist = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def begasist(tmp_path: Path) -> Begasist:
    """Run ``begasist`` in *tmp_path* with no BEGASIST_* setting but *environment*'s."""

    def run(
        *arguments: str,
        stdin: str | None = None,
        code: int = 0,
        environment: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BEGASIST), *arguments],
            env=clean_environment(**(environment or {})),
            cwd=tmp_path,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == code, f"{arguments}: {result.stdout}\n{result.stderr}"
        return result

    return run


@pytest.fixture
def initialised(begasist: Begasist) -> Begasist:
    """*begasist* after a first ``begasist init`` with an admin."""
    begasist("init", "--admin-email", ADMIN, "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    return begasist


def on_store(begasist: Begasist, *arguments: str, code: int = 0) -> str:
    """An admin command on the store ``init`` made (``./data/begasist.sqlite3``)."""
    environment = {"BEGASIST_SQLITE_PATH": "data/begasist.sqlite3"}
    return begasist(*arguments, environment=environment, code=code).stdout
