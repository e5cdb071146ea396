"""The one place where access is decided: what each role may do, and which audit it may read.

Deny by default: a role that is not listed grants nothing, a permission that no role is
granted is refused to everyone, and a route that declares no permission does not start
(`searchapi.guard`). `child_access` turns a principal into both the Elasticsearch filter of a
search and the redaction of a record view, so no route builds its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from db.access import Forbidden, Principal, Role
from mappings import fields as f


class Permission(StrEnum):
    """What a route needs; every route declares exactly one."""

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    SIGN_OUT = "sign_out"
    SEARCH_CHILDREN = "search_children"
    VIEW_CHILD = "view_child"
    BREAK_GLASS = "break_glass"
    MANAGE_SHIELDS = "manage_shields"
    BROKER_CONTACT = "broker_contact"
    OVERRIDE_CONSENT = "override_consent"
    RECORD_CONSENT = "record_consent"
    READ_AUDIT = "read_audit"
    RUN_MISUSE_REPORT = "run_misuse_report"
    MANAGE_USERS = "manage_users"
    MANAGE_CLIENTS = "manage_clients"
    RUN_LOADS = "run_loads"


BREAK_GLASS_REFUSAL: Final = (
    "Break-glass needs a local authority manager or a practitioner with the "
    "child-protection capability."
)

ROLE_GRANTS: Final[Mapping[Role, frozenset[Permission]]] = {
    Role.PRACTITIONER: frozenset({Permission.SEARCH_CHILDREN, Permission.VIEW_CHILD}),
    # Managers search and view too: they must find the shielded children of their authority.
    Role.LA_MANAGER: frozenset(
        {
            Permission.SEARCH_CHILDREN,
            Permission.VIEW_CHILD,
            Permission.BREAK_GLASS,
            Permission.MANAGE_SHIELDS,
            Permission.RECORD_CONSENT,
            Permission.BROKER_CONTACT,
            Permission.OVERRIDE_CONSENT,
            Permission.READ_AUDIT,
        }
    ),
    Role.ADMIN: frozenset(
        {Permission.MANAGE_USERS, Permission.MANAGE_CLIENTS, Permission.RUN_LOADS}
    ),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT, Permission.RUN_MISUSE_REPORT}),
}


def permissions_of(principal: Principal) -> frozenset[Permission]:
    """Everything `principal` may do."""
    granted = {Permission.PUBLIC}
    for role in principal.roles:
        granted |= ROLE_GRANTS.get(role, frozenset())
    if principal.roles:
        granted.add(Permission.AUTHENTICATED)
    if principal.session_id is not None:
        granted.add(Permission.SIGN_OUT)
    # Break-glass is a capability of some practitioners, not a role of its own (and of managers).
    if Role.PRACTITIONER in principal.roles and principal.child_protection:
        granted.add(Permission.BREAK_GLASS)
    return frozenset(granted)


def refusal(principal: Principal, permission: Permission) -> str | None:
    """Why `principal` may not have `permission`, or None when it may."""
    if permission in permissions_of(principal):
        return None
    if permission is Permission.SIGN_OUT:
        return "Only a signed-in session can be signed out; an API key is revoked instead."
    if permission is Permission.BREAK_GLASS:
        return BREAK_GLASS_REFUSAL
    holders = sorted(role.value for role, grants in ROLE_GRANTS.items() if permission in grants)
    roles = ", ".join(sorted(role.value for role in principal.roles)) or "none"
    needed = " or ".join(holders) or "a role that nobody has"
    return f"This needs the role {needed}; your roles: {roles}."


def audit_scope(principal: Principal) -> frozenset[str] | None:
    """The authorities whose audit `principal` may read: None for all, empty for none."""
    if Role.AUDITOR in principal.roles:
        return None
    if Role.LA_MANAGER in principal.roles:
        return principal.authorities
    return frozenset()


@dataclass(frozen=True)
class RecordRedaction:
    """What a record view may show of one child's location, and whether the glass was broken."""

    show_location: bool
    break_glass: bool
    # Carers' phones and e-mails and the services' names and contacts lead to where a shielded
    # child lives (as for NHS PDS restricted patients): withheld with the location, the local
    # authority team brokering contact. The involved practitioners' own contacts stay.
    show_contacts: bool


@dataclass(frozen=True)
class ChildAccess:
    """What one principal may see of children; built only by `child_access`."""

    # Authorities whose children's locations and sensitive services the principal manages.
    managed_authorities: frozenset[str]
    # Shielded children whose location a manager has named this principal to see.
    named_children: frozenset[str]
    may_break_glass: bool

    def may_see_location(self, *, shielded: bool, authority: str | None, identifier: str) -> bool:
        """Whether a child's town, postcode, address, school and GP may be shown or searched."""
        if not shielded:
            return True
        return (
            authority is not None and authority in self.managed_authorities
        ) or identifier in self.named_children

    def search_filter(self, *, uses_location: bool) -> list[dict[str, Any]]:
        """The Elasticsearch filter clauses of a search (inside the query, before scoring).

        A search by location criteria can only find the shielded children whose location the
        caller may see; a search without them queries no location field, so needs no filter.
        """
        if not uses_location:
            return []
        visible: list[dict[str, Any]] = [{"bool": {"must_not": [{"term": {f.SHIELDED: True}}]}}]
        if self.managed_authorities:
            visible.append({"terms": {f.LOCAL_AUTHORITY_CODE: sorted(self.managed_authorities)}})
        if self.named_children:
            visible.append({"terms": {f.IDENTIFIER: sorted(self.named_children)}})
        return [{"bool": {"should": visible, "minimum_should_match": 1}}]

    def record_redaction(
        self,
        *,
        shielded: bool,
        authority: str | None,
        identifier: str,
        break_glass_reason: str | None,
    ) -> RecordRedaction:
        """The location part of a record view (and the contacts that lead to it); break-glass
        lasts for this one view."""
        if break_glass_reason is not None and not self.may_break_glass:
            raise Forbidden(BREAK_GLASS_REFUSAL)
        if self.may_see_location(shielded=shielded, authority=authority, identifier=identifier):
            return RecordRedaction(show_location=True, break_glass=False, show_contacts=True)
        broken = break_glass_reason is not None
        return RecordRedaction(show_location=broken, break_glass=broken, show_contacts=broken)

    def may_see_sensitive(
        self, *, authority: str | None, consent_recorded: bool, override_recorded: bool
    ) -> bool:
        """Whether a sensitive service is named, rather than shown as "sensitive service"."""
        managed = authority is not None and authority in self.managed_authorities
        return consent_recorded or override_recorded or managed

    def may_administer(self, authority: str | None) -> bool:
        """Whether shields, shield access and consent of a child of `authority` are ours."""
        return authority is not None and authority in self.managed_authorities


def child_access(principal: Principal, *, named_children: frozenset[str]) -> ChildAccess:
    """The one decision of what `principal` may see of children (deny by default)."""
    granted = permissions_of(principal)
    managed = principal.authorities if Role.LA_MANAGER in principal.roles else frozenset()
    return ChildAccess(
        managed_authorities=frozenset(managed),
        named_children=named_children if Permission.VIEW_CHILD in granted else frozenset(),
        may_break_glass=Permission.BREAK_GLASS in granted,
    )


def require_child_admin(access: ChildAccess, *, authority: str | None) -> None:
    """Refuse (403) a shield or consent change to a child outside the principal's authorities."""
    if not access.may_administer(authority):
        raise Forbidden("Only a manager of the child's local authority may change this.")
