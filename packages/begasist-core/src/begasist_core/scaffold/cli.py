"""The ``new-channel`` command, shared by ``channelbot`` (core) and ``begasist`` (the suite)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from begasist_core.scaffold import ScaffoldError, channel_names, write_channel_package

__all__ = ["EXIT_USAGE", "add_new_channel_command", "run_new_channel"]

EXIT_USAGE = 2
"""A bad name, or a folder that is taken."""


def add_new_channel_command(commands: Any) -> None:
    """Add ``new-channel NAME [--dir DIR]`` to *commands* (an ``add_subparsers()`` result)."""
    command = commands.add_parser(
        "new-channel",
        help="write a new channel plugin package, ready to install and test",
        description=(
            "Write an installable channel package: pyproject.toml with the "
            "begasist.channels entry point, a Channel subclass with its Settings and "
            "Capabilities, a README and a test module running the conformance kit."
        ),
    )
    command.add_argument(
        "channel_name",
        metavar="NAME",
        help="the channel's name: a lowercase letter, then up to 31 of a-z, 0-9 and '_'",
    )
    command.add_argument(
        "--dir",
        dest="directory",
        type=Path,
        metavar="DIR",
        help="where to write the package (default: ./begasist-channel-NAME); "
        "it must not exist or be empty",
    )


def run_new_channel(args: argparse.Namespace, *, prog: str) -> int:
    """Write the package *args* ask for; print what was written and what to do next."""
    try:
        names = channel_names(args.channel_name)
        target = write_channel_package(names.name, args.directory)
    except ScaffoldError as problem:
        print(f"{prog}: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {names.distribution} (channel {names.name!r}) in {target}")
    print("next:")
    print(f"  cd {target}")
    print("  python -m pip install -e '.[test]'")
    print("  channelbot plugins")
    print("  python -m pytest")
    return 0
