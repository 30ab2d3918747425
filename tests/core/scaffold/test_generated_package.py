"""A freshly generated channel, as its author gets it: installed, listed, and its tests green.

Everything runs in a throwaway virtual environment with a real install
(``uv pip install``, from the cache where it can): begasist-core from this
checkout, as a wheel, then the package ``channelbot new-channel`` wrote. CI
runs this every time, so the scaffold cannot rot.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from uv import find_uv_bin

REPO = Path(__file__).resolve().parents[3]
CORE = REPO / "packages" / "begasist-core"

# The parent test run's settings must not leak into the author's environment.
_DROPPED = {"PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "BEGASIST_LOAD_PLUGINS"}


def run(command: list[str | Path], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
@pytest.mark.timeout(360)
def test_a_new_channel_installs_is_listed_and_passes_the_conformance_kit(tmp_path: Path) -> None:
    uv, venv = find_uv_bin(), tmp_path / "venv"
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    run([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=tmp_path)
    run([uv, "pip", "install", "--quiet", "--python", python, f"{CORE}[testing]"], cwd=tmp_path)

    package = tmp_path / "begasist-channel-parrot"
    run([bin_dir / "channelbot", "new-channel", "parrot", "--dir", package], cwd=tmp_path)
    # The package's own requirements resolve to the core just installed, not to an index's.
    run(
        [uv, "pip", "install", "--quiet", "--python", python, CORE, f"{package}[test]"],
        cwd=tmp_path,
    )

    listed = json.loads(run([bin_dir / "channelbot", "plugins", "--json"], cwd=tmp_path).stdout)
    assert [(plugin["name"], plugin["status"]) for plugin in listed] == [("parrot", "ok")]
    (parrot,) = listed
    assert parrot["distribution"] == "begasist-channel-parrot"
    assert parrot["version"] == "0.1.0"
    assert parrot["channels"] == ["parrot"]

    tests = run([python, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=package)
    summary = tests.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None, summary
    assert int(passed.group(1)) >= 30, summary
    assert not re.search(r"failed|error", summary), summary
