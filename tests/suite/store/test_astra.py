"""What is particular to the Astra backend, and the Data API rules the stand-in models.

Against real Astra when ``ASTRA_DB_API_ENDPOINT`` and
``ASTRA_DB_APPLICATION_TOKEN`` are set, so the stand-in's rules are checked
against the real thing; against the local stand-in otherwise. Tests that talk
to astrapy directly (``raw``) show what the Data API itself does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from astrapy import AsyncCollection, DataAPIClient
from astrapy.exceptions import DataAPIHttpException, DataAPIResponseException
from begasist_suite.store.astra import COUNT_LIMIT, AstraDatabase, CountLimitExceeded
from begasist_suite.store.documents import DuplicateDocument
from begasist_suite.store.updates import UnsupportedQuery

from tests.suite.store.astra_fixture import (
    ON_REAL_ASTRA,
    STANDIN_TOKEN,
    astra_database,
    standin_endpoint,
    standin_keyspace,
    token,
)
from tests.suite.store.data_api_standin import running_data_api_standin

pytestmark = pytest.mark.anyio

standin_only = pytest.mark.skipif(ON_REAL_ASTRA, reason="needs a keyspace of its own")


@pytest.fixture
async def astra(request: pytest.FixtureRequest) -> AsyncIterator[AstraDatabase]:
    async with astra_database(request.node.nodeid) as database:
        yield database


@asynccontextmanager
async def raw(database: AstraDatabase, name: str) -> AsyncIterator[AsyncCollection[Any]]:
    """astrapy's own collection under *database*'s collection *name*, no backend in between."""
    astrapy_database = DataAPIClient().get_async_database(
        database.api_endpoint, token=token(), keyspace=database.keyspace
    )
    stored = astrapy_database.get_collection(database.collection_prefix + name)
    async with astrapy_database, stored:
        yield stored


def _error_codes(error: DataAPIResponseException) -> set[str | None]:
    return {descriptor.error_code for descriptor in error.error_descriptors}


def _refused_for(error: DataAPIResponseException, *words: str) -> bool:
    """Whether the error's code names *words* (older Data APIs say UNINDEXED_FILTER_PATH...)."""
    return any(
        all(word in (descriptor.error_code or "") for word in words)
        for descriptor in error.error_descriptors
    )


async def _insert_all(database: AstraDatabase, name: str, documents: list[dict[str, Any]]) -> None:
    collection = database.collection(name)
    limiter = anyio.CapacityLimiter(20)

    async def insert(document: dict[str, Any]) -> None:
        async with limiter:
            await collection.insert(document)

    async with anyio.create_task_group() as group:
        for document in documents:
            group.start_soon(insert, document)


def _guests(count: int) -> list[dict[str, Any]]:
    return [
        {"_id": f"g{n:03}", "hotel": "plaza", "type": "guest", "sort_key": f"2026-{n:03}"}
        for n in range(count)
    ]


async def test_a_taken_id_raises_duplicate_document(astra: AstraDatabase) -> None:
    guests = astra.collection("guests")
    first, second = _guests(2)
    await guests.insert(first)
    with pytest.raises(DuplicateDocument):
        await guests.insert(second | {"_id": first["_id"]})
    assert await guests.find_one({"_id": first["_id"]}) == first


async def test_an_upsert_onto_a_taken_id_raises_duplicate_document(astra: AstraDatabase) -> None:
    states = astra.collection("channel_states")
    running = {"_id": "plaza|demo", "hotel": "plaza", "state": "running"}
    await states.insert(running)
    with pytest.raises(DuplicateDocument):
        await states.update_one(
            {"_id": "plaza|demo", "hotel": "sol"}, {"$set": {"state": "stolen"}}, upsert=True
        )
    assert await states.find({"hotel": "plaza"}) == [running]


async def test_migrate_is_idempotent(astra: AstraDatabase) -> None:
    guest = _guests(1)[0]
    await astra.collection("guests").insert(guest)
    await astra.migrate()
    await astra.migrate()
    assert await astra.collection("guests").find({"hotel": "plaza"}) == [guest]


@standin_only
async def test_migrate_refuses_a_collection_indexed_otherwise() -> None:
    endpoint = await standin_endpoint()
    database = AstraDatabase(endpoint, STANDIN_TOKEN, keyspace=standin_keyspace("otherwise"))
    try:
        async with DataAPIClient().get_async_database(
            endpoint, token=STANDIN_TOKEN, keyspace=database.keyspace
        ) as astrapy_database:
            await astrapy_database.create_collection(
                "guests", definition={"indexing": {"allow": ["name"]}}
            )
        with pytest.raises(RuntimeError, match="migrate it by hand"):
            await database.migrate()
    finally:
        await database.aclose()


async def test_the_data_api_refuses_filters_and_sorts_on_unindexed_fields(
    astra: AstraDatabase,
) -> None:
    await astra.collection("hotels").insert({"_id": "plaza", "name": "Plaza"})
    await astra.collection("guests").insert(_guests(1)[0] | {"name": "Ann"})
    async with raw(astra, "hotels") as hotels, raw(astra, "guests") as guests:
        with pytest.raises(DataAPIResponseException) as unindexed:
            await hotels.find_one({"name": "Plaza"})
        assert _refused_for(unindexed.value, "FILTER", "UNINDEXED")
        with pytest.raises(DataAPIResponseException) as id_range:
            await hotels.find_one({"_id": {"$gt": "a"}})
        assert _refused_for(id_range.value, "ID_NOT_INDEXED")
        with pytest.raises(DataAPIResponseException) as sort:
            await guests.find({}, sort={"name": 1}).to_list()
        assert _refused_for(sort.value, "SORT", "UNINDEXED")
        assert await hotels.find_one({"_id": {"$in": ["plaza"]}}) == {
            "_id": "plaza",
            "name": "Plaza",
        }
    with pytest.raises(UnsupportedQuery, match="not an indexed field"):
        await astra.collection("guests").find({"name": "Ann"})


async def test_a_long_text_round_trips_in_an_unindexed_field(astra: AstraDatabase) -> None:
    message = {
        "_id": "m1",
        "hotel": "plaza",
        "text": ("Una habitación con vistas, por favor. 🙂 " * 1500)[:60_000],
    }
    assert len(message["text"]) == 60_000
    await astra.collection("messages").insert(message)
    assert await astra.collection("messages").find_one({"hotel": "plaza"}) == message


async def test_an_indexed_field_holds_at_most_8000_bytes(astra: AstraDatabase) -> None:
    with pytest.raises(DataAPIResponseException):
        await astra.collection("messages").insert({"_id": "m1", "hotel": "x" * 8001})


async def test_a_wrong_token_is_refused(astra: AstraDatabase) -> None:
    intruder = AstraDatabase(
        astra.api_endpoint,
        "AstraCS:not-the-token",
        keyspace=astra.keyspace,
        collection_prefix=astra.collection_prefix,
    )
    try:
        with pytest.raises(DataAPIHttpException) as refused:
            await intruder.collection("hotels").find_one({"_id": "plaza"})
        assert refused.value.response.status_code == 401
    finally:
        await intruder.aclose()


async def test_the_token_is_in_no_repr_and_no_log(
    astra: AstraDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hotels = astra.collection("hotels")
    await hotels.insert({"_id": "plaza"})
    with pytest.raises(DuplicateDocument):
        await hotels.insert({"_id": "plaza"})
    assert caplog.records
    assert token() not in caplog.text
    assert token() not in repr(astra) + repr(hotels)


async def test_finds_go_past_the_data_apis_page_of_20(astra: AstraDatabase) -> None:
    await _insert_all(astra, "guests", _guests(45))
    guests = astra.collection("guests")
    assert len(await guests.find({"hotel": "plaza"})) == 45
    assert len(await guests.find({"hotel": "plaza"}, limit=30)) == 30
    newest_first = [f"g{n:03}" for n in reversed(range(45))]
    found = await guests.find({"hotel": "plaza"}, sort=("sort_key", -1))
    assert [document["_id"] for document in found] == newest_first
    found = await guests.find({"hotel": "plaza"}, sort=("sort_key", -1), limit=30)
    assert [document["_id"] for document in found] == newest_first[:30]
    async with raw(astra, "guests") as stored:
        page = await stored.find({"hotel": "plaza"}, sort={"sort_key": -1}, limit=30).to_list()
    assert len(page) == 20


async def test_delete_many_counts_what_it_deletes(astra: AstraDatabase) -> None:
    await _insert_all(astra, "guests", _guests(45))
    guests = astra.collection("guests")
    assert await guests.delete_many({"hotel": "plaza", "type": "guest"}) == 45
    await _insert_all(astra, "guests", _guests(25))
    assert await guests.delete_many({}) == 25
    assert await guests.count({}) == 0
    await _insert_all(astra, "guests", _guests(3))
    async with raw(astra, "guests") as stored:
        # Why the backend deletes everything by _id: an empty filter truncates, uncounted.
        assert (await stored.delete_many({})).deleted_count == -1


async def test_count_beyond_the_data_apis_limit_is_an_error(astra: AstraDatabase) -> None:
    await _insert_all(astra, "hotels", [{"_id": f"h{n:04}"} for n in range(COUNT_LIMIT + 1)])
    hotels = astra.collection("hotels")
    with pytest.raises(CountLimitExceeded, match="more than 1000"):
        await hotels.count({})
    assert await hotels.count({"_id": {"$in": ["h0000", "h0001", "nobody"]}}) == 2


@standin_only
async def test_the_standin_refuses_what_it_does_not_model(astra: AstraDatabase) -> None:
    async with raw(astra, "guests") as stored:
        with pytest.raises(DataAPIResponseException) as command:
            await stored.command({"insertMany": {"documents": [{"_id": "a"}]}})
        assert _error_codes(command.value) == {"COMMAND_UNKNOWN"}
        with pytest.raises(DataAPIResponseException) as operator:
            await stored.find_one({"hotel": {"$exists": True}})
        assert _error_codes(operator.value) == {"FILTER_UNSUPPORTED_OPERATOR"}
        with pytest.raises(DataAPIResponseException) as update:
            await stored.find_one_and_update({"_id": "a"}, {"$push": {"tags": "x"}})
        assert _error_codes(update.value) == {"UNSUPPORTED_UPDATE_OPERATION"}


def test_the_standin_stops_on_exit() -> None:
    threads = set(threading.enumerate())
    find_collections: dict[str, object] = {"findCollections": {}}
    with running_data_api_standin("secret") as endpoint:
        url = f"{endpoint}/api/json/v1/some_keyspace"
        answer = httpx.post(url, json=find_collections, headers={"Token": "secret"})
        assert answer.json() == {"status": {"collections": []}}
        assert httpx.post(url, json=find_collections, headers={"Token": "other"}).status_code == 401
    assert set(threading.enumerate()) == threads
    with pytest.raises(httpx.ConnectError):
        httpx.post(url, json=find_collections, headers={"Token": "secret"})
