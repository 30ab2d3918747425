"""The chaos soak's summary and verdict: the figures the issue asks for, and what is not met."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from typing import Any

from _soak_chaos import Chaos, Takeover
from _soak_count import Figures
from _soak_fleet import BotFleet

__all__ = ["failures", "print_summary"]

EXAMPLES = 5


def _tries(statuses: Counter[str]) -> str:
    return ", ".join(f"{status}: {n:,}" for status, n in statuses.most_common())


def _spread(values: Iterable[float | None]) -> str:
    measured = [v for v in values if v is not None]
    if not measured:
        return "none measured"
    return f"p50 {statistics.median(measured):.2f} s, max {max(measured):.2f} s (n={len(measured)})"


def _at(chaos: Chaos, when: float) -> str:
    return f"t={when - chaos.started_at:.1f} s"


def print_summary(
    figures: Figures,
    chaos: Chaos,
    fleet: BotFleet,
    graph: dict[str, Any],
    waited: float,
    left: dict[str, int],
    *,
    chaos_on: bool,
) -> None:
    f = figures
    print()
    settled = (
        f"settled in {waited:.0f} s" if not left else f"NOT settled after {waited:.0f} s: {left}"
    )
    print(f"after the load: {settled}")
    print(
        f"inbound webhooks: sent {f.inbound_sent:,} | accepted (200) {f.inbound_accepted:,} | "
        f"stored {f.inbound_stored:,} | lost {f.inbound_lost:,} | duplicated "
        f"{f.inbound_duplicated:,} | never accepted {f.inbound_never_accepted:,}"
    )
    print(f"  tries: {_tries(f.inbound_tries)}")
    print(
        f"staff replies: sent {f.replies_sent:,} | accepted (2xx) {f.replies_accepted:,} | "
        f"sent to Meta once {f.replies_once:,} | never {f.replies_never:,} | twice or more "
        f"{f.replies_twice:,} ({f.replies_twice_one_row:,} of them stored once) | never "
        f"accepted {f.replies_never_accepted:,} (sent to Meta anyway {f.replies_sent_unaccepted:,})"
    )
    print(
        f"  stored: {f.replies_stored_rows:,} rows for {f.replies_stored_keys:,} idempotency keys "
        f"({f.replies_duplicate_rows:,} rows beyond one per key); statuses: "
        f"{dict(f.reply_statuses.most_common())}"
    )
    print(f"  tries: {_tries(f.reply_tries)}")
    print(
        f"  Graph stand-in: accepted {f.graph_accepted:,} messages ({f.graph_other:,} not a soak "
        f"reply), refused 130429 {graph['throttled']}, 131056 {graph['pair_limited']}"
    )
    print(f"dead letters: {sum(f.dead.values()):,}")
    for reason, n in f.dead.most_common():
        print(f"  {n:6,}  {reason}")
    print(f"pending at the end: {f.pending:,} (unread: {f.unread:,})")
    for backlog in f.backlogs:
        if backlog.pending or backlog.lag:
            where = f"{backlog.stream} [{backlog.group}]"
            print(f"  {where}: pending {backlog.pending}, unread {backlog.lag}")
    for figure, lines in f.examples.items():
        print(f"{figure}, e.g.:")
        for line in lines[:EXAMPLES]:
            print(f"  {line}")
    if not chaos_on:
        print("no chaos: nothing killed")
        return
    _print_chaos(chaos, fleet)


def _print_chaos(chaos: Chaos, fleet: BotFleet) -> None:
    takeovers = chaos.takeovers
    clean = [t for t in takeovers if not t.overlapped]
    print(
        f"takeovers after kill -9 of the active bot: {len(takeovers)} kills, "
        f"{len(chaos.skipped)} skipped (no live active bot)"
    )
    print(
        "  working again (lease taken, an entry published after the kill handled): "
        + _spread(t.working for t in takeovers)
    )
    print(
        f"    without the {len(takeovers) - len(clean)} that overlapped a Redis or suite "
        f"outage: {_spread(t.working for t in clean)}"
    )
    print(f"  lease taken: {_spread(t.lease for t in takeovers)}")
    held = [t for t in takeovers if t.pending_at_kill]
    left = sum(t.pending_at_kill or 0 for t in held)
    print(
        f"  the killed bot's pending entries taken over ({len(held)} kills left {left} "
        f"entries pending): {_spread(t.handed_over for t in held)}"
    )
    for takeover in takeovers:
        if takeover.working is None:
            print(f"  not measured: {_describe(takeover)}")
    for when, why in chaos.skipped:
        print(f"  skipped at {_at(chaos, when)}: {why}")
    for outage in chaos.outages:
        back = "never" if outage.back_at is None else f"{outage.back_at - outage.killed_at:.1f} s"
        print(
            f"{outage.what} killed at {_at(chaos, outage.killed_at)}, answering again after {back}"
        )
    codes = Counter(code for _, code in fleet.exits)
    print(
        f"bots: {fleet.started} started, {fleet.killed} killed by the soak, "
        f"{len(fleet.exits)} exited by themselves (exit codes {dict(codes)})"
    )


def _describe(takeover: Takeover) -> str:
    return (
        f"{takeover.hotel} {takeover.dead}: lease {takeover.lease}, marker handled "
        f"{takeover.handled_at and takeover.handled_at - takeover.killed_at}, "
        f"pending handed over {takeover.handed_over}"
    )


def failures(figures: Figures, chaos: Chaos, *, chaos_on: bool) -> list[str]:
    """Each "done when" figure not met (and the guards against a vacuous pass)."""
    f = figures
    checks = [
        (f.inbound_lost, "inbound lost"),
        (f.inbound_duplicated, "inbound duplicated"),
        (f.replies_accepted - f.replies_once, "accepted replies not sent exactly once"),
        (f.replies_duplicate_rows, "reply rows beyond one per idempotency key"),
        (sum(f.dead.values()), "dead letters"),
        (f.pending, "pending at the end"),
        (f.inbound_never_accepted, "webhooks never accepted within the retry budget"),
        (f.replies_never_accepted, "replies never accepted within the retry budget"),
    ]
    problems = [f"{n:,} {what}" for n, what in checks if n]
    if chaos_on and not any(t.working is not None for t in chaos.takeovers):
        problems.append("no takeover time measured")
    return problems
