"""``begasist fleet compose``: the compose file from the hotels in the store."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio

from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings
from begasist_suite.fleet.compose import ComposeLayout, compose_document, render_compose
from begasist_suite.fleet.env_file import EnvFile
from begasist_suite.fleet.store_access import fleet_settings, opened_store
from begasist_suite.fleet.tokens import TokenChanges, ensure_bot_tokens

__all__ = ["add_compose_command", "write_compose"]


def add_compose_command(targets: Any) -> None:
    """Add ``compose`` to the ``fleet`` group's *targets*."""
    compose = targets.add_parser(
        "compose",
        help="write compose.yaml from the hotels in the store, minting missing bot tokens",
    )
    compose.add_argument(
        "--out", type=Path, default=Path("compose.yaml"), help="default: compose.yaml"
    )
    compose.add_argument(
        "--env",
        type=Path,
        default=Path(".env"),
        help="the .env from `begasist init`, where bot tokens go (default: .env)",
    )
    compose.add_argument(
        "--standby", action="store_true", help="a hot standby bot per hotel too (-standby)"
    )
    compose.set_defaults(fleet_run=_run_compose)


def _run_compose(args: argparse.Namespace, settings: SuiteSettings) -> int:
    return write_compose(fleet_settings(settings), args.out, args.env, standby=args.standby)


def write_compose(settings: SuiteSettings, out: Path, env_path: Path, *, standby: bool) -> int:
    """Write *out* for every hotel in the store and the missing bot tokens into *env_path*."""
    env = EnvFile.read(env_path)
    if not env.existed:
        raise UsageError(f"no {env_path}: run `begasist init` first (or pass --env)")
    hotels, changes = anyio.run(_hotels_and_tokens, settings, env)
    if changes.changed:
        env.write()  # before the compose file, which then names no variable .env lacks
    layout = ComposeLayout(
        version=_suite_version(),
        data_dir=_relative_to(settings.sqlite_path.absolute().parent, out.absolute().parent),
        sqlite_name=settings.sqlite_path.name,
        standby=standby,
    )
    text = render_compose(compose_document(hotels, layout))
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(out)
    _report(out, env_path, hotels, changes, standby)
    return 0


async def _hotels_and_tokens(
    settings: SuiteSettings, env: EnvFile
) -> tuple[list[str], TokenChanges]:
    async with opened_store(settings, create=False) as store:
        hotels = sorted(hotel.slug for hotel in await store.list_hotels())
        return hotels, await ensure_bot_tokens(store, hotels, env)


def _suite_version() -> str:
    try:
        return metadata.version("begasist-suite")
    except metadata.PackageNotFoundError:
        raise UsageError("begasist-suite is not installed: its version tags the images") from None


def _relative_to(directory: Path, base: Path) -> str:
    relative = Path(os.path.relpath(directory, base)).as_posix()
    return relative if relative.startswith("../") else f"./{relative}".removesuffix("/.")


def _report(
    out: Path, env_path: Path, hotels: list[str], changes: TokenChanges, standby: bool
) -> None:
    per_hotel = "bot-<hotel> and bot-<hotel>-standby" if standby else "bot-<hotel>"
    print(f"wrote {out}: redis, suite, proxy and {per_hotel} for {len(hotels)} hotel(s)")
    if not hotels:
        print("no hotels yet: create them, then run this again", file=sys.stderr)
    for label, names in (
        ("minted bot tokens", changes.minted),
        ("replaced bot tokens the store does not know", changes.replaced),
    ):
        if names:
            print(f"{label} for {', '.join(names)}: in {env_path} (mode 0600)")
    if changes.dropped:
        print(f"removed from {env_path}: {', '.join(changes.dropped)} (hotels no longer there)")
    if env_path.absolute().parent != out.absolute().parent:
        print(
            f"{env_path} is not beside {out}: run compose with --env-file {env_path}",
            file=sys.stderr,
        )
