"""deploy/Caddyfile, the TLS proxy in front of the suite: Caddy itself validates it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = REPO_ROOT / "deploy" / "Caddyfile"


def test_it_proxies_to_the_suite_with_a_request_id() -> None:
    text = CADDYFILE.read_text(encoding="utf-8")
    assert re.search(r"^\{\$BEGASIST_DOMAIN:localhost\} \{$", text, re.M)
    assert re.search(r"^\treverse_proxy \{\$BEGASIST_SUITE_UPSTREAM:suite:8000\} \{$", text, re.M)
    assert re.search(r"^\t\theader_up X-Request-ID \{http\.request\.uuid\}$", text, re.M)


@pytest.mark.parametrize("domain", ["localhost", "inbox.example.com"])
def test_caddy_validates_it(domain: str, tmp_path: Path) -> None:
    if shutil.which("caddy") is None:
        if os.environ.get("BEGASIST_REQUIRE_CADDY"):  # .ci/run installs it
            pytest.fail("caddy is not installed (apt-get install caddy)")
        pytest.skip("caddy is not installed (apt-get install caddy)")
    result = subprocess.run(
        ["caddy", "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env={"BEGASIST_DOMAIN": domain, "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
