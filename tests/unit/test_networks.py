"""Networks and the client's address: which proxies are believed, which addresses are inside."""

from __future__ import annotations

import pytest

from db.access.networks import address_within, networks_of_setting, parse_network
from db.errors import InvalidInput
from searchapi.client_address import forwarded_client

PROXY = networks_of_setting("10.0.0.0/24")


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
        ("10.0.0.5", None, "10.0.0.5"),
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "203.0.113.9, 10.0.0.6", "203.0.113.9"),
        ("10.0.0.5", "192.0.2.1, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "203.0.113.9, not-an-address", "10.0.0.5"),
        ("10.0.0.5", "not-an-address, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "10.0.0.7, 10.0.0.6", "10.0.0.7"),
    ],
    ids=[
        "a client that is no proxy is not believed",
        "a proxy without the header is the client",
        "a trusted proxy names the client",
        "trusted proxies are skipped from the right",
        "a forged left-most hop is ignored",
        "a malformed last hop ends at the proxy",
        "a malformed hop left of the client is ignored",
        "only proxies: the left-most vouched for",
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str, header: str | None, expected: str
) -> None:
    assert forwarded_client(peer, header, PROXY) == expected


def test_without_trusted_proxies_the_header_is_never_believed() -> None:
    assert forwarded_client("127.0.0.1", "203.0.113.9", ()) == "127.0.0.1"


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("testclient", False),
        (None, False),
        ("", False),
    ],
    ids=[
        "loopback",
        "loopback range",
        "ipv6 loopback",
        "v4-mapped",
        "other",
        "a name",
        "no peer",
        "empty",
    ],
)
def test_an_address_is_inside_the_loopback_networks_or_not(
    address: str | None, inside: bool
) -> None:
    assert address_within(address, networks_of_setting("127.0.0.0/8,::1/128")) is inside


@pytest.mark.parametrize("text", ["10.0.0.1/8", "300.0.0.0/8", "10.0.0.0/33", "x", "10.0.0.0/8;"])
def test_a_network_that_is_not_cidr_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_network(text)
