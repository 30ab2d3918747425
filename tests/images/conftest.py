"""Reading the Dockerfiles under images/ the way Docker does, for checks that need no engine."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    """One ``FROM`` stage: its base image, its name, and its instructions in order."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for name, argument in self.instructions if name == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def exec_form(self, keyword: str) -> list[str] | None:
        """``ENTRYPOINT``/``CMD`` in exec form (a JSON list), or None when absent."""
        argument = self.last(keyword)
        if argument is None:
            return None
        parsed = json.loads(argument)
        assert isinstance(parsed, list), f"{keyword} {argument} is not in exec form"
        return parsed

    def copies(self) -> list[tuple[list[str], list[str], str]]:
        """Each ``COPY`` as (flags, sources, destination)."""
        result = []
        for argument in self.all("COPY"):
            words = shlex.split(argument)
            flags = [word for word in words if word.startswith("--")]
            paths = [word for word in words if not word.startswith("--")]
            result.append((flags, paths[:-1], paths[-1]))
        return result

    def pip_commands(self) -> list[list[str]]:
        """The ``python -m pip ...`` commands of the ``RUN`` instructions, split on ``&&``."""
        commands: list[list[str]] = []
        for argument in self.all("RUN"):
            words = [word for word in shlex.split(argument) if not word.startswith("--mount=")]
            command: list[str] = []
            for word in [*words, "&&"]:
                if word != "&&":
                    command.append(word)
                    continue
                if command[:3] == ["python", "-m", "pip"]:
                    commands.append(command)
                command = []
        return commands


def parse_dockerfile(path: Path) -> list[Stage]:
    """The stages of a Dockerfile: continuations joined, comments dropped."""
    stages: list[Stage] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, even inside a continuation.
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, argument = (pending + line).partition(" ")
        pending = ""
        keyword, argument = keyword.upper(), argument.strip()
        if keyword == "FROM":
            image, _, alias = argument.partition(" AS ")
            stages.append(Stage(base=image.strip(), name=alias.strip() or None))
        else:
            assert stages, f"{path.name}: {keyword} before the first FROM"
            stages[-1].instructions.append((keyword, argument))
    assert not pending, f"{path.name} ends inside a continuation"
    return stages


@pytest.fixture(scope="session")
def dockerfile_stages() -> Callable[[str], list[Stage]]:
    """``images/<name>`` parsed into its stages."""
    return lambda name: parse_dockerfile(REPO_ROOT / "images" / name)
