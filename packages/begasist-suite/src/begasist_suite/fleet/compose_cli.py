"""``begasist fleet compose``: the compose file from the hotels in the store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings

__all__ = ["add_compose_command"]


def add_compose_command(targets: Any) -> None:
    """Add ``compose`` to the ``fleet`` group's *targets*."""
    compose = targets.add_parser(
        "compose", help="write compose.yaml: suite, Redis, a bot per hotel"
    )
    compose.add_argument("--out", type=Path, default=Path("compose.yaml"))
    compose.add_argument("--env", type=Path, default=Path(".env"))
    compose.add_argument("--standby", action="store_true", help="a standby bot per hotel too")
    compose.set_defaults(fleet_run=_run_compose)


def _run_compose(args: argparse.Namespace, settings: SuiteSettings) -> int:
    raise UsageError("begasist fleet compose: not written yet")
