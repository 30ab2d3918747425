"""The compose file of a fleet: Redis, the suite, its TLS proxy and a bot per hotel.

:func:`compose_document` builds it as plain data from the hotel slugs, sorted, so the
same hotels always give the same file and adding or removing one changes only its
services; :func:`render_compose` writes it with PyYAML under a fixed header.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import yaml

from begasist_suite.fleet.tokens import token_variable

__all__ = [
    "BOT_HEALTH_PORT",
    "COMPOSE_HEADER",
    "ComposeLayout",
    "compose_document",
    "render_compose",
]

BOT_HEALTH_PORT: Final = 8081
"""The bot's health port inside its container, asked by ``channelbot health``."""

COMPOSE_HEADER: Final = """\
# Begasist on one machine: Redis 7 with AOF, the suite behind Caddy (TLS), and one
# channelbot per hotel. Written by `begasist fleet compose` from the hotels in the
# store: do not edit it, run that command again after adding or removing a hotel
# (docs/deploy.md). The secrets are in the .env beside this file (never in git):
# BEGASIST_SECRET_KEY (from `begasist init`), BEGASIST_DOMAIN (unset: localhost, with
# Caddy's local CA) and a BEGASIST_BOT_TOKEN_<HOTEL> per hotel (minted by `begasist
# fleet compose`); .env.example lists them. Then: docker compose up -d --build
#
# redis: AOF, so an acknowledged event survives a Redis restart (fsync every second).
# suite: BEGASIST_SECRET_KEY encrypts the channel secrets at rest (losing it means
#   entering them again). Its store is the SQLite file in the data directory mounted
#   from this machine: the one `begasist init` made (owned by the image's user 10001).
#   Port 8000 is not published: only the proxy and the bots reach it, so forwarded
#   client addresses can be trusted from any of them. Healthy = ready: store and Redis
#   answer, event consumer and outbox relay run.
# proxy: TLS for the suite: a certificate for BEGASIST_DOMAIN from Let's Encrypt (ports
#   80 and 443 reachable), or Caddy's local CA for localhost (deploy/Caddyfile).
#   Certificates are kept on caddy-data, or Caddy asks for new ones at every start.
# bot-<hotel>: starts once the suite is ready (it fetches its settings there); healthy
#   while `channelbot health` answers on its health port. A -standby twin, when there,
#   waits for the hotel's lease. Guests' files go to the media volume the suite serves.
#   The stop grace period is longer than the bot's SIGTERM drain (10 s by default).
"""

_REDIS_URL: Final = "redis://redis:6379/0"
_RESTART: Final = "unless-stopped"


@dataclass(frozen=True)
class ComposeLayout:
    """What the compose file needs to know besides the hotels."""

    version: str
    """The images' tag: the suite's release."""
    data_dir: str = "./data"
    """The host directory mounted at the suite's ``/data``, relative to the compose file."""
    sqlite_name: str = "begasist.sqlite3"
    """The store's file name inside it."""
    standby: bool = False
    """A second bot per hotel (``bot-<slug>-standby``), a hot standby on the lease."""


class _Quoted(str):
    """A string written in double quotes (values compose interpolates, ports, commands)."""


class _Flow(list[str]):
    """A list written on one line, JSON style: commands and healthcheck tests."""


def _command(*words: str) -> _Flow:
    return _Flow(_Quoted(word) for word in words)


def compose_document(hotels: Iterable[str], layout: ComposeLayout) -> dict[str, Any]:
    """The compose file for *hotels* (slugs, any order) as plain data."""
    services: dict[str, Any] = {
        "redis": _redis(),
        "suite": _suite(layout),
        "proxy": _proxy(),
    }
    for hotel in sorted(set(hotels)):
        services[f"bot-{hotel}"] = _bot(hotel, layout)
        if layout.standby:
            services[f"bot-{hotel}-standby"] = _bot(hotel, layout)
    volumes = ["redis-data", "media", "caddy-data", "caddy-config"]
    return {"name": "begasist", "services": services, "volumes": dict.fromkeys(volumes)}


def _healthcheck(test: _Flow, *, interval: str, timeout: str, retries: int, start: str) -> Any:
    return {
        "test": test,
        "interval": interval,
        "timeout": timeout,
        "retries": retries,
        "start_period": start,
    }


def _redis() -> dict[str, Any]:
    return {
        "image": "redis:7-alpine",
        "command": _command("redis-server", "--appendonly", "yes", "--appendfsync", "everysec"),
        "volumes": ["redis-data:/data"],
        "healthcheck": _healthcheck(
            _command("CMD", "redis-cli", "ping"),
            interval="5s",
            timeout="3s",
            retries=10,
            start="5s",
        ),
        "restart": _RESTART,
    }


def _suite(layout: ComposeLayout) -> dict[str, Any]:
    ready = (
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4)"
    )
    return {
        "image": f"begasist/suite:{layout.version}",
        "build": {"context": ".", "dockerfile": "images/suite.Dockerfile"},
        "command": _command("serve"),
        "environment": {
            "BEGASIST_REDIS_URL": _Quoted(_REDIS_URL),
            "BEGASIST_SECRET_KEY": _Quoted(
                "${BEGASIST_SECRET_KEY:?set BEGASIST_SECRET_KEY in .env (begasist init)}"
            ),
            "BEGASIST_SQLITE_PATH": _Quoted(f"/data/{layout.sqlite_name}"),
            "BEGASIST_MEDIA_DIR": _Quoted("/media"),
            "BEGASIST_PUBLIC_URL": _Quoted("https://${BEGASIST_DOMAIN:-localhost}"),
            "FORWARDED_ALLOW_IPS": _Quoted("*"),
        },
        "volumes": [f"{layout.data_dir}:/data", "media:/media"],
        "healthcheck": _healthcheck(
            _command("CMD", "python", "-c", ready),
            interval="10s",
            timeout="5s",
            retries=3,
            start="20s",
        ),
        "depends_on": {"redis": {"condition": "service_healthy"}},
        "restart": _RESTART,
    }


def _proxy() -> dict[str, Any]:
    return {
        "image": "caddy:2-alpine",
        "ports": [_Quoted("80:80"), _Quoted("443:443"), _Quoted("443:443/udp")],
        "environment": {"BEGASIST_DOMAIN": _Quoted("${BEGASIST_DOMAIN:-localhost}")},
        "volumes": [
            "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro",
            "caddy-data:/data",
            "caddy-config:/config",
        ],
        "depends_on": {"suite": {"condition": "service_started"}},
        "restart": _RESTART,
    }


def _bot(hotel: str, layout: ComposeLayout) -> dict[str, Any]:
    variable = token_variable(hotel)
    return {
        "image": f"begasist/channelbot:{layout.version}",
        "build": {"context": ".", "dockerfile": "images/channelbot.Dockerfile"},
        "command": _command("--hotel", hotel),
        "environment": {
            "BEGASIST_REDIS_URL": _Quoted(_REDIS_URL),
            "BEGASIST_SUITE_URL": _Quoted("http://suite:8000"),
            "BEGASIST_BOT_TOKEN": _Quoted(
                f"${{{variable}:?set {variable} in .env (begasist fleet compose)}}"
            ),
            "BEGASIST_MEDIA_DIR": _Quoted("/media"),
            "BEGASIST_BOT_HEALTH_PORT": _Quoted(str(BOT_HEALTH_PORT)),
        },
        "volumes": ["media:/media"],
        "healthcheck": _healthcheck(
            _command("CMD", "channelbot", "health"),
            interval="10s",
            timeout="5s",
            retries=3,
            start="30s",
        ),
        "depends_on": {
            "redis": {"condition": "service_healthy"},
            "suite": {"condition": "service_healthy"},
        },
        "stop_grace_period": "30s",
        "restart": _RESTART,
    }


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, ``key:`` for an empty value."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_Dumper.add_representer(
    _Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"')
)
_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", list(v), flow_style=True)
)
_Dumper.add_representer(type(None), lambda d, _: d.represent_scalar("tag:yaml.org,2002:null", ""))


def render_compose(document: dict[str, Any]) -> str:
    """*document* as YAML under :data:`COMPOSE_HEADER`, a blank line between services."""
    text = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, width=1_000_000, default_flow_style=False
    )
    lines: list[str] = []
    section = ""
    for line in text.splitlines():
        starts_section = not line.startswith(" ")
        starts_service = section == "services" and line.startswith("  ") and line[2] != " "
        # Blank lines mean nothing in block YAML; they only part the services for readers.
        if lines and (starts_section or (starts_service and not lines[-1].endswith(":"))):
            lines.append("")
        if starts_section:
            section = line.partition(":")[0]
        lines.append(line)
    return COMPOSE_HEADER + "\n" + "\n".join(lines) + "\n"
