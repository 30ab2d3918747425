"""The suite's event consumer alone: ``message.received`` events applied to the store.

No stream and no HTTP: the :class:`EventApplier` the consumer runs is called
in a loop on events built in memory, for ``--hotels`` hotels (channel mode
manual, so no responder runs), against a fresh SQLite file, ``--batch``
events per store unit of work as the consumer does (its read batch is 100;
``--batch 1`` is a commit per event). It isolates the store path of the
end-to-end benchmark (``bench/inbound_e2e.py``).

    hatch run python bench/consumer_apply.py [--messages 5000] [--hotels 50] [--batch 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import anyio
from begasist_core import (
    Delivery,
    Direction,
    GuestIdentity,
    Message,
    MessageReceived,
    make_event,
    redis_from_url,
)
from begasist_suite.app import load_plugins
from begasist_suite.config import SuiteSettings
from begasist_suite.inbox.consumer import EventApplier
from begasist_suite.secret_box import SecretBox
from begasist_suite.services import Services
from begasist_suite.store.records import ChannelConfig, Hotel
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store
from pydantic import SecretStr

KEY = "bench-" + "k" * 40


async def measure(messages: int, hotels: int, redis_url: str, batch: int = 100) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        store = Store(SqliteDatabase(Path(workdir) / "bench.sqlite3"))
        await store.migrate()
        slugs = [f"h{i:02d}" for i in range(hotels)]
        for slug in slugs:
            await store.create_hotel(Hotel(slug=slug, name=slug))
            await store.put_channel_config(
                ChannelConfig(hotel=slug, channel="demo", settings={"mode": "manual"})
            )
        settings = SuiteSettings(
            redis_url=redis_url, secret_key=SecretStr(KEY), prefix=f"bench-{uuid.uuid4().hex[:8]}"
        )
        redis = redis_from_url(redis_url)
        services = Services(
            settings=settings,
            store=store,
            redis=redis,
            plugins=load_plugins(),
            secret_box=SecretBox(KEY),
        )
        applier = EventApplier(services)
        events = []
        for n in range(messages):
            hotel = slugs[n % hotels]
            guest = GuestIdentity(channel="demo", address=f"+34600{n % 500:06d}")
            message = Message(
                hotel=hotel,
                channel="demo",
                conversation_key=guest.address,
                direction=Direction.INBOUND,
                guest=guest,
                text=f"hola {n}",
                provider_message_id=f"bench-{n}",
            )
            events.append(make_event(hotel, MessageReceived(message=message)))
        delivery = Delivery(stream="bench", entry_id=b"0-1", deliveries=1)
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            async with store.unit_of_work():
                for event in events[start : start + batch]:
                    await applier(event, delivery)
        elapsed = time.perf_counter() - started
        await store.aclose()
        await redis.aclose()
        return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--hotels", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    for run in range(1, args.runs + 1):
        rate = anyio.run(measure, args.messages, args.hotels, args.redis_url, args.batch)
        print(f"run {run}: {rate:,.0f} messages/s applied ({1e6 / rate:,.0f} us each)")


if __name__ == "__main__":
    main()
