"""Static checks of images/*.Dockerfile: what Docker would build, read without Docker."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = REPO_ROOT / "packages"
BASE_IMAGE = "python:3.11-slim"

# image -> (its entry point, the packages/ folders it must contain)
CHANNEL_PACKAGES = sorted(path.name for path in PACKAGES.glob("begasist-channels-*"))
IMAGES = {
    "channelbot.Dockerfile": ("channelbot", ["begasist-core", *CHANNEL_PACKAGES]),
    "suite.Dockerfile": ("begasist", ["begasist-core", *CHANNEL_PACKAGES, "begasist-suite"]),
}

Stages = Callable[[str], list]


def project(folder: str) -> dict:
    with (PACKAGES / folder / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]


def test_every_image_is_checked() -> None:
    assert {path.name for path in (REPO_ROOT / "images").glob("*.Dockerfile")} == set(IMAGES)


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_multi_stage_on_the_pinned_base(image: str, dockerfile_stages: Stages) -> None:
    stages = dockerfile_stages(image)
    assert len(stages) >= 2
    assert [stage.base for stage in stages] == [BASE_IMAGE] * len(stages)
    assert stages[-1].name is None or stages[-1].name not in {s.name for s in stages[:-1]}


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_runs_as_a_numeric_non_root_user(image: str, dockerfile_stages: Stages) -> None:
    runtime = dockerfile_stages(image)[-1]
    user = runtime.last("USER")
    assert user is not None, "the runtime stage never leaves root"
    uid = user.split(":")[0]
    assert uid.isdigit(), f"USER {user}: numeric, so orchestrators can check runAsNonRoot"
    assert int(uid) != 0
    keywords = [keyword for keyword, _ in runtime.instructions]
    last_run = max(index for index, keyword in enumerate(keywords) if keyword == "RUN")
    assert keywords.index("USER") > last_run, "install as root, then drop privileges"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_entry_point(image: str, dockerfile_stages: Stages) -> None:
    runtime = dockerfile_stages(image)[-1]
    assert runtime.exec_form("ENTRYPOINT") == [IMAGES[image][0]]
    if image == "suite.Dockerfile":
        assert runtime.exec_form("CMD") == ["serve"]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_copy_sources_exist_and_are_in_the_build_context(
    image: str, dockerfile_stages: Stages
) -> None:
    ignore = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    # The context is "everything excluded, then packages/ back in": sources must live there.
    assert ignore.index("*") < ignore.index("!packages")
    for stage in dockerfile_stages(image):
        for flags, sources, _ in stage.copies():
            if any(flag.startswith("--from=") for flag in flags):
                continue
            for source in sources:
                assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert source.startswith("packages/"), f"COPY {source}: outside the context"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_builds_and_installs_exactly_the_needed_distributions(
    image: str, dockerfile_stages: Stages
) -> None:
    build, runtime = dockerfile_stages(image)[0], dockerfile_stages(image)[-1]
    folders = IMAGES[image][1]
    copied = {source for _, sources, _ in build.copies() for source in sources}
    assert copied == {f"packages/{folder}" for folder in folders}

    (wheel,) = [command for command in build.pip_commands() if command[3] == "wheel"]
    assert {word for word in wheel if word.startswith("./")} == {
        f"./packages/{folder}" for folder in folders
    }

    (install,) = [command for command in runtime.pip_commands() if command[3] == "install"]
    assert "--no-index" in install
    assert install[install.index("--find-links") + 1] == "/wheels"
    names = {word for word in install[4:] if not word.startswith("-") and word != "/wheels"}
    assert names == {project(folder)["name"] for folder in folders}


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_the_runtime_stage_has_no_sources_and_no_compiler(
    image: str, dockerfile_stages: Stages
) -> None:
    runtime = dockerfile_stages(image)[-1]
    assert not runtime.all("ADD")
    assert all(
        any(flag.startswith("--from=") for flag in flags) for flags, _, _ in runtime.copies()
    )
    for command in runtime.all("RUN"):
        assert not re.search(r"apt-get|apk add|gcc|build-essential|hatch build", command), command


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_labels_carry_the_release_version(image: str, dockerfile_stages: Stages) -> None:
    labels = " ".join(dockerfile_stages(image)[-1].all("LABEL"))
    for label in ("title", "description", "licenses", "version"):
        assert f"org.opencontainers.image.{label}=" in labels
    version = re.search(r'org\.opencontainers\.image\.version="([^"]+)"', labels)
    assert version is not None
    assert version.group(1) == project("begasist-core")["version"]


def test_the_suite_has_a_healthcheck_on_its_port(dockerfile_stages: Stages) -> None:
    runtime = dockerfile_stages("suite.Dockerfile")[-1]
    healthcheck = runtime.last("HEALTHCHECK")
    assert healthcheck is not None
    port = runtime.last("EXPOSE")
    assert port is not None
    assert f"127.0.0.1:{port}/" in healthcheck
