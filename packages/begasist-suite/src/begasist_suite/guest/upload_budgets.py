"""Byte budgets of guests' uploads: bytes counted in Redis as they stream in, before they are kept.

Counting files (``guest_visitor_uploads``, ``guest_address_uploads``) bounds
how often, not how much: one address could send its 60 files a minute at the
hotel's largest size. So every upload's bytes are also spent, while they
arrive, against three budgets (:class:`~begasist_suite.guest.limits.Budget`,
keyed like every guest limit): the client address's and the hotel's per guest
window, and the hotel's per day. The first budget passed stops the upload
(:class:`OverBudget`): the file is dropped unfinished, nothing of it is kept,
and what arrived stays counted. The daily budget bounds what unsent uploads
can take on disk, since the sweeper (:mod:`begasist_suite.guest.pending`)
deletes them after ``guest_upload_pending_hours``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Final

from begasist_core import REDIS_UNAVAILABLE

from begasist_suite.config import SuiteSettings
from begasist_suite.guest.limits import Budget, WindowLimiter

__all__ = [
    "DAY_SECONDS",
    "METER_BYTES",
    "BudgetUnavailable",
    "OverBudget",
    "metered",
    "upload_budgets",
]

DAY_SECONDS: Final = 86_400

METER_BYTES: Final = 256 * 1024
"""Bytes received between two counts (the first chunk is counted at once, so a spent
budget refuses an upload before it is read further); a file's last bytes are counted
before the file is kept."""


class OverBudget(Exception):
    """An upload passed one of its byte budgets."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(f"{budget.kind} past {budget.limit} bytes")
        self.budget = budget


class BudgetUnavailable(Exception):
    """Redis did not answer a count: the upload is refused rather than let through uncounted."""


def upload_budgets(settings: SuiteSettings, hotel: str, client: str) -> tuple[Budget, ...]:
    """The budgets an upload to *hotel* from *client* (:func:`client_key`) is spent against."""
    window = settings.guest_window_seconds
    return (
        Budget("upload-bytes-address", client, settings.guest_address_upload_bytes, window),
        Budget("upload-bytes-hotel", hotel, settings.guest_hotel_upload_bytes, window),
        Budget(
            "upload-bytes-hotel-day", hotel, settings.guest_hotel_upload_bytes_per_day, DAY_SECONDS
        ),
    )


async def _spend(limiter: WindowLimiter, amount: int, budgets: tuple[Budget, ...]) -> None:
    try:
        over = await limiter.spend(amount, budgets)
    except REDIS_UNAVAILABLE:
        raise BudgetUnavailable("the upload budgets could not be counted") from None
    if over is not None:
        raise OverBudget(over)


async def metered(
    chunks: AsyncIterator[bytes], limiter: WindowLimiter, budgets: tuple[Budget, ...]
) -> AsyncGenerator[bytes, None]:
    """*chunks*, spent against *budgets* as they come; OverBudget (or BudgetUnavailable)
    instead of the chunk that passes one, or instead of the end of the stream."""
    uncounted = 0
    first = True
    async for chunk in chunks:
        uncounted += len(chunk)
        if first or uncounted >= METER_BYTES:
            await _spend(limiter, uncounted, budgets)
            uncounted, first = 0, False
        yield chunk
    if uncounted:
        await _spend(limiter, uncounted, budgets)
