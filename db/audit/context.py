"""The audit context: who acts, on whose behalf, in which request and from where.

One is built per request (`searchapi.deps`) or per command (`AuditContext.operator`) and handed
to every service that audits, so every row carries the same who, request id and address.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only a type: db.access writes the audit itself, so importing it here would be a cycle.
    from db.access.principal import Principal

# The address of a command run at this machine's shell (there is no socket peer).
OPERATOR_ADDRESS = "local"


@dataclass(frozen=True)
class AuditContext:
    """The principal (a CMS client carries the user it acts for), the request id and the
    client's address; the principal is None before anyone is known (a failed sign-in)."""

    principal: Principal | None
    request_id: str | None
    client_address: str | None

    @property
    def actor(self) -> Principal:
        """The principal of a change, which always has one."""
        if self.principal is None:
            raise RuntimeError("a change needs a known principal")
        return self.principal

    def acting(self, principal: Principal) -> AuditContext:
        """The same request, once `principal` is known (e.g. signed in)."""
        return replace(self, principal=principal)

    @classmethod
    def operator(cls) -> AuditContext:
        """The person at this machine's command line."""
        from db.access.principal import Principal

        return cls(principal=Principal.operator(), request_id=None, client_address=OPERATOR_ADDRESS)
