"""The ``begasist`` command line: serve the suite, run the demo, administer the store."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from begasist_core.log_redaction import configure_logging
from begasist_core.models.validation import describe_validation_error
from begasist_core.plugins.manager import PluginInfo, format_plugin_table
from begasist_core.scaffold.cli import add_new_channel_command, run_new_channel
from pydantic import ValidationError

from begasist_suite import cli_admin, cli_backup
from begasist_suite.cli_errors import EXIT_USAGE, UsageError
from begasist_suite.config import SuiteSettings
from begasist_suite.fleet.cli import add_fleet_commands, run_fleet_command

__all__ = ["main"]

log = logging.getLogger("begasist.cli")


def version_line() -> str:
    """``begasist 0.1.0 (begasist-core 0.1.0)``: the installed distributions' versions."""
    return f"begasist {_installed('begasist-suite')} (begasist-core {_installed('begasist-core')})"


def _installed(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="begasist",
        description="The Begasist suite: serve it, run the demo, administer hotels, users, tokens.",
    )
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING... (default: BEGASIST_LOG_LEVEL)")
    parser.add_argument("--version", action="version", version=version_line())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve the suite (settings from BEGASIST_*)")
    serve.add_argument("--host", help="address to bind (default: BEGASIST_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: BEGASIST_PORT, 8000)")

    dev = commands.add_parser(
        "dev", help="the one-command demo: engine, suite, demo hotels and their bots"
    )
    dev.add_argument("--port", type=int, default=8000, help="the suite's port (default: 8000)")
    dev.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".begasist-dev"),
        help="where the demo keeps its SQLite file, secret key and passwords",
    )

    plugins = commands.add_parser("plugins", help="list plugins: channels and responders")
    plugins.add_argument("--json", action="store_true", help="print JSON")

    schema = commands.add_parser(
        "schema", help="write the OpenAPI document and the event JSON Schemas / AsyncAPI"
    )
    schema.add_argument("--out", type=Path, default=Path("docs/schema"))
    schema.add_argument(
        "--check", action="store_true", help="exit 1 if the files differ from the code"
    )

    # The same command as `channelbot new-channel`, for whoever has the suite at hand.
    add_new_channel_command(commands)
    cli_admin.add_admin_commands(commands)
    add_fleet_commands(commands)
    cli_backup.add_backup_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = SuiteSettings()
    except ValidationError as error:
        parser.error(f"invalid BEGASIST_* setting: {describe_validation_error(error)}")
    if args.log_level:
        # The flag is the setting for this run: uvicorn's loggers and `dev`'s bots too.
        settings = settings.model_copy(update={"log_level": args.log_level})
    configure_logging(settings.log_level, settings.log_format)
    try:
        if args.command == "serve":
            return _serve(settings, host=args.host, port=args.port)
        if args.command == "dev":
            from begasist_suite.dev import run_dev

            return run_dev(settings, port=args.port, data_dir=args.data_dir)
        if args.command == "plugins":
            return _list_plugins(as_json=args.json)
        if args.command == "schema":
            return _schema(args.out, check=args.check)
        if args.command == "new-channel":
            return run_new_channel(args, prog=parser.prog)
        fleet_exit = run_fleet_command(args, settings)
        if fleet_exit is not None:
            return fleet_exit
        if args.command in ("backup", "restore"):
            return cli_backup.run_backup_command(args, settings)
        return cli_admin.run_admin_command(args, settings)
    except UsageError as problem:
        print(f"begasist: error: {problem}", file=sys.stderr)
        return EXIT_USAGE


def _serve(settings: SuiteSettings, *, host: str | None, port: int | None) -> int:
    import uvicorn

    from begasist_suite.app import create_app
    from begasist_suite.server import server_config

    host = host or settings.host
    port = settings.port if port is None else port
    check_serve_settings(settings, host=host, port=port)
    app = create_app(settings)
    config = server_config(app, settings, host=host, port=port)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


def check_serve_settings(settings: SuiteSettings, *, host: str, port: int) -> None:
    """Raise :class:`UsageError` for a setting ``serve`` cannot start without, or with."""
    from begasist_suite.secret_box import SecretBox, SecretKeyError

    if settings.secret_key is None:
        raise UsageError(
            "missing setting BEGASIST_SECRET_KEY (32+ random characters; generate one: "
            'python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    try:
        SecretBox(settings.secret_key.get_secret_value())
    except SecretKeyError as problem:
        raise UsageError(str(problem)) from None
    if not settings.redis_configured:
        raise UsageError(
            "missing setting BEGASIST_REDIS_URL, or BEGASIST_REDIS_SENTINELS with "
            "BEGASIST_REDIS_SENTINEL_MASTER (for development, `begasist dev` starts its own)"
        )
    if settings.store == "astra" and (
        not settings.astra_db_api_endpoint or settings.astra_db_application_token is None
    ):
        raise UsageError(
            "BEGASIST_STORE=astra needs ASTRA_DB_API_ENDPOINT and ASTRA_DB_APPLICATION_TOKEN"
        )
    if settings.cookie_secure and not is_loopback(host) and not behind_tls(settings):
        # Browsers keep a Secure cookie from a plain-http answer to themselves: the
        # sign-in would "work" and every request after it answer 401.
        raise UsageError(
            f"plain HTTP on {host}:{port} with Secure session cookies "
            "(BEGASIST_COOKIE_SECURE=true): browsers would sign in, then get 401. "
            "Put a TLS proxy in front and say so with BEGASIST_PUBLIC_URL=https://... or "
            "BEGASIST_BEHIND_TLS_PROXY=true (docs/deploy.md), or, for a plain-HTTP trial "
            "only, BEGASIST_COOKIE_SECURE=false"
        )


def is_loopback(host: str) -> bool:
    """Whether *host* (an address or ``localhost``) is reachable from this machine only."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: whatever it resolves to, others may reach it


def behind_tls(settings: SuiteSettings) -> bool:
    """Whether the operator says browsers reach this suite over HTTPS through a proxy."""
    public_url = (settings.public_url or "").strip().casefold()
    return settings.behind_tls_proxy or public_url.startswith("https://")


def _list_plugins(*, as_json: bool) -> int:
    from begasist_suite.app import load_plugins

    # A plugin that prints while importing must not corrupt the listing (or the JSON).
    with contextlib.redirect_stdout(sys.stderr):
        manager = load_plugins()
    if as_json:
        print(json.dumps([info.model_dump(mode="json") for info in manager.plugins], indent=2))
    else:
        print(format_plugins(manager.plugins))
    return 0


def format_plugins(infos: Sequence[PluginInfo]) -> str:
    """Plugins as an aligned table: channelbot's columns plus the responders each registered."""
    return format_plugin_table(infos, responders=True)


def _schema(out: Path, *, check: bool) -> int:
    from begasist_suite.cli_schema import check_suite_schema, write_suite_schema

    if check:
        stale = check_suite_schema(out)
        for name in stale:
            print(f"out of date: {out / name}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_suite_schema(out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
