"""The acting principal: who is acting, with which roles, for which authorities, through what."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from db.access.roles import Role


@dataclass(frozen=True)
class Principal:
    """A signed-in person, or a CMS client acting for one; the CLI operator has no roles."""

    user_id: int | None
    username: str
    roles: frozenset[Role]
    authorities: frozenset[str] = field(default_factory=frozenset)
    organisation: str | None = None
    # May break the glass on a shielded child (practitioners with child-protection duties).
    child_protection: bool = False
    # May open archived records with a reason from the regulations' list (some managers).
    archive_access: bool = False
    client_id: int | None = None
    client_name: str | None = None
    # The organisation a CMS client writes for, and its kind (None: a read-only client).
    client_organisation_id: int | None = None
    client_organisation_kind: str | None = None
    session_id: int | None = None
    # Identifiers of the shielded children whose location a manager named this user to see
    # (loaded with the principal; empty when unknown, which shows less, never more).
    named_children: frozenset[str] = field(default_factory=frozenset)
    # The user's e-mail address: they are the practitioner with the same one (their inbox).
    email: str | None = None

    @property
    def via_client(self) -> bool:
        """Whether a CMS client (API key) acts for the user."""
        return self.client_id is not None

    @classmethod
    def operator(cls) -> Principal:
        """The person at the command line (audited by operating-system user name)."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
        return cls(user_id=None, username=f"cli:{name}", roles=frozenset(), client_name="cli")
