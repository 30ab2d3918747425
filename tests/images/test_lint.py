"""The CI workflows under actionlint and the Dockerfiles under hadolint: no finding passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
DOCKERFILES = sorted((REPO / "images").glob("*.Dockerfile"))


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    # shellcheck from this environment checks the `run:` scripts: actionlint looks on PATH.
    path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    return subprocess.run(
        [str(BIN / "actionlint"), "-no-color", *map(str, paths)],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )


def hadolint(*paths: Path) -> subprocess.CompletedProcess[str]:
    # Every level counts, down to style and info: a finding is fixed or ignored with a reason.
    return subprocess.run(
        [str(BIN / "hadolint"), "--no-color", "--failure-threshold", "style", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )


def test_the_workflows_pass_actionlint() -> None:
    assert WORKFLOWS
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfiles_pass_hadolint() -> None:
    assert len(DOCKERFILES) == 2
    result = hadolint(*DOCKERFILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.titel }}\n"
        "      - run: cat $RELEASE_NOTES\n"
        "      - uses: actions/checkout@v5\n        with:\n          fetch_depth: 1\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1
    assert "fetch_depth" in result.stdout
    assert "SC2086" in result.stdout  # shellcheck ran on the step's script


def test_hadolint_refuses_a_broken_dockerfile(tmp_path: Path) -> None:
    broken = tmp_path / "broken.Dockerfile"
    broken.write_text("FROM python:latest\nRUN cd /src && pip install requests\n")
    result = hadolint(broken)
    assert result.returncode == 1
    assert "DL3007" in result.stdout  # the latest tag
    assert "DL3003" in result.stdout  # cd instead of WORKDIR


def images_workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load((REPO / ".github" / "workflows" / "images.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_images_are_built_only_when_their_code_changed() -> None:
    workflow = images_workflow()
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    for event in ("push", "pull_request"):
        assert triggers[event]["paths"][:2] == ["packages/**", "images/*"]
    assert triggers["push"]["branches"] == ["main", "dev"]
    assert triggers["workflow_dispatch"]["inputs"]["tag"]["required"] is True
    filters = yaml.safe_load(workflow["jobs"]["changes"]["steps"][1]["with"]["filters"])
    assert "packages/begasist-suite/**" not in str(filters["channelbot"])
    assert "images/channelbot.Dockerfile" in filters["channelbot"]
    assert "images/suite.Dockerfile" in filters["suite"]


MAIN = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
DEV = "github.event_name == 'push' && github.ref == 'refs/heads/dev'"
DISPATCH = "github.event_name == 'workflow_dispatch'"


@pytest.mark.parametrize(
    "tag",
    [
        f"type=raw,value=latest,enable=${{{{ {MAIN} }}}}",
        f"type=raw,value=dev,enable=${{{{ {DEV} }}}}",
        "type=ref,event=pr,prefix=pr-",
        f"type=raw,value=${{{{ inputs.tag }}}},enable=${{{{ {DISPATCH} }}}}",
    ],
    ids=["latest on main", "dev on dev", "pr-N", "named blue/green tag"],
)
def test_the_tags_follow_the_documented_scheme(tag: str) -> None:
    steps = images_workflow()["jobs"]["build"]["steps"]
    meta = next(step for step in steps if step.get("id") == "meta")
    assert tag in meta["with"]["tags"].splitlines()
    build = next(step for step in steps if "build-push-action" in step.get("uses", ""))
    assert build["with"]["push"] == "${{ github.event_name != 'pull_request' }}"


def test_the_images_readme_names_every_tag() -> None:
    readme = (REPO / "images" / "README.md").read_text()
    for tag in ("`latest`", "`dev`", "`pr-<N>`", "`sha-<commit>`", ".github/workflows/images.yml"):
        assert tag in readme, tag
