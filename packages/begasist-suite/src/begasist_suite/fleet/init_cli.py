"""``begasist init``: secret key, store, first platform admin and ``.env`` for compose."""

from __future__ import annotations

import argparse
from typing import Any

from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings

__all__ = ["add_init_command"]


def add_init_command(commands: Any) -> None:
    """Add ``init`` to the top-level *commands*."""
    init = commands.add_parser(
        "init", help="first run: secret key, store, first platform admin, .env for compose"
    )
    init.set_defaults(fleet_run=_run_init)


def _run_init(args: argparse.Namespace, settings: SuiteSettings) -> int:
    raise UsageError("begasist init: not written yet")
