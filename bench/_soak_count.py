"""The chaos soak's counts: what the store, the Graph stand-in and Redis hold, per message.

Inbound messages are counted by the unique token in their text (``in-000123``)
among the store's inbound rows, read straight from the suite's SQLite file;
staff replies by theirs (``re-00042``) among the store's outbound rows and
among the texts the Graph API stand-in accepted. Dead letters come from the
dead-letter stream, pending entries from ``XINFO GROUPS`` of every stream.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _soak_load import INBOUND_TOKEN, REPLY_TOKEN, Inbound, Reply
from redis.asyncio import Redis

__all__ = ["Figures", "GroupBacklog", "StoreRows", "count", "dead_letters", "group_backlogs"]


@dataclass
class StoreRows:
    """What the suite's store holds, by token."""

    inbound: Counter[str] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)
    reply_statuses: Counter[str] = field(default_factory=Counter)
    """Status of every stored reply row (``queued`` at the end: never sent)."""

    @classmethod
    def read(cls, sqlite_path: Path) -> StoreRows:
        rows = cls()
        # A plain connection: SQLite in WAL mode lets it read beside the suite's writer.
        connection = sqlite3.connect(sqlite_path, timeout=5)
        try:
            cursor = connection.execute(
                "SELECT json_extract(doc, '$.direction'), json_extract(doc, '$.text'),"
                " json_extract(doc, '$.status'), json_extract(doc, '$.failed') FROM messages"
            )
            for direction, text, status, failed in cursor:
                if direction == "inbound":
                    for token in INBOUND_TOKEN.findall(text or ""):
                        rows.inbound[token] += 1
                elif direction == "outbound":
                    for token in REPLY_TOKEN.findall(text or ""):
                        rows.replies[token] += 1
                        rows.reply_statuses["failed" if failed else str(status)] += 1
        finally:
            connection.close()
        return rows


@dataclass(frozen=True)
class GroupBacklog:
    stream: str
    group: str
    pending: int
    lag: int | None
    """Entries not yet read by the group (None: Redis cannot tell, e.g. after a trim)."""


async def group_backlogs(redis: Redis, prefix: str) -> list[GroupBacklog]:
    """Pending and unread entries of every consumer group of every stream under *prefix*."""
    backlogs = []
    async for key in redis.scan_iter(match=f"{prefix}:*", _type="stream", count=1000):
        stream = key.decode()
        for group in await redis.xinfo_groups(stream):
            lag = group.get("lag")
            backlogs.append(
                GroupBacklog(
                    stream=stream,
                    group=_text(group["name"]),
                    pending=int(group["pending"]),
                    lag=None if lag is None else int(lag),
                )
            )
    return sorted(backlogs, key=lambda b: (b.stream, b.group))


async def dead_letters(redis: Redis, stream: str, prefix: str) -> Counter[str]:
    """The dead-letter stream's entries, counted by source stream kind, reason and error."""
    counted: Counter[str] = Counter()
    start = "-"
    while True:
        entries: Any = await redis.xrange(stream, min=start, count=1000)
        if not entries:
            return counted
        for entry_id, fields in entries:
            source = _text(fields.get(b"source_stream", b"?"))
            kind = source.removeprefix(f"{prefix}:").split(":")
            where = ":".join([*kind[:1], "*", *kind[2:]]) if kind[0] == "hotel" else source
            error = _text(fields.get(b"error", b"")).splitlines()
            reason = _text(fields.get(b"reason", b"?"))
            counted[f"{where} {reason}: {error[0][:120] if error else ''}"] += 1
            start = f"({entry_id.decode()}"  # exclusive: the entries after this one


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")


@dataclass
class Figures:
    """Everything the summary prints and the verdict checks."""

    inbound_sent: int = 0
    inbound_accepted: int = 0
    inbound_never_accepted: int = 0
    inbound_stored: int = 0
    inbound_lost: int = 0
    inbound_duplicated: int = 0
    inbound_tries: Counter[str] = field(default_factory=Counter)
    replies_sent: int = 0
    replies_accepted: int = 0
    replies_never_accepted: int = 0
    replies_once: int = 0
    replies_never: int = 0
    replies_twice: int = 0
    replies_twice_one_row: int = 0
    """Of those sent twice or more, the ones stored as one row: sent twice by the bots."""
    replies_sent_unaccepted: int = 0
    """Replies no try of which answered 2xx, yet the stand-in got them (a cut answer)."""
    replies_stored_rows: int = 0
    replies_stored_keys: int = 0
    replies_duplicate_rows: int = 0
    """Keys stored as more than one row (each row beyond the first)."""
    reply_statuses: Counter[str] = field(default_factory=Counter)
    reply_tries: Counter[str] = field(default_factory=Counter)
    graph_accepted: int = 0
    graph_other: int = 0
    """Messages the stand-in accepted with no reply token: sent by nobody the soak knows."""
    dead: Counter[str] = field(default_factory=Counter)
    backlogs: list[GroupBacklog] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)
    """A few of the messages behind each figure that is not zero, to look up in the logs."""

    def example(self, figure: str, line: str) -> None:
        self.examples.setdefault(figure, []).append(line)

    @property
    def pending(self) -> int:
        return sum(b.pending for b in self.backlogs)

    @property
    def unread(self) -> int:
        return sum(b.lag or 0 for b in self.backlogs)


def count(
    inbound: Iterable[Inbound],
    replies: Iterable[Reply],
    rows: StoreRows,
    sent_texts: Iterable[str],
) -> Figures:
    """The message figures (the Redis ones are filled in by the caller)."""
    figures = Figures()
    for item in inbound:
        figures.inbound_sent += 1
        figures.inbound_tries.update(item.statuses)
        stored = rows.inbound[item.token]
        figures.inbound_stored += stored > 0
        figures.inbound_duplicated += stored > 1
        seen = f"{item.token} {item.wamid} ({item.kind}, {item.hotel}, tries {dict(item.statuses)})"
        if stored > 1:
            figures.example("inbound duplicated", f"{seen}: stored {stored} times")
        if item.accepted_at is None:
            figures.inbound_never_accepted += 1
            figures.example("webhooks never accepted", seen)
        else:
            figures.inbound_accepted += 1
            figures.inbound_lost += stored == 0
            if stored == 0:
                figures.example("inbound lost", seen)
    at_meta: Counter[str] = Counter()
    for text in sent_texts:
        tokens = REPLY_TOKEN.findall(text)
        at_meta.update(tokens)
        figures.graph_accepted += 1
        figures.graph_other += not tokens
    for reply in replies:
        figures.replies_sent += 1
        figures.reply_tries.update(reply.statuses)
        sends = at_meta[reply.token]
        stored = rows.replies[reply.token]
        seen = (
            f"{reply.token} ({reply.hotel}, conversation {reply.conversation_id}, tries "
            f"{dict(reply.statuses)}, sent to Meta {sends}, stored {stored})"
        )
        if reply.accepted_at is None:
            figures.replies_never_accepted += 1
            figures.replies_sent_unaccepted += sends > 0
            figures.example("replies never accepted", seen)
        else:
            figures.replies_accepted += 1
            figures.replies_once += sends == 1
            figures.replies_never += sends == 0
            figures.replies_twice += sends > 1
            if sends != 1:
                figures.example("accepted replies not sent once", seen)
        if stored > 1:
            figures.example("replies stored more than once", seen)
        figures.replies_twice_one_row += sends > 1 and stored == 1
        figures.replies_stored_rows += stored
        figures.replies_stored_keys += stored > 0
        figures.replies_duplicate_rows += max(stored - 1, 0)
    figures.reply_statuses = rows.reply_statuses
    return figures
