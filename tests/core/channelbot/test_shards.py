"""Shards: a stable hash every process agrees on, few hotels moving when N changes, and
a second choice that shares a dead shard's hotels out."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from begasist_core.channelbot.shards import InvalidShard, Shard, shard_ranking

HOTELS = [f"hotel-{number}" for number in range(2000)]


def test_every_process_ranks_a_hotel_the_same_whatever_its_hash_seed() -> None:
    code = (
        "from begasist_core.channelbot.shards import shard_ranking;"
        "print([shard_ranking(f'hotel-{n}', 7) for n in range(50)])"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(answers) == 1
    assert answers.pop().strip() == str([shard_ranking(f"hotel-{n}", 7) for n in range(50)])


def test_a_known_hotel_has_a_fixed_shard() -> None:
    # Pins the hash itself: changing it would move every hotel of every fleet.
    assert shard_ranking("plaza", 4) == [2, 3, 1, 0]
    assert shard_ranking("sol", 4) == [1, 0, 2, 3]


def test_each_hotel_has_exactly_one_shard_and_they_are_balanced() -> None:
    shards = [Shard(index, 4) for index in range(4)]
    owners = Counter()
    for hotel in HOTELS:
        serving = [shard.index for shard in shards if shard.serves(hotel)]
        assert len(serving) == 1
        owners[serving[0]] += 1
    assert all(400 <= count <= 600 for count in owners.values()), owners


def test_growing_from_4_to_5_shards_moves_about_a_fifth_of_the_hotels() -> None:
    moved = sum(shard_ranking(h, 4)[0] != shard_ranking(h, 5)[0] for h in HOTELS)
    # Every mover goes to the new shard: nothing moves between the old ones.
    assert all(
        shard_ranking(h, 5)[0] == 4
        for h in HOTELS
        if shard_ranking(h, 4)[0] != shard_ranking(h, 5)[0]
    )
    assert 0.15 * len(HOTELS) <= moved <= 0.25 * len(HOTELS), moved


def test_a_dead_shards_hotels_are_shared_among_all_the_others() -> None:
    mine = [h for h in HOTELS if Shard(2, 4).serves(h)]
    standbys = Counter(shard_ranking(h, 4)[1] for h in mine)
    assert set(standbys) == {0, 1, 3}
    assert all(count >= len(mine) / 5 for count in standbys.values()), standbys
    for hotel in mine:
        second = shard_ranking(hotel, 4)[1]
        assert Shard(second, 4).stands_by_for(hotel) == 2
        assert Shard(2, 4).stands_by_for(hotel) is None


def test_one_shard_serves_everything_and_stands_by_for_nothing() -> None:
    assert all(Shard(0, 1).serves(h) and Shard(0, 1).stands_by_for(h) is None for h in HOTELS)


@pytest.mark.parametrize(
    ("text", "expected"), [("0/4", Shard(0, 4)), ("3/4", Shard(3, 4)), (" 0/1 ", Shard(0, 1))]
)
def test_shard_flags_parse(text: str, expected: Shard) -> None:
    assert Shard.parse(text) == expected


@pytest.mark.parametrize("text", ["4/4", "1/0", "-1/4", "a/4", "3", "1/2/3", ""])
def test_a_shard_that_does_not_exist_is_refused(text: str) -> None:
    with pytest.raises(InvalidShard):
        Shard.parse(text)


@pytest.mark.parametrize(
    ("hostname", "index"),
    [("bots-3", 3), ("bots-0", 0), ("begasist-bots-12.bots.prod.svc.cluster.local", 12)],
)
def test_a_statefulset_pods_name_gives_its_shard(hostname: str, index: int) -> None:
    assert Shard.from_hostname(hostname, 16) == Shard(index, 16)


@pytest.mark.parametrize(("hostname", "count"), [("bots", 4), ("bots-x", 4), ("bots-4", 4)])
def test_a_host_name_without_a_valid_index_is_refused(hostname: str, count: int) -> None:
    with pytest.raises(InvalidShard):
        Shard.from_hostname(hostname, count)
