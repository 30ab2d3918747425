"""The CPU and memory each generated pod asks for, and the measured figure behind each.

Every figure quotes docs/benchmarks.md word for word (``source``), so a test can
check that what the manifests ask for still rests on a measurement there. Where
nothing was measured yet, ``source`` says so instead of inventing a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BOT", "REDIS", "SHARD_BOT", "SUITE", "PodResources"]


@dataclass(frozen=True, slots=True)
class PodResources:
    """A container's requests and limits, with the reasons for them."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    reason: str
    """Why these values, in a sentence: which figure each one comes from."""
    sources: tuple[str, ...]
    """The figures' own words in docs/benchmarks.md (empty: nothing measured yet)."""

    def as_k8s(self) -> dict[str, Any]:
        """The container's ``resources`` field."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


SUITE = PodResources(
    cpu_request="500m",
    memory_request="256Mi",
    cpu_limit="1",
    memory_limit="512Mi",
    reason=(
        "requests: 28-44% of a core for 100 staff replies a second, and RSS 102-103 MB idle "
        "(web chat sockets bench); limits: one process never uses more than a core (93-100% "
        "of one at the inbound maximum) and 5,000 guest sockets reach 324-332 MB"
    ),
    sources=(
        "RSS before -> after | 102 MB -> 324-326 MB",
        "(RSS 103 -> 332 MB)",
        "3.1-4.4 ms of CPU (30-44% of a core at 100/s)",
        "the suite process sits at 93-100% of one core",
    ),
)

BOT = PodResources(
    cpu_request="50m",
    memory_request="64Mi",
    cpu_limit="500m",
    memory_limit="128Mi",
    reason=(
        "requests: RSS 47.4 MB with two channels, idle most of the time; limits: 27-32% of a "
        "core while sending 80 WhatsApp messages a second, twice the 47.6 MB maximum RSS"
    ),
    sources=(
        "| RSS with two channels | 47.4 MB | 47.6 MB |",
        "the bot used 27-32% of a core",
    ),
)

SHARD_BOT = PodResources(
    cpu_request="200m",
    memory_request="160Mi",
    cpu_limit="1",
    memory_limit="320Mi",
    reason=(
        "for a shard of about 250 idle hotels: requests: 12.5% of a core idle and RSS "
        "109-110 MB per bot of 4 shards over 1,000 hotels; limits: a start-up of 250 hotels "
        "is CPU-bound for a while (one process never uses more than a core), and the memory "
        "limit leaves room for traffic and a dead neighbour's share (docs/deploy.md)"
    ),
    sources=(
        "| RSS | 103.6 MB | 109.1 to 110.5 MB per bot |",
        "| 11.5 % of a core (0.05 % per hotel) | 12.5 % of a core per bot |",
    ),
)

REDIS = PodResources(
    cpu_request="250m",
    memory_request="512Mi",
    cpu_limit="1",
    memory_limit="2Gi",
    reason=(
        "CPU: ~13% of a core at the inbound maximum (595-861 messages a second); memory: "
        "3.3 KB of keys and about 70 KB of client buffers per idle hotel (20 KB per "
        "connection), plus the backlog of a bot that is down (streams keep what a bot has "
        "not acknowledged; 588 B of JSON per message.received): size it from the fleet"
    ),
    sources=(
        "Redis ~13%",
        "`message.received` (588 B of JSON)",
        "| Redis keys | 3.3 KB per hotel, as above | |",
    ),
)
