"""Typed refusals of the access layer; `searchapi.errors` maps each kind to one HTTP status.

The services' refusals that are not about access (NotFound, Conflict, InvalidInput) are in
`db.errors`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from db.errors import DomainError

if TYPE_CHECKING:
    from db.access.principal import Principal


class AccessError(DomainError):
    """A refusal of the access layer: who the caller is, or what they may do."""


class NotAuthenticated(AccessError):
    """No credentials, or credentials that do not identify anyone (HTTP 401)."""


class AccountLocked(NotAuthenticated):
    """Too many failed sign-ins for this username (HTTP 401 with the unlock time)."""

    def __init__(self, locked_until: datetime) -> None:
        super().__init__(
            "Too many failed sign-ins: this account is locked until "
            f"{locked_until:%Y-%m-%d %H:%M:%S %Z}. Try again then, or ask an administrator."
        )
        self.locked_until = locked_until


class Forbidden(AccessError):
    """Authenticated, but not allowed to do this (HTTP 403 with the reason).

    `actor` is who was refused, as far as known (e.g. a CMS client whose user is refused).
    """

    def __init__(self, message: str, *, actor: Principal | None = None) -> None:
        super().__init__(message)
        self.actor = actor


class TooManyAttempts(AccessError):
    """Rate-limited (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
