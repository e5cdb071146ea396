"""The one place where access is decided: what each role may do, and which audit it may read.

Deny by default: a role that is not listed grants nothing, a permission that no role is
granted is refused to everyone, and a route that declares no permission does not start
(`searchapi.guard`). Issue 6 adds the search filter and the record-view redaction here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from db.access import Principal, Role


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
    READ_AUDIT = "read_audit"
    RUN_MISUSE_REPORT = "run_misuse_report"
    MANAGE_USERS = "manage_users"
    MANAGE_CLIENTS = "manage_clients"
    RUN_LOADS = "run_loads"


ROLE_GRANTS: Final[Mapping[Role, frozenset[Permission]]] = {
    Role.PRACTITIONER: frozenset({Permission.SEARCH_CHILDREN, Permission.VIEW_CHILD}),
    Role.LA_MANAGER: frozenset(
        {
            Permission.MANAGE_SHIELDS,
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
    # Break-glass is a capability of some practitioners, not a role of its own.
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
        return "Break-glass needs a practitioner with the child-protection capability."
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
