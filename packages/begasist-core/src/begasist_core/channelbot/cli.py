"""The ``channelbot`` command line: run bots for hotels, list plugins, write schemas."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
from pydantic import ValidationError

from begasist_core import __version__
from begasist_core.channelbot.app import run_channelbot, run_sharded_channelbot
from begasist_core.channelbot.config import BotConfig
from begasist_core.channelbot.health import HealthPortUnavailable
from begasist_core.channelbot.probe import ask_health
from begasist_core.channelbot.settings_source import (
    FileSettingsSource,
    HotelLister,
    HotelSettings,
    HttpSettingsSource,
    SettingsSource,
    SettingsUnavailable,
    SourceUnreachable,
    UnknownHotel,
)
from begasist_core.channelbot.shards import InvalidShard, Shard
from begasist_core.engine import EmbeddedEngine, EmbeddedEngineUnavailable
from begasist_core.log_redaction import configure_logging
from begasist_core.models.names import InvalidName, validate_hotel_slug
from begasist_core.models.validation import describe_validation_error
from begasist_core.plugins.channel import Channel
from begasist_core.plugins.manager import PluginManager, PluginStatus, format_plugin_table
from begasist_core.scaffold.cli import add_new_channel_command, run_new_channel

__all__ = ["main"]

log = logging.getLogger("begasist.channelbot")

EXIT_USAGE = 2
"""Bad arguments or configuration: an unknown hotel, a missing setting."""
EXIT_SUITE_UNREACHABLE = 3
"""The suite did not answer for ``BEGASIST_SUITE_WAIT_SECONDS`` at start-up."""


class SuiteStillUnreachable(Exception):
    """The settings source stayed unreachable for the whole start-up wait."""


class UsageError(Exception):
    """A problem the operator fixes in the command line or the configuration."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="channelbot",
        description="Run Begasist channel bots: one active bot per hotel, a standby for each.",
    )
    parser.add_argument(
        "--hotel",
        action="append",
        default=[],
        metavar="SLUG",
        help="a hotel to serve (repeat for several)",
    )
    parser.add_argument(
        "--shard",
        metavar="K/N",
        help="serve the hotels that hash to shard K of N (0-based), standing by for others",
    )
    parser.add_argument(
        "--shard-from-hostname",
        action="store_true",
        help="--shard K/N with K after the host name's last '-' and N from BEGASIST_SHARD_COUNT",
    )
    parser.add_argument("--settings-file", type=Path, help="TOML settings (development)")
    parser.add_argument("--suite-url", help="the suite's base URL (default: BEGASIST_SUITE_URL)")
    parser.add_argument("--redis-url", help="Redis URL (default: BEGASIST_REDIS_URL)")
    parser.add_argument(
        "--embedded-engine",
        action="store_true",
        help="with no Redis URL, start a private embedded Valkey (development only)",
    )
    parser.add_argument("--instance", help="this bot's name (default: host-pid-random)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING... (default: INFO)")
    parser.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="serve /health, /ready and /metrics on this port (default: BEGASIST_BOT_HEALTH_PORT)",
    )
    parser.add_argument(
        "--version", action="version", version=f"channelbot {__version__} (begasist-core)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    plugins = commands.add_parser("plugins", help="list channel plugins and their status")
    plugins.add_argument("--json", action="store_true", help="print JSON")
    schema = commands.add_parser("schema", help="write the event JSON Schemas and AsyncAPI")
    schema.add_argument("--out", type=Path, default=Path("docs/schema"))
    schema.add_argument(
        "--check", action="store_true", help="exit 1 if the files differ from the models"
    )
    commands.add_parser(
        "health",
        help="ask this machine's bot's /ready: exit 0 ready, 1 not ready, 2 no health port",
    )
    add_new_channel_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = BotConfig()
    except ValidationError as error:
        parser.error(f"invalid BEGASIST_* setting: {describe_validation_error(error)}")
    if args.health_port is not None:
        if not 0 <= args.health_port <= 65535:
            parser.error(f"--health-port: {args.health_port} is not a port (0-65535)")
        config = config.model_copy(update={"health_port": args.health_port})
    configure_logging(args.log_level or config.log_level, config.log_format)
    if args.command == "plugins":
        return _list_plugins(as_json=args.json)
    if args.command == "schema":
        return _schema(args.out, check=args.check)
    if args.command == "new-channel":
        return run_new_channel(args, prog=parser.prog)
    if args.command == "health":
        return ask_health(config)
    try:
        return _run(args, config)
    except UsageError as problem:
        print(f"channelbot: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except SuiteStillUnreachable as problem:
        print(f"channelbot: error: {problem}", file=sys.stderr)
        return EXIT_SUITE_UNREACHABLE
    except HealthPortUnavailable as unavailable:
        print(f"channelbot: error: {unavailable}", file=sys.stderr)
        return EXIT_USAGE


def _list_plugins(*, as_json: bool) -> int:
    manager = PluginManager()
    # A plugin that prints while importing must not corrupt the listing (or the JSON).
    with contextlib.redirect_stdout(sys.stderr):
        manager.load_entry_points()
    if as_json:
        print(json.dumps([info.model_dump(mode="json") for info in manager.plugins], indent=2))
    else:
        print(format_plugin_table(manager.plugins))
    return 0


def _schema(out: Path, *, check: bool) -> int:
    from begasist_core.schema import check_schema_documents, write_schema_documents

    if check:
        stale = check_schema_documents(out)
        for name in stale:
            print(f"out of date: {out / name}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_schema_documents(out):
        print(path)
    return 0


def _shard(args: argparse.Namespace, config: BotConfig) -> Shard | None:
    """The shard the flags name, or None for a bot of given hotels."""
    if args.shard is not None and args.shard_from_hostname:
        raise UsageError("give --shard or --shard-from-hostname, not both")
    if (args.shard is not None or args.shard_from_hostname) and args.hotel:
        raise UsageError("a sharded bot finds its hotels itself: drop --hotel")
    try:
        if args.shard is not None:
            return Shard.parse(args.shard)
        if args.shard_from_hostname:
            if config.shard_count is None:
                raise UsageError("--shard-from-hostname needs BEGASIST_SHARD_COUNT")
            return Shard.from_hostname(socket.gethostname(), config.shard_count)
    except InvalidShard as invalid:
        raise UsageError(str(invalid)) from None
    return None


def _run(args: argparse.Namespace, config: BotConfig) -> int:
    shard = _shard(args, config)
    if shard is not None:
        return _run_sharded(args, config, shard)
    if not args.hotel:
        raise UsageError("give at least one --hotel (or --shard K/N)")
    try:
        hotels = [validate_hotel_slug(hotel) for hotel in dict.fromkeys(args.hotel)]
    except InvalidName as invalid:
        raise UsageError(str(invalid)) from None
    source = _settings_source(args, config, hotels)
    channels = _load_channels()
    # One event loop for everything: the HTTP source's connections belong to it.
    anyio.run(_serve, args, config, hotels, source, channels, _instance(args))
    return 0


def _run_sharded(args: argparse.Namespace, config: BotConfig, shard: Shard) -> int:
    source = _fleet_source(args, config)
    channels = _load_channels()
    anyio.run(_serve_shard, args, config, shard, source, channels, _instance(args))
    return 0


def _instance(args: argparse.Namespace) -> str:
    return str(args.instance or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}")


def _load_channels() -> Mapping[str, type[Channel[Any]]]:
    manager = PluginManager()
    manager.load_entry_points()
    for info in manager.plugins:
        if info.status is PluginStatus.QUARANTINED:
            log.warning("plugin %s is quarantined: %s", info.name, info.error)
    return manager.channels


def _file_or_suite(args: argparse.Namespace, config: BotConfig) -> FileSettingsSource | str:
    """The settings file's source if one is given, else the suite's URL (required)."""
    settings_file = args.settings_file or config.settings_file
    if settings_file is not None:
        return FileSettingsSource(settings_file)
    suite_url: str | None = args.suite_url or config.suite_url
    if not suite_url:
        raise UsageError(
            "missing setting BEGASIST_SUITE_URL "
            "(or --suite-url, or --settings-file for development)"
        )
    return suite_url


def _fleet_source(
    args: argparse.Namespace, config: BotConfig
) -> FileSettingsSource | HttpSettingsSource:
    """A source that also lists the hotels: the settings file, or the suite with a fleet token."""
    suite_url = _file_or_suite(args, config)
    if isinstance(suite_url, FileSettingsSource):
        return suite_url
    if config.fleet_token is None:
        raise UsageError(
            "missing setting BEGASIST_FLEET_TOKEN: a sharded bot lists the hotels with a "
            "fleet token (begasist tokens create-fleet)"
        )
    tokens = {hotel: token.get_secret_value() for hotel, token in config.bot_tokens.items()}
    return HttpSettingsSource(suite_url, tokens, fleet_token=config.fleet_token.get_secret_value())


def _settings_source(
    args: argparse.Namespace, config: BotConfig, hotels: list[str]
) -> SettingsSource:
    suite_url = _file_or_suite(args, config)
    if isinstance(suite_url, FileSettingsSource):
        return suite_url
    tokens = {hotel: token.get_secret_value() for hotel, token in config.bot_tokens.items()}
    if config.bot_token is not None and len(hotels) == 1:
        tokens.setdefault(hotels[0], config.bot_token.get_secret_value())
    missing = [hotel for hotel in hotels if hotel not in tokens]
    if missing:
        raise UsageError(
            f"missing setting BEGASIST_BOT_TOKEN for {', '.join(missing)} "
            '(one hotel: BEGASIST_BOT_TOKEN; several: BEGASIST_BOT_TOKENS=\'{"plaza": "..."}\')'
        )
    return HttpSettingsSource(suite_url, tokens)


async def _serve(
    args: argparse.Namespace,
    config: BotConfig,
    hotels: list[str],
    source: SettingsSource,
    channel_classes: Mapping[str, type[Channel[Any]]],
    instance: str,
) -> None:
    try:
        await _preflight(source, hotels, channel_classes, wait_seconds=config.suite_wait_seconds)
        with ExitStack() as stack:
            config = _redis_config(args, config, stack)
            log.info("instance %s serving %s", instance, ", ".join(hotels))
            await run_channelbot(
                config=config,
                hotels=hotels,
                source=source,
                channel_classes=channel_classes,
                instance=instance,
            )
    finally:
        with anyio.CancelScope(shield=True):
            await source.aclose()


async def _serve_shard(
    args: argparse.Namespace,
    config: BotConfig,
    shard: Shard,
    source: FileSettingsSource | HttpSettingsSource,
    channel_classes: Mapping[str, type[Channel[Any]]],
    instance: str,
) -> None:
    try:
        # One hotel's bad settings must not keep a shard's other hotels down:
        # only the listing is checked here; a hotel's problems show as its
        # channels' states, as they do after start-up.
        hotels = await _first_listing(source, wait_seconds=config.suite_wait_seconds)
        with ExitStack() as stack:
            config = _redis_config(args, config, stack)
            log.info("instance %s serving shard %s", instance, shard)
            await run_sharded_channelbot(
                config=config,
                shard=shard,
                lister=source,
                hotels=hotels,
                source=source,
                channel_classes=channel_classes,
                instance=instance,
            )
    finally:
        with anyio.CancelScope(shield=True):
            await source.aclose()


def _redis_config(args: argparse.Namespace, config: BotConfig, stack: ExitStack) -> BotConfig:
    """*config* with the Redis the bot uses: ``--redis-url``, the configured URL or
    Sentinels, or (``--embedded-engine``) a private engine started on *stack*."""
    if args.redis_url:
        if config.redis_sentinels:
            raise UsageError(
                "--redis-url and BEGASIST_REDIS_SENTINELS are both given: "
                "use one Redis URL or the Sentinels, not both"
            )
        config = config.model_copy(update={"redis_url": args.redis_url})
    if config.redis_configured:
        return config
    if not args.embedded_engine:
        raise UsageError(
            "missing setting BEGASIST_REDIS_URL (or --redis-url), or "
            "BEGASIST_REDIS_SENTINELS with BEGASIST_REDIS_SENTINEL_MASTER; "
            "for development, --embedded-engine starts a private Valkey"
        )
    try:
        engine_url = stack.enter_context(EmbeddedEngine()).url
    except EmbeddedEngineUnavailable as missing:
        raise UsageError(str(missing)) from None
    return config.model_copy(update={"redis_url": engine_url})


async def _first_listing(source: HotelLister, *, wait_seconds: float) -> list[str]:
    """The hotels, waiting up to *wait_seconds* for a source that cannot be reached."""
    delay = 0.5
    deadline = anyio.current_time() + wait_seconds
    while True:
        try:
            return await source.list_hotels()
        except SourceUnreachable as problem:
            left = deadline - anyio.current_time()
            if left <= 0:
                raise SuiteStillUnreachable(
                    f"{problem}; gave up after {wait_seconds:g} s (BEGASIST_SUITE_WAIT_SECONDS)"
                ) from None
            log.warning("listing the hotels: %s; retrying in %.1f s", problem, min(delay, left))
            await anyio.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)
        except SettingsUnavailable as problem:
            raise UsageError(str(problem)) from None


async def _first_fetch(source: SettingsSource, hotel: str, wait_seconds: float) -> HotelSettings:
    """The hotel's settings, waiting up to *wait_seconds* for a source that cannot be reached.

    A suite that is still starting (compose brought the bots up first, a rolling
    update) is waited for, with backoff from 0.5 s to 5 s, each failure logged with
    the URL; what an operator must fix (an unknown hotel, a refused token, a
    bad file) fails at once.
    """
    delay = 0.5
    deadline = anyio.current_time() + wait_seconds
    while True:
        try:
            return await source.fetch(hotel)
        except UnknownHotel as problem:
            raise UsageError(str(problem)) from None
        except SourceUnreachable as problem:
            left = deadline - anyio.current_time()
            if left <= 0:
                raise SuiteStillUnreachable(
                    f"{problem}; gave up after {wait_seconds:g} s (BEGASIST_SUITE_WAIT_SECONDS)"
                ) from None
            log.warning("hotel %s: %s; retrying in %.1f s", hotel, problem, min(delay, left))
            await anyio.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)
        except SettingsUnavailable as problem:
            raise UsageError(str(problem)) from None


async def _preflight(
    source: SettingsSource,
    hotels: list[str],
    channel_classes: Mapping[str, type[Channel[Any]]],
    *,
    wait_seconds: float = 0.0,
) -> None:
    """Fail fast, before taking any lease, on what an operator must fix."""
    for hotel in hotels:
        settings = await _first_fetch(source, hotel, wait_seconds)
        for name, raw in settings.channels.items():
            channel_class = channel_classes.get(name)
            if channel_class is None:
                log.warning("hotel %s: channel %s is configured but not installed", hotel, name)
                continue
            try:
                channel_class.Settings.model_validate(raw)
            except ValidationError as error:
                raise UsageError(
                    f"hotel {hotel}: channel {name}: {describe_validation_error(error)}"
                ) from None
            except Exception as error:  # a plugin's validator may raise anything
                raise UsageError(
                    f"hotel {hotel}: channel {name}: settings validation raised "
                    f"{type(error).__name__}"
                ) from None


if __name__ == "__main__":
    raise SystemExit(main())
