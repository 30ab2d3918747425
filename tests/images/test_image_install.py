"""The images' install steps, run without Docker: wheels built, installed offline, CLI runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

Stages = Callable[[str], list]


def in_tmp(command: list[str], python: Path, wheels: Path) -> list[str]:
    """A Dockerfile's pip command with the image's python and /wheels swapped for ours."""
    translated = [str(python), *command[1:]]
    return [str(wheels) if word == "/wheels" else word for word in translated]


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    result = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


# image -> (a word its entry point's --help must print, the module it must import)
IMAGES = {
    "channelbot.Dockerfile": ("--hotel", "begasist_core"),
    "suite.Dockerfile": ("serve", "begasist_suite"),
}

# image -> a check that files the image serves came with its wheels
INSTALLED_FILES = {
    # Swagger UI at /schema: from the pinned swagger-ui-bundle-v2 wheel, not a CDN.
    "suite.Dockerfile": (
        "from begasist_suite.api.api_viewer import swagger_ui_directory; swagger_ui_directory()"
    ),
}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("image", sorted(IMAGES))
def test_the_image_installs_from_its_wheels_and_runs(
    image: str, tmp_path: Path, dockerfile_stages: Stages
) -> None:
    stages = dockerfile_stages(image)
    build, runtime = stages[0], stages[-1]
    assert build.last("WORKDIR") == "/src"
    context, wheels, venv = tmp_path / "src", tmp_path / "wheels", tmp_path / "venv"

    # COPY: the build context, as the build stage sees it under its WORKDIR.
    for _, sources, destination in build.copies():
        for source in sources:
            shutil.copytree(
                REPO_ROOT / source,
                context / destination,
                ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]", "dist", "build"),
            )
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"

    build_commands = build.pip_commands()
    install_commands = runtime.pip_commands()
    assert [command[3] for command in build_commands] == ["wheel"]
    assert [command[3] for command in install_commands] == ["install", "check"]
    for command in build_commands:
        run(in_tmp(command, python, wheels), cwd=context)
    for command in install_commands:
        run(in_tmp(command, python, wheels), cwd=tmp_path)
    # The embedded engine is for development only: no image may carry it.
    assert not list(wheels.glob("valkey*")), "the image would carry the embedded engine"

    help_word, module = IMAGES[image]
    run([str(python), "-c", f"import {module}"], cwd=tmp_path)
    if image in INSTALLED_FILES:
        run([str(python), "-c", INSTALLED_FILES[image]], cwd=tmp_path)
    (entry_point,) = runtime.exec_form("ENTRYPOINT") or [""]
    executable = venv / "bin" / entry_point
    assert help_word in run([str(executable), "--help"], cwd=tmp_path).stdout
