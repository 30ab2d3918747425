"""The ``init`` and ``fleet`` commands' parsers, and the one place that runs them.

A fleet target (``compose``, ``k8s``...) is one function that adds its parser to the
``fleet`` group and sets ``fleet_run`` on it: a callable taking the parsed arguments
and the suite's settings and returning the exit code. Adding a target is one line in
:func:`add_fleet_commands`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from begasist_suite.config import SuiteSettings

__all__ = ["FleetRun", "add_fleet_commands", "run_fleet_command"]

FleetRun = Callable[[argparse.Namespace, SuiteSettings], int]
"""What a target sets as ``fleet_run``: run it with the parsed arguments, return the exit code."""


def add_fleet_commands(commands: Any) -> None:
    """Add ``init`` and the ``fleet`` group (one sub-command per target) to *commands*."""
    from begasist_suite.fleet.compose_cli import add_compose_command
    from begasist_suite.fleet.init_cli import add_init_command
    from begasist_suite.fleet.k8s_cli import add_k8s_command

    add_init_command(commands)
    fleet = commands.add_parser(
        "fleet", help="write the deployment of every hotel in the store (compose, ...)"
    )
    targets = fleet.add_subparsers(dest="target", metavar="TARGET", required=True)
    add_compose_command(targets)
    add_k8s_command(targets)


def run_fleet_command(args: argparse.Namespace, settings: SuiteSettings) -> int | None:
    """Run ``init`` or a ``fleet`` target if *args* name one; None for any other command."""
    run: FleetRun | None = getattr(args, "fleet_run", None)
    if run is None:
        return None
    return run(args, settings)
