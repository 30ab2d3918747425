"""``channelbot health``: an exec probe for compose and Kubernetes, asking the bot's ``/ready``."""

from __future__ import annotations

import ipaddress
import json
import sys
from typing import Final

import httpx

from begasist_core.channelbot.config import BotConfig

__all__ = ["EXIT_NOT_READY", "EXIT_NO_HEALTH_PORT", "EXIT_READY", "ask_health", "probe_host"]

EXIT_READY: Final = 0
EXIT_NOT_READY: Final = 1
"""``/ready`` answered 503, or nothing answered on the port."""
EXIT_NO_HEALTH_PORT: Final = 2
"""No health port is configured (``BEGASIST_BOT_HEALTH_PORT`` or ``--health-port``)."""
TIMEOUT_SECONDS: Final = 5.0
"""Above ``/ready``'s own 2 s Redis probe, below a typical probe timeout."""


def probe_host(bind_host: str) -> str:
    """The address to ask: loopback when the bot listens on every address, else that one."""
    try:
        address = ipaddress.ip_address(bind_host)
    except ValueError:
        return bind_host  # a host name
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{address}]" if address.version == 6 else str(address)


def ask_health(config: BotConfig) -> int:
    """GET the bot's ``/ready``; print why it is not ready; return the exit code."""
    if config.health_port is None or config.health_port == 0:
        print(
            "channelbot health: no health port configured "
            "(set BEGASIST_BOT_HEALTH_PORT or --health-port)",
            file=sys.stderr,
        )
        return EXIT_NO_HEALTH_PORT
    url = f"http://{probe_host(config.health_host)}:{config.health_port}/ready"
    try:
        answer = httpx.get(url, timeout=TIMEOUT_SECONDS, trust_env=False)
    except httpx.HTTPError as error:
        print(f"channelbot health: no answer from {url}: {error}", file=sys.stderr)
        return EXIT_NOT_READY
    if answer.status_code == 200:
        print("ready")
        return EXIT_READY
    try:
        reason = json.loads(answer.content).get("reason") or answer.text
    except (ValueError, AttributeError):
        reason = answer.text
    print(f"channelbot health: not ready ({answer.status_code}): {reason}", file=sys.stderr)
    return EXIT_NOT_READY
