"""What the Prometheus instrumentation adds per webhook, per store call and per scrape.

In one process, against a baseline measured in the same run, in CPU time of
this process (``time.process_time``), so other jobs on the machine do not count:

* per webhook: the ingress's ``count_webhook`` (``begasist_webhooks_total`` by
  channel and status, the ingest-latency histogram) against an empty loop;
* per store call: a coroutine wrapped by ``time_operations`` against the same
  coroutine unwrapped (the store's wrapper, around an operation that does nothing);
* per scrape: rendering the process registry (as ``/metrics`` does, without
  the Redis reads) after every metric has had a series.

    hatch run python bench/metrics_overhead.py [--iterations 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from begasist_core.metrics import exposition
from begasist_suite.metrics import STORE_SECONDS, count_webhook, time_operations


class Bare:
    async def get_hotel(self, slug: str) -> str:
        return slug


@time_operations
class Timed(Bare):
    async def get_hotel(self, slug: str) -> str:
        return slug


def per_call_us(started: float, iterations: int) -> float:
    return (time.process_time() - started) / iterations * 1e6


def webhook_updates(iterations: int) -> tuple[float, float]:
    started = time.process_time()
    for _ in range(iterations):
        pass
    baseline = per_call_us(started, iterations)
    started = time.process_time()
    for _ in range(iterations):
        began = time.perf_counter()
        count_webhook("whatsapp", 200, time.perf_counter() - began)
    return baseline, per_call_us(started, iterations)


async def store_calls(iterations: int) -> tuple[float, float]:
    bare, timed = Bare(), Timed()
    started = time.process_time()
    for _ in range(iterations):
        await bare.get_hotel("plaza")
    baseline = per_call_us(started, iterations)
    started = time.process_time()
    for _ in range(iterations):
        await timed.get_hotel("plaza")
    return baseline, per_call_us(started, iterations)


def scrape(iterations: int) -> tuple[float, int]:
    for operation in ("get_hotel", "record_inbound", "claim_outbox", "apply_status"):
        STORE_SECONDS.labels(operation).observe(0.001)
    started = time.process_time()
    for _ in range(iterations):
        text = exposition()
    return (time.process_time() - started) / iterations * 1e3, len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=200_000)
    args = parser.parse_args()
    base, instrumented = webhook_updates(args.iterations)
    print(
        f"webhook counters: {instrumented - base:.2f} us added per webhook "
        f"(empty loop {base:.2f} us, instrumented {instrumented:.2f} us)"
    )
    base, instrumented = asyncio.run(store_calls(args.iterations))
    print(
        f"store wrapper: {instrumented - base:.2f} us added per call "
        f"(bare coroutine {base:.2f} us, timed {instrumented:.2f} us)"
    )
    milliseconds, size = scrape(max(1, args.iterations // 1000))
    print(f"registry render: {milliseconds:.2f} ms per scrape ({size} bytes)")


if __name__ == "__main__":
    main()
