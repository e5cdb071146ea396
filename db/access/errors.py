"""Typed refusals of the access layer; `searchapi.errors` maps each kind to one HTTP status."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.access.principal import Principal


class AccessError(Exception):
    """A refusal with a message that is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


class NotFound(AccessError):
    """The named user, client or record does not exist (HTTP 404)."""


class Conflict(AccessError):
    """The name is taken (HTTP 409)."""


class InvalidInput(AccessError):
    """A value breaks a rule, e.g. a short password or an unknown authority (HTTP 422).

    `field` names the request's field that broke it, when one did (e.g. "body.reason").
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
