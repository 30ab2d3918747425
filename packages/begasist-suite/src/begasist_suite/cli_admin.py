"""``begasist hotels|users|tokens``: administration straight on the configured store.

Each command first says on stderr, in one line, which store it works on. Only
the commands that add a first record (``hotels create``, ``users create``)
may start a new SQLite file; every other one refuses (exit 2) when the file
does not exist, instead of creating an empty store where it was run by mistake.
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
from begasist_core import utc_now
from begasist_core.models.names import InvalidName, validate_hotel_slug
from pydantic import ValidationError

from begasist_suite.auth.credentials import digest, hash_password, new_secret
from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings
from begasist_suite.store.factory import StoreConfigError, open_store
from begasist_suite.store.records import Credential, CredentialKind, Hotel, Membership, Role, User
from begasist_suite.store.store import Conflict, Store

__all__ = ["add_admin_commands", "run_admin_command"]

Action = Callable[[Store, argparse.Namespace], Awaitable[int]]


def add_admin_commands(commands: Any) -> None:
    """Add the ``hotels``, ``users`` and ``tokens`` sub-commands to *commands*."""
    hotels = commands.add_parser("hotels", help="list, create and delete hotels")
    hotel_commands = hotels.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = hotel_commands.add_parser("list", help="every hotel")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_hotels_list)
    create = hotel_commands.add_parser("create", help="a new hotel")
    create.add_argument("slug", metavar="SLUG")
    create.add_argument("--name", required=True)
    create.set_defaults(run=_hotels_create, creates_store=True)
    remove = hotel_commands.add_parser("delete", help="a hotel and everything in it")
    remove.add_argument("slug", metavar="SLUG")
    remove.set_defaults(run=_hotels_delete)

    users = commands.add_parser("users", help="list and create users, manage memberships")
    user_commands = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = user_commands.add_parser("list", help="every user and their hotels")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_users_list)
    create = user_commands.add_parser(
        "create", help="a new user (prints a generated password unless --password-stdin)"
    )
    create.add_argument("email", metavar="EMAIL")
    create.add_argument("--name", default="", help="display name")
    create.add_argument("--admin", action="store_true", help="a platform admin: every hotel")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(run=_users_create, creates_store=True)
    member = user_commands.add_parser("add-member", help="add to a hotel, or change the role")
    member.add_argument("email", metavar="EMAIL")
    member.add_argument("hotel", metavar="HOTEL")
    member.add_argument("role", metavar="ROLE", choices=[role.value for role in Role])
    member.set_defaults(run=_users_add_member)
    unmember = user_commands.add_parser("remove-member", help="remove from a hotel")
    unmember.add_argument("email", metavar="EMAIL")
    unmember.add_argument("hotel", metavar="HOTEL")
    unmember.set_defaults(run=_users_remove_member)

    tokens = commands.add_parser("tokens", help="bot, fleet and personal API tokens")
    token_commands = tokens.add_subparsers(dest="action", metavar="ACTION", required=True)
    bot = token_commands.add_parser("create-bot", help="a hotel's bot token (printed once)")
    bot.add_argument("hotel", metavar="HOTEL")
    bot.add_argument("--name", default="bot")
    bot.set_defaults(run=_tokens_create_bot)
    fleet = token_commands.add_parser(
        "create-fleet",
        help="a fleet bot token for sharded bots: lists hotels, reads any hotel's bot settings",
    )
    fleet.add_argument("--name", default="fleet")
    fleet.set_defaults(run=_tokens_create_fleet)
    api = token_commands.add_parser("create-api", help="a user's API token (printed once)")
    api.add_argument("email", metavar="EMAIL")
    api.add_argument("--name", required=True)
    api.add_argument("--expires-in-days", type=int, help="default: never")
    api.set_defaults(run=_tokens_create_api)
    listing = token_commands.add_parser("list", help="bot and API tokens (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_tokens_list)
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(run=_tokens_revoke)


def run_admin_command(args: argparse.Namespace, settings: SuiteSettings) -> int:
    """Run the parsed admin command on the store *settings* name."""
    print(f"begasist: {describe_store(settings)}", file=sys.stderr)
    if settings.store == "sqlite" and not getattr(args, "creates_store", False):
        path = settings.sqlite_path.absolute()
        if not path.exists():
            raise UsageError(
                f"no SQLite store at {path} (BEGASIST_SQLITE_PATH, relative to the working "
                f"directory): `{args.command} {args.action}` creates none; run it where the "
                "suite keeps its store or set BEGASIST_SQLITE_PATH (or BEGASIST_STORE=astra); "
                "`hotels create` and `users create` start a new store"
            )
    action: Action = args.run
    return anyio.run(_on_store, settings, action, args)


def describe_store(settings: SuiteSettings) -> str:
    """Which store *settings* name, for the operator: the SQLite file or the Astra database."""
    if settings.store == "sqlite":
        return f"store: SQLite file {settings.sqlite_path.absolute()} (BEGASIST_SQLITE_PATH)"
    return (
        f"store: Astra DB {settings.astra_db_api_endpoint or '(no ASTRA_DB_API_ENDPOINT)'}, "
        f"keyspace {settings.astra_db_keyspace}"
    )


async def _on_store(settings: SuiteSettings, action: Action, args: argparse.Namespace) -> int:
    try:
        store = open_store(settings)
    except StoreConfigError as problem:
        raise UsageError(str(problem)) from None
    try:
        await store.migrate()
        return await action(store, args)
    except Conflict as conflict:
        raise UsageError(str(conflict)) from None
    finally:
        await store.aclose()


def _slug(value: str) -> str:
    try:
        return validate_hotel_slug(value)
    except InvalidName as invalid:
        raise UsageError(str(invalid)) from None


async def _hotel(store: Store, value: str) -> Hotel:
    hotel = await store.get_hotel(_slug(value))
    if hotel is None:
        raise UsageError(f"no hotel {value!r} (see: begasist hotels list)")
    return hotel


async def _user(store: Store, email: str) -> User:
    user = await store.get_user_by_email(email)
    if user is None:
        raise UsageError(f"no user {email!r} (see: begasist users list)")
    return user


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _print_listing(records: list[dict[str, Any]], header: tuple[str, ...], as_json: bool) -> None:
    if as_json:
        print(json.dumps(records, indent=2))
    elif not records:
        print("none")
    else:
        keys = [column.lower() for column in header]
        rows = [tuple(_cell(record[key]) for key in keys) for record in records]
        print(_table([header, *rows]))


def _cell(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


# -- hotels -------------------------------------------------------------------


async def _hotels_list(store: Store, args: argparse.Namespace) -> int:
    records = [
        {"slug": h.slug, "name": h.name, "config_version": h.config_version}
        for h in await store.list_hotels()
    ]
    _print_listing(records, ("SLUG", "NAME", "CONFIG_VERSION"), args.json)
    return 0


async def _hotels_create(store: Store, args: argparse.Namespace) -> int:
    try:
        hotel = Hotel(slug=_slug(args.slug), name=args.name)
    except ValidationError as error:
        raise UsageError(f"invalid hotel: {error.errors()[0]['msg']}") from None
    await store.create_hotel(hotel)
    print(f"created hotel {hotel.slug}")
    return 0


async def _hotels_delete(store: Store, args: argparse.Namespace) -> int:
    hotel = await _hotel(store, args.slug)
    await store.delete_hotel(hotel.slug)
    print(f"deleted hotel {hotel.slug} and everything in it")
    return 0


# -- users --------------------------------------------------------------------


async def _users_list(store: Store, args: argparse.Namespace) -> int:
    memberships = await store.list_memberships()
    records: list[dict[str, Any]] = [
        {
            "email": u.email,
            "name": u.display_name,
            "admin": u.platform_admin,
            "disabled": u.disabled,
            "hotels": {m.hotel: m.role.value for m in memberships if m.user_id == u.id},
        }
        for u in await store.list_users()
    ]
    if args.json:
        _print_listing(records, (), True)
        return 0
    rows = [
        {
            **r,
            "admin": "yes" if r["admin"] else "",
            "disabled": "yes" if r["disabled"] else "",
            "hotels": ", ".join(f"{h}:{role}" for h, role in r["hotels"].items()),
        }
        for r in records
    ]
    _print_listing(rows, ("EMAIL", "NAME", "ADMIN", "DISABLED", "HOTELS"), False)
    return 0


async def _users_create(store: Store, args: argparse.Namespace) -> int:
    generated = not args.password_stdin
    if generated:
        password = secrets.token_urlsafe(12)
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("the password is empty")
    try:
        user = User(
            email=args.email,
            display_name=args.name,
            password_hash=hash_password(password),
            platform_admin=args.admin,
        )
    except ValidationError:
        raise UsageError(f"not an email address: {args.email!r}") from None
    await store.create_user(user)
    print(f"created user {user.email.casefold()}" + (" (platform admin)" if args.admin else ""))
    if generated:
        print(f"password: {password}")
    return 0


async def _users_add_member(store: Store, args: argparse.Namespace) -> int:
    user = await _user(store, args.email)
    hotel = await _hotel(store, args.hotel)
    await store.set_membership(Membership(hotel=hotel.slug, user_id=user.id, role=args.role))
    print(f"{user.email} is {args.role} of {hotel.slug}")
    return 0


async def _users_remove_member(store: Store, args: argparse.Namespace) -> int:
    user = await _user(store, args.email)
    hotel = await _hotel(store, args.hotel)
    if not await store.remove_membership(hotel.slug, user.id):
        raise UsageError(f"{user.email} is not a member of {hotel.slug}")
    print(f"{user.email} is no longer a member of {hotel.slug}")
    return 0


# -- tokens -------------------------------------------------------------------

_TOKEN_KINDS = {
    CredentialKind.BOT_TOKEN: "bot",
    CredentialKind.FLEET_TOKEN: "fleet",
    CredentialKind.API_TOKEN: "api",
}
"""The tokens ``tokens list`` shows and ``tokens revoke`` finds, with their listed kind."""


async def _tokens_create_bot(store: Store, args: argparse.Namespace) -> int:
    from begasist_suite.fleet.tokens import mint_bot_token

    hotel = await _hotel(store, args.hotel)
    secret = await mint_bot_token(store, hotel.slug, args.name)
    print(f"bot token for {hotel.slug} (BEGASIST_BOT_TOKEN; shown once):", file=sys.stderr)
    print(secret)
    return 0


async def _tokens_create_fleet(store: Store, args: argparse.Namespace) -> int:
    secret = new_secret("fleet_token")
    await store.add_credential(
        Credential(digest=digest(secret), kind=CredentialKind.FLEET_TOKEN, name=args.name)
    )
    print(
        "fleet bot token (BEGASIST_FLEET_TOKEN; every hotel's secrets; shown once):",
        file=sys.stderr,
    )
    print(secret)
    return 0


async def _tokens_create_api(store: Store, args: argparse.Namespace) -> int:
    user = await _user(store, args.email)
    if args.expires_in_days is not None and args.expires_in_days < 1:
        raise UsageError("--expires-in-days must be 1 or more")
    expires = None if args.expires_in_days is None else utc_now() + timedelta(args.expires_in_days)
    secret = new_secret("api_token")
    await store.add_credential(
        Credential(
            digest=digest(secret),
            kind=CredentialKind.API_TOKEN,
            user_id=user.id,
            name=args.name,
            expires_at=expires,
        )
    )
    print(f"API token for {user.email} (Authorization: Bearer; shown once):", file=sys.stderr)
    print(secret)
    return 0


async def _tokens_list(store: Store, args: argparse.Namespace) -> int:
    emails = {u.id: u.email for u in await store.list_users()}
    records = [
        {
            "id": c.id,
            "kind": _TOKEN_KINDS[c.kind],
            "owner": emails.get(c.user_id or "") if c.user_id else (c.hotel or "platform"),
            "name": c.name,
            "created": c.created_at.isoformat(timespec="seconds"),
            "expires": None if c.expires_at is None else c.expires_at.isoformat(timespec="seconds"),
        }
        for kind in _TOKEN_KINDS
        for c in await store.list_credentials(kind)
    ]
    _print_listing(records, ("ID", "KIND", "OWNER", "NAME", "CREATED", "EXPIRES"), args.json)
    return 0


async def _tokens_revoke(store: Store, args: argparse.Namespace) -> int:
    for kind in _TOKEN_KINDS:
        if await store.revoke_credential(kind, args.token_id):
            print(f"revoked token {args.token_id}")
            return 0
    raise UsageError(f"no token {args.token_id!r} (see: begasist tokens list)")
