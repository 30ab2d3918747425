"""The store's contract for operator app settings and route keys, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.records import ChannelApp, ChannelConfig, Hotel
from begasist_suite.store.store import Conflict, Store

pytestmark = pytest.mark.anyio

PLAZA = "plaza"
SOL = "sol"
NUMBER = "1122334455667"
OTHER = "9988776655443"
SAVED_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def store(database: DocumentDatabase) -> Store:
    return Store(database)


def routed(hotel: str, key: str | None, channel: str = "whatsapp") -> ChannelConfig:
    return ChannelConfig(
        hotel=hotel, channel=channel, settings={"n": key}, route_key=key, updated_at=SAVED_AT
    )


async def test_app_settings_round_trip_per_channel_and_stay_out_of_hotels(store: Store) -> None:
    assert await store.get_channel_app("whatsapp") is None
    app = ChannelApp(channel="whatsapp", settings={"a": 1}, secrets={"app_secret": "c1"})
    assert await store.put_channel_app(app) == app
    assert await store.get_channel_app("whatsapp") == app
    changed = app.model_copy(update={"secrets": {"app_secret": "c2"}})
    await store.put_channel_app(changed)
    assert await store.get_channel_app("whatsapp") == changed
    assert await store.get_channel_app("email") is None
    await store.put_channel_config(routed(PLAZA, NUMBER))
    assert await store.list_channel_configs(PLAZA) == [routed(PLAZA, NUMBER)]


async def test_a_saved_route_key_names_its_hotel(store: Store) -> None:
    assert await store.route_owner("whatsapp", NUMBER) is None
    await store.put_channel_config(routed(PLAZA, NUMBER))
    await store.put_channel_config(routed(SOL, OTHER))
    await store.put_channel_config(routed(SOL, NUMBER, channel="other"))
    assert await store.route_owner("whatsapp", NUMBER) == PLAZA
    assert await store.route_owner("whatsapp", OTHER) == SOL
    assert await store.route_owner("other", NUMBER) == SOL
    assert await store.list_channel_configs(PLAZA) == [routed(PLAZA, NUMBER)]


async def test_a_second_hotel_cannot_take_a_route_key(store: Store) -> None:
    await store.put_channel_config(routed(PLAZA, NUMBER))
    with pytest.raises(Conflict, match="another hotel's whatsapp settings already use"):
        await store.put_channel_config(routed(SOL, NUMBER))
    assert await store.get_channel_config(SOL, "whatsapp") is None
    assert await store.route_owner("whatsapp", NUMBER) == PLAZA
    await store.put_channel_config(routed(PLAZA, NUMBER))  # saving again keeps it


async def test_a_changed_or_deleted_setting_lets_its_key_go(store: Store) -> None:
    await store.put_channel_config(routed(PLAZA, NUMBER))
    await store.put_channel_config(routed(PLAZA, OTHER))
    assert await store.route_owner("whatsapp", NUMBER) is None
    assert await store.route_owner("whatsapp", OTHER) == PLAZA
    await store.put_channel_config(routed(SOL, NUMBER))
    assert await store.delete_channel_config(PLAZA, "whatsapp")
    assert await store.route_owner("whatsapp", OTHER) is None
    await store.put_channel_config(routed(SOL, None))
    assert await store.route_owner("whatsapp", NUMBER) is None


async def test_a_deleted_hotel_lets_its_keys_go(store: Store) -> None:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    await store.put_channel_config(routed(PLAZA, NUMBER))
    await store.delete_hotel(PLAZA)
    assert await store.route_owner("whatsapp", NUMBER) is None
    await store.put_channel_config(routed(SOL, NUMBER))
    assert await store.route_owner("whatsapp", NUMBER) == SOL


async def test_a_stale_claim_is_taken_over(store: Store) -> None:
    """A claim whose owner's settings no longer name the key (a crash between writes)."""
    await store.put_channel_config(routed(PLAZA, NUMBER))
    await store.database.collection("channel_configs").update_one(
        {"_id": f"{PLAZA}|whatsapp"}, {"$set": {"route_key": OTHER}}
    )
    await store.put_channel_config(routed(SOL, NUMBER))
    assert await store.route_owner("whatsapp", NUMBER) == SOL


async def test_settings_saved_before_routes_existed_claim_on_their_next_save(
    store: Store,
) -> None:
    await store.database.collection("channel_configs").update_one(
        {"_id": f"{PLAZA}|whatsapp"},
        {"$set": routed(PLAZA, None).model_dump(mode="json", exclude={"route_key"})},
        upsert=True,
    )
    assert (await store.get_channel_config(PLAZA, "whatsapp")) == routed(PLAZA, None)
    await store.put_channel_config(routed(PLAZA, NUMBER))
    assert await store.route_owner("whatsapp", NUMBER) == PLAZA


async def test_of_two_hotels_racing_for_a_key_one_wins(store: Store) -> None:
    outcomes: dict[str, str] = {}

    async def save(hotel: str) -> None:
        try:
            await store.put_channel_config(routed(hotel, NUMBER))
            outcomes[hotel] = "saved"
        except Conflict:
            outcomes[hotel] = "conflict"

    async with anyio.create_task_group() as tasks:
        for hotel in (PLAZA, SOL):
            tasks.start_soon(save, hotel)
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    (winner,) = [hotel for hotel, outcome in outcomes.items() if outcome == "saved"]
    assert await store.route_owner("whatsapp", NUMBER) == winner
