"""The ``.env`` editor: the operator's lines stay, values compose reads back intact, 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from begasist_suite.fleet.env_file import EnvFile, EnvFileError


def test_changes_keep_other_lines_and_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# a comment\nKEEP=me\nA=1\n\nexport A='2'\n", encoding="utf-8")
    path.chmod(0o644)
    env = EnvFile.read(path)
    assert env.get("A") == "2", "the last assignment wins, as in compose"
    env.set("A", "3")
    env.set("NEW", "x$y z")
    assert env.remove("KEEP")
    env.write()
    assert path.read_text(encoding="utf-8") == "# a comment\n\nA=3\nNEW='x$y z'\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert EnvFile.read(path).get("NEW") == "x$y z"


def test_values_compose_would_misread_are_refused(tmp_path: Path) -> None:
    env = EnvFile.read(tmp_path / ".env")
    assert not env.existed
    for value in ("two\nlines", "it's $HOME"):
        with pytest.raises(EnvFileError):
            env.set("A", value)
