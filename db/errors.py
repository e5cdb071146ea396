"""Typed refusals of the services: what is named does not exist, is taken, or breaks a rule.

Raised by the shield, consent and break-glass code, the accounts and the clients alike;
`searchapi.errors` maps each kind to one HTTP status. The access layer's own refusals
(`db.access.errors`: not signed in, locked, forbidden, too many attempts) are DomainErrors too.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal with a message that is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The named user, client, child, shield or review does not exist (HTTP 404)."""


class Conflict(DomainError):
    """The name is taken, the change is already made, or it cannot be made by whoever asks (an
    administrator suspending their own account) (HTTP 409)."""


class InvalidInput(DomainError):
    """A value breaks a rule, e.g. a short password or an unknown authority (HTTP 422).

    `field` names the request's field that broke it, when one did (e.g. "body.reason").
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Moved(DomainError):
    """The named child was merged into another: `identifier` is the survivor's (HTTP 301, as
    NHS PDS answers for a superseded record)."""

    def __init__(self, message: str, *, identifier: str) -> None:
        super().__init__(message)
        self.identifier = identifier


class VersionRequired(DomainError):
    """A write without `If-Match`: the caller must say which version it changes (HTTP 428)."""


class StaleVersion(DomainError):
    """The record changed since the caller read it: `current` is its version now (HTTP 412)."""

    def __init__(self, message: str, *, current: int) -> None:
        super().__init__(message)
        self.current = current
