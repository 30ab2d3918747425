"""Email messages parsed per second, on one core, over the test corpus.

What the bot does with each raw message it fetches over IMAP
(``parse_email``: MIME, charsets, the HTML-to-text fallback, attachments,
quote and signature stripping, the automated-mail check), in one process
pinned to one CPU, over the corpus in ``tests/channels/email/corpus``: the
well-formed messages, then all of them (with the malformed ones). Each figure
is the best of ``--rounds`` rounds of ``--seconds`` each.

    hatch run python bench/email_parse.py [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from begasist_channels_email.parsing import parse_email

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "channels" / "email" / "corpus"
MAX_BYTES = 25 * 1024 * 1024


def rate(raws: list[bytes], seconds: float) -> float:
    """Messages parsed per second, cycling through ``raws``."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for raw in raws:
            parse_email(raw, max_bytes=MAX_BYTES)
        done += len(raws)
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    paths = sorted(CORPUS.glob("*.eml"))
    well_formed = [p.read_bytes() for p in paths if not p.name.startswith("malformed_")]
    every = [p.read_bytes() for p in paths]
    print(
        f"python {platform.python_version()}, {platform.machine()}, one core"
        f" ({os.cpu_count()} on the machine), load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'corpus':<24}{'messages':>9}{'avg bytes':>11}{'messages/s':>12}{'us/message':>12}")
    for name, raws in (("well-formed", well_formed), ("all (with malformed)", every)):
        best = max(rate(raws, args.seconds) for _ in range(args.rounds))
        average = sum(map(len, raws)) // len(raws)
        print(f"{name:<24}{len(raws):>9}{average:>11,}{best:>12,.0f}{1e6 / best:>12.1f}")


if __name__ == "__main__":
    main()
