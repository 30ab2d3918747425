"""Client keys for guest-socket limits: an IPv6 host counts with its whole /64."""

from __future__ import annotations

from begasist_suite.guest.clients import OpenSockets, client_key


def test_an_ipv6_64_is_one_client_and_ipv4_addresses_count_alone() -> None:
    assert (
        client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::a") == "2001:db8:1:2::/64"
    )
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("192.0.2.8") != client_key("192.0.2.7")
    assert client_key(None) == "unknown"


def test_open_sockets_are_held_up_to_the_limit_and_given_back() -> None:
    sockets = OpenSockets()
    with sockets.hold("a", 2) as first, sockets.hold("a", 2) as second:
        with sockets.hold("a", 2) as third, sockets.hold("b", 2) as other:
            assert (first, second, third, other) == (True, True, False, True)
        assert sockets.count("a") == 2
    assert sockets.count("a") == 0
