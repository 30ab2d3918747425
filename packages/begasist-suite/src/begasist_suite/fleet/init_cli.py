"""``begasist init``: secret key, store, first platform admin and ``.env`` for compose.

Safe to run again: what exists is kept and said so. An existing ``.env`` is left as it
is unless ``--force``, and even then its secret key and live bot tokens are kept (a new
key would make every stored channel secret unreadable).
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio
from pydantic import ValidationError

from begasist_suite.auth.credentials import hash_password
from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings
from begasist_suite.fleet.env_file import EnvFile
from begasist_suite.fleet.password import check_admin_password
from begasist_suite.fleet.store_access import fleet_settings, opened_store
from begasist_suite.fleet.tokens import ensure_bot_tokens
from begasist_suite.secret_box import SecretBox, SecretKeyError
from begasist_suite.store.records import User
from begasist_suite.store.store import Store

__all__ = ["add_init_command", "run_init"]

SECRET_KEY: Final = "BEGASIST_SECRET_KEY"
DOMAIN: Final = "BEGASIST_DOMAIN"
IMAGE_USER: Final = 10001
"""The user the suite's image runs as: the owner of the data directory it mounts."""


def add_init_command(commands: Any) -> None:
    """Add ``init`` to the top-level *commands*."""
    init = commands.add_parser(
        "init", help="first run: secret key, store, first platform admin, .env for compose"
    )
    init.add_argument("--admin-email", metavar="EMAIL", help="the first platform admin")
    init.add_argument("--admin-name", default="", help="the admin's display name")
    init.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the admin's password from standard input (else it is asked for)",
    )
    init.add_argument("--env", type=Path, default=Path(".env"), help="default: .env")
    init.add_argument(
        "--force",
        action="store_true",
        help="update an existing .env (its secret key and live bot tokens are kept)",
    )
    init.set_defaults(fleet_run=lambda args, settings: run_init(args, fleet_settings(settings)))


@dataclass(frozen=True)
class _Admin:
    email: str
    name: str
    password: str


def run_init(args: argparse.Namespace, settings: SuiteSettings) -> int:
    """Check everything that could refuse first, then change the store, then write .env."""
    env = EnvFile.read(args.env)
    write_env = not env.existed or args.force
    key, key_source = _secret_key(settings, env, write_env=write_env, env_path=args.env)
    password = None
    if args.admin_email is not None and not settings.sqlite_path.exists():
        # No store yet, so no such user: a refused password must leave no store behind.
        password = _read_password(args.password_stdin)
        check_admin_password(password, args.admin_email)
    return anyio.run(_init, args, settings, env, write_env, key, key_source, password)


def _secret_key(
    settings: SuiteSettings, env: EnvFile, *, write_env: bool, env_path: Path
) -> tuple[str, str]:
    from_environment = settings.secret_key.get_secret_value() if settings.secret_key else None
    in_file = env.get(SECRET_KEY) or None
    if from_environment and in_file and from_environment != in_file:
        raise UsageError(
            f"{SECRET_KEY} in the environment differs from the one in {env_path}: "
            "the store's channel secrets need the one they were written with; unset one"
        )
    if in_file is None and env.existed and not write_env and not from_environment:
        raise UsageError(
            f"{env_path} exists without {SECRET_KEY}: `begasist init --force` adds one "
            "(keeping the rest), or add it yourself"
        )
    key = from_environment or in_file
    source = "from the environment" if from_environment else f"kept from {env_path}"
    if key is None:
        key, source = secrets.token_urlsafe(32), "generated"
    try:
        SecretBox(key)
    except SecretKeyError as problem:
        raise UsageError(str(problem)) from None
    return key, source


async def _init(
    args: argparse.Namespace,
    settings: SuiteSettings,
    env: EnvFile,
    write_env: bool,
    key: str,
    key_source: str,
    password: str | None,
) -> int:
    path = settings.sqlite_path.absolute()
    existed = path.exists()
    new_directory = not path.parent.exists()
    async with opened_store(settings, create=True) as store:
        print(f"store: {'existing' if existed else 'created'} SQLite file {path}")
        if existed and key_source == "generated":
            print(
                "warning: a new secret key for a store that was already there: channel "
                "secrets it holds under another key cannot be read (set BEGASIST_SECRET_KEY "
                "to that key and run init again, or enter them again)",
                file=sys.stderr,
            )
        admin = await _admin(store, args, password)
        if admin is not None:
            await _create_admin(store, admin)
            print(f"platform admin: created {admin.email}")
        hotels = sorted(hotel.slug for hotel in await store.list_hotels())
        changes = await ensure_bot_tokens(store, hotels, env) if write_env else None
    _hand_over_store(path, directory=new_directory)
    if not write_env:
        print(f"secret key: {key_source}")
        print(f"{args.env}: exists, left as it is (--force updates it, keeping its secret key)")
        return 0
    env.set(SECRET_KEY, key, comment="Encrypts channel secrets at rest: keep it, back it up.")
    if env.get(DOMAIN) is None:
        env.set(
            DOMAIN,
            "localhost",
            comment="The name browsers and providers use (its DNS record points here).",
        )
    env.write()
    print(f"secret key: {key_source}")
    tokens = ""
    if hotels and changes is not None:
        tokens = (
            f", bot tokens of {len(hotels)} hotel(s) ({len(changes.minted + changes.replaced)} new)"
        )
    print(f"wrote {args.env} (mode 0600): {SECRET_KEY}, {DOMAIN}{tokens}")
    if env.get(DOMAIN) == "localhost":
        print(f"set {DOMAIN} in {args.env} to the suite's domain name before going live")
    return 0


async def _admin(store: Store, args: argparse.Namespace, password: str | None) -> _Admin | None:
    """The admin to create (with *password*, or one read now), or None when there is
    nothing to do."""
    admins = [user.email for user in await store.list_users() if user.platform_admin]
    email = args.admin_email
    if email is None:
        if admins:
            print(f"platform admin: {', '.join(admins)} (exists)")
            return None
        if not sys.stdin.isatty():
            raise UsageError("no platform admin yet: name one with --admin-email EMAIL")
        answer = await anyio.to_thread.run_sync(input, "email of the first platform admin: ")
        email = answer.strip()
    existing = await store.get_user_by_email(email)
    if existing is not None:
        role = "platform admin" if existing.platform_admin else "user, not a platform admin"
        print(f"platform admin: {existing.email} exists ({role}), left as it is")
        return None
    if password is None:
        password = await anyio.to_thread.run_sync(_read_password, args.password_stdin)
    check_admin_password(password, email)
    return _Admin(email=email, name=args.admin_name, password=password)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask the admin's password on: use --password-stdin")
    password = getpass.getpass("the admin's password: ")
    if getpass.getpass("again: ") != password:
        raise UsageError("the two passwords differ")
    return password


async def _create_admin(store: Store, admin: _Admin) -> None:
    try:
        user = User(
            email=admin.email,
            display_name=admin.name,
            password_hash=hash_password(admin.password),
            platform_admin=True,
        )
    except ValidationError:
        raise UsageError(f"not an email address: {admin.email!r}") from None
    await store.create_user(user)


def _hand_over_store(path: Path, *, directory: bool) -> None:
    """Give the SQLite file (and its directory, when this run made it) to the image's
    user, so the suite's container can write the store this command made. Only root
    can; anyone else is told how. A directory that was there before (perhaps the
    working directory) is never taken over: the operator is told to, if need be."""
    owned = [path] + ([path.parent] if directory else [])
    if os.geteuid() == 0:
        for item in owned:
            if item.stat().st_uid != IMAGE_USER:
                os.chown(item, IMAGE_USER, IMAGE_USER)
    if path.parent.stat().st_uid != IMAGE_USER or path.stat().st_uid != IMAGE_USER:
        print(
            f"the suite's container runs as user {IMAGE_USER} and writes beside the store: "
            f"before `docker compose up`, give it {path.parent} (sudo chown -R "
            f"{IMAGE_USER}:{IMAGE_USER} {path.parent})",
            file=sys.stderr,
        )
