"""Client keys for guest-socket limits: an IPv6 host counts with its /64, /56 and /48."""

from __future__ import annotations

from contextlib import ExitStack

from begasist_suite.guest.clients import (
    ClientTier,
    OpenSockets,
    SocketRefusal,
    client_key,
    client_tiers,
)


def test_an_ipv6_64_is_one_client_and_ipv4_addresses_count_alone() -> None:
    assert (
        client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::a") == "2001:db8:1:2::/64"
    )
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("192.0.2.8") != client_key("192.0.2.7")
    assert client_key(None) == "unknown"


def test_an_ipv6_client_also_counts_by_its_56_and_48_with_wider_shares() -> None:
    assert client_tiers("2001:db8:1:2ff::1", 4) == (
        ClientTier("2001:db8:1:2ff::/64", 1),
        ClientTier("2001:db8:1:200::/56", 4),
        ClientTier("2001:db8:1::/48", 16),
    )
    assert client_tiers("192.0.2.7", 4) == (ClientTier("192.0.2.7", 1),)
    assert client_tiers("::ffff:192.0.2.7", 4) == (ClientTier("192.0.2.7", 1),)


def test_open_sockets_are_held_up_to_the_limit_and_given_back() -> None:
    sockets = OpenSockets(total=100)
    a, b = (ClientTier("a", 1),), (ClientTier("b", 1),)
    with sockets.hold(a, 2) as first, sockets.hold(a, 2) as second:
        with sockets.hold(a, 2) as third, sockets.hold(b, 2) as other:
            assert (first, second, third, other) == (None, None, SocketRefusal.CLIENT, None)
        assert sockets.count("a") == 2
    assert sockets.count("a") == 0
    assert sockets.total() == 0


def test_several_64s_of_one_48_share_its_wider_share() -> None:
    sockets = OpenSockets(total=100)
    with ExitStack() as held:
        # One socket from each of five /56s of one /48: with a factor of 2, the /48 holds 4.
        answers = [
            held.enter_context(sockets.hold(client_tiers(f"2001:db8:0:{net:x}00::1", 2), 1))
            for net in range(5)
        ]
        assert answers == [None, None, None, None, SocketRefusal.CLIENT]
        assert sockets.count("2001:db8::/48") == 4
    assert sockets.total() == 0


def test_a_replica_holds_only_so_many_sockets_whoever_opens_them() -> None:
    sockets = OpenSockets(total=2)
    a, b, c = ((ClientTier(key, 1),) for key in "abc")
    with sockets.hold(a, 10), sockets.hold(b, 10), sockets.hold(c, 10) as refused:
        assert refused is SocketRefusal.REPLICA
    with sockets.hold(c, 10) as refused:
        assert refused is None
