"""The caller's address: the socket's peer, unless that peer is a proxy named in settings.

Only a proxy listed in `forwarded_allow_ips` (empty by default) is believed when it says, in
`X-Forwarded-For`, whom it forwards for; from anyone else the header is ignored, so that
neither the rate limits nor the audit can be fed a forged address.
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from contactpoint.settings import get_settings
from db.access.networks import Network, address_within, networks_of_setting


def forwarded_client(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The client's address given the socket's `peer` and the header from a trusted proxy.

    The header is read from the right: each trusted proxy appends the address it saw, so the
    first hop from the right that is not itself a trusted proxy is the client. A malformed hop
    ends the walk at the last address a trusted proxy vouched for.
    """
    if not trusted or not forwarded_for or not address_within(peer, trusted):
        return peer
    client = peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return client
        client = hop
        if not address_within(hop, trusted):
            return hop
    return client


def trusted_proxies() -> tuple[Network, ...]:
    """The proxies of the settings, parsed once (kept in the app's state at start)."""
    return networks_of_setting(get_settings().forwarded_allow_ips)


def client_address_of(request: Request) -> str | None:
    """The caller's address as `forwarded_client` decides it."""
    peer = request.client.host if request.client else None
    trusted: tuple[Network, ...] = getattr(request.app.state, "trusted_proxies", ())
    return forwarded_client(peer, request.headers.get("X-Forwarded-For"), trusted)
