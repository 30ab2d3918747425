"""The document layer's contract, on every backend (SQLite, Astra DB or its stand-in)."""

from __future__ import annotations

import pytest
from begasist_suite.store.documents import DocumentDatabase, DuplicateDocument

pytestmark = pytest.mark.anyio

PEOPLE = [
    {"_id": "a", "hotel": "plaza", "type": "guest", "guest_id": "g1", "sort_key": "2026-01-01|a"},
    {"_id": "b", "hotel": "plaza", "type": "guest", "guest_id": None, "sort_key": "2026-01-02|b"},
    {"_id": "c", "hotel": "sol", "type": "identity", "guest_id": "g1", "sort_key": "2026-01-03|c"},
    {
        "_id": "d",
        "hotel": "plaza",
        "type": "identity",
        "guest_id": "g2",
        "sort_key": "2026-01-04|d",
    },
]


async def _people(database: DocumentDatabase) -> None:
    guests = database.collection("guests")
    for person in PEOPLE:
        await guests.insert(person)


def _ids(documents: list[dict[str, object]]) -> list[str]:
    return [str(document["_id"]) for document in documents]


async def test_insert_and_find_round_trip_every_json_type(database: DocumentDatabase) -> None:
    document = {
        "_id": "x",
        "hotel": "plaza",
        "text": "héllo ¿qué tal? 🙂" * 3000,
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "nothing": None,
        "items": [1, "two", {"three": 3}],
        "nested": {"a": [True, None]},
    }
    await database.collection("hotels").insert(document)
    assert await database.collection("hotels").find_one({"_id": "x"}) == document


async def test_a_taken_id_is_refused_and_the_first_document_kept(
    database: DocumentDatabase,
) -> None:
    hotels = database.collection("hotels")
    await hotels.insert({"_id": "plaza", "name": "Plaza"})
    with pytest.raises(DuplicateDocument):
        await hotels.insert({"_id": "plaza", "name": "Other"})
    assert await hotels.find_one({"_id": "plaza"}) == {"_id": "plaza", "name": "Plaza"}


async def test_filters(database: DocumentDatabase) -> None:
    await _people(database)
    guests = database.collection("guests")
    assert sorted(_ids(await guests.find({"hotel": "plaza"}))) == ["a", "b", "d"]
    assert sorted(_ids(await guests.find({"hotel": "plaza", "type": "guest"}))) == ["a", "b"]
    assert _ids(await guests.find({"guest_id": None})) == ["b"]
    assert sorted(_ids(await guests.find({"guest_id": {"$in": ["g1", "g2"]}}))) == ["a", "c", "d"]
    assert await guests.find({"guest_id": {"$in": []}}) == []
    # $nin: a null field is in no list (as on Astra), so "b" (guest_id null) is kept.
    assert sorted(_ids(await guests.find({"guest_id": {"$nin": ["g1"]}}))) == ["b", "d"]
    assert sorted(_ids(await guests.find({"guest_id": {"$nin": ["g1", "g2"]}}))) == ["b"]
    assert sorted(_ids(await guests.find({"hotel": {"$ne": "plaza"}}))) == ["c"]
    assert sorted(_ids(await guests.find({"sort_key": {"$lt": "2026-01-03"}}))) == ["a", "b"]
    assert sorted(_ids(await guests.find({"sort_key": {"$gte": "2026-01-03|c"}}))) == ["c", "d"]
    window = {"sort_key": {"$gt": "2026-01-01|a", "$lte": "2026-01-03|c"}}
    assert sorted(_ids(await guests.find(window))) == ["b", "c"]
    assert await guests.find_one({"hotel": "nowhere"}) is None


async def test_sort_and_limit(database: DocumentDatabase) -> None:
    await _people(database)
    guests = database.collection("guests")
    assert _ids(await guests.find({}, sort=("sort_key", 1))) == ["a", "b", "c", "d"]
    assert _ids(await guests.find({"hotel": "plaza"}, sort=("sort_key", -1), limit=2)) == ["d", "b"]
    page = await guests.find(
        {"hotel": "plaza", "sort_key": {"$lt": "2026-01-02|b"}}, sort=("sort_key", -1), limit=2
    )
    assert _ids(page) == ["a"]


async def test_update_operators(database: DocumentDatabase) -> None:
    hotels = database.collection("hotels")
    await hotels.insert({"_id": "plaza", "name": "Plaza", "version": 1, "rank": 2, "old": "x"})
    after = await hotels.update_one(
        {"_id": "plaza"},
        {
            "$set": {"name": "Plaza Mayor"},
            "$unset": {"old": ""},
            "$inc": {"version": 1},
            "$max": {"rank": 1},
            "$setOnInsert": {"created": "never"},
        },
    )
    assert after == {"_id": "plaza", "name": "Plaza Mayor", "version": 2, "rank": 2}
    after = await hotels.update_one({"_id": "plaza"}, {"$max": {"rank": 5}})
    assert after is not None
    assert after["rank"] == 5
    assert await hotels.find_one({"_id": "plaza"}) == after


async def test_update_without_a_match_changes_nothing(database: DocumentDatabase) -> None:
    hotels = database.collection("hotels")
    assert await hotels.update_one({"_id": "ghost"}, {"$set": {"name": "Ghost"}}) is None
    assert await hotels.count({}) == 0


async def test_upsert_creates_from_the_filter_then_updates(database: DocumentDatabase) -> None:
    states = database.collection("channel_states")
    created = await states.update_one(
        {"_id": "plaza:demo", "hotel": "plaza"},
        {"$set": {"state": "running"}, "$setOnInsert": {"first_seen": "t0"}},
        upsert=True,
    )
    assert created == {
        "_id": "plaza:demo",
        "hotel": "plaza",
        "state": "running",
        "first_seen": "t0",
    }
    updated = await states.update_one(
        {"_id": "plaza:demo", "hotel": "plaza"},
        {"$set": {"state": "stopped"}, "$setOnInsert": {"first_seen": "t1"}},
        upsert=True,
    )
    assert updated == {
        "_id": "plaza:demo",
        "hotel": "plaza",
        "state": "stopped",
        "first_seen": "t0",
    }
    assert await states.count({"hotel": "plaza"}) == 1


async def test_conditional_update_is_a_compare_and_set(database: DocumentDatabase) -> None:
    drafts = database.collection("drafts")
    await drafts.insert({"_id": "d1", "hotel": "plaza", "status": "pending"})
    won = await drafts.update_one({"_id": "d1", "status": "pending"}, {"$set": {"status": "sent"}})
    lost = await drafts.update_one(
        {"_id": "d1", "status": "pending"}, {"$set": {"status": "rejected"}}
    )
    assert won is not None
    assert won["status"] == "sent"
    assert lost is None


async def test_delete_many_and_count(database: DocumentDatabase) -> None:
    await _people(database)
    guests = database.collection("guests")
    assert await guests.count({"hotel": "plaza"}) == 3
    assert await guests.delete_many({"hotel": "plaza", "type": "identity"}) == 1
    assert await guests.count({}) == 3
    assert await guests.delete_many({"hotel": "nowhere"}) == 0


async def test_a_filter_on_an_unindexed_field_is_refused(database: DocumentDatabase) -> None:
    await _people(database)
    with pytest.raises(ValueError, match="not an indexed field"):
        await database.collection("guests").find({"text": "x"})


async def test_migrate_twice_keeps_the_data(database: DocumentDatabase) -> None:
    await database.collection("hotels").insert({"_id": "plaza"})
    await database.migrate()
    assert await database.collection("hotels").count({}) == 1


async def test_all_finds_lists_holding_every_value(database: DocumentDatabase) -> None:
    conversations = database.collection("conversations")
    for _id, tokens, sort_key in [
        ("a", ["n:m", "n:ma", "t:600"], "1"),
        ("b", ["n:m", "t:600"], "2"),
        ("c", [], "3"),
        ("d", None, "4"),
    ]:
        await conversations.insert(
            {"_id": _id, "hotel": "plaza", "search": tokens, "sort_key": sort_key}
        )
    found = await conversations.find(
        {"hotel": "plaza", "search": {"$all": ["n:m", "t:600"]}}, sort=("sort_key", -1)
    )
    assert _ids(found) == ["b", "a"]
    assert _ids(await conversations.find({"search": {"$all": ["n:ma"]}})) == ["a"]
    assert await conversations.find({"search": {"$all": ["n:ma", "n:x"]}}) == []
    assert await conversations.count({"hotel": "plaza", "search": {"$all": ["t:600"]}}) == 2
