"""Networks as CIDR lists: where people may sign in from, where a CMS may call from, which
proxies may say who the client is. Pure: parsing and membership only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from db.errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The demo and a developer's machine work out of the box; a deployment names its networks.
LOOPBACK: tuple[str, ...] = ("127.0.0.0/8", "::1/128")


def parse_network(text: str) -> Network:
    """One network in CIDR notation ("10.20.0.0/16"; a bare address is a /32 or /128)."""
    try:
        # Host bits are refused rather than silently dropped: "10.0.0.1/8" is likely a typo.
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise InvalidInput(f"not a network in CIDR notation: {text.strip()[:50]!r}") from exc


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Each of `values` as a network (InvalidInput naming the first that is not one)."""
    return tuple(parse_network(value) for value in values if value.strip())


@lru_cache(maxsize=64)
def networks_of_setting(text: str) -> tuple[Network, ...]:
    """A comma-separated setting as networks, parsed once per distinct value."""
    return parse_networks(text.split(","))


def address_within(address: str | None, networks: Iterable[Network]) -> bool:
    """Whether `address` (an IP address as the socket gave it) lies in one of `networks`.

    Anything that is not an IP address (no peer, a Unix socket, a name) lies in none: deny
    by default.
    """
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == network.version and ip in network for network in networks)
