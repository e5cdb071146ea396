"""The one access decision: role grants, deny by default, break-glass and the audit scope."""

from __future__ import annotations

import pytest

from db.access import Forbidden, Principal, Role, roles_from
from searchapi.access import (
    AuthorityTeam,
    Permission,
    audit_scope,
    child_access,
    permissions_of,
    refusal,
    review_refusal,
)

LEEDS, YORK = "E08000035", "E06000014"


def _principal(*roles: Role, child_protection: bool = False, session: bool = True) -> Principal:
    return Principal(
        user_id=1,
        username="someone",
        roles=frozenset(roles),
        authorities=frozenset({LEEDS}),
        child_protection=child_protection,
        session_id=7 if session else None,
    )


@pytest.mark.parametrize(
    ("role", "may", "may_not"),
    [
        (
            Role.PRACTITIONER,
            {Permission.SEARCH_CHILDREN, Permission.VIEW_CHILD},
            {Permission.READ_AUDIT, Permission.MANAGE_USERS, Permission.BREAK_GLASS},
        ),
        (
            Role.LA_MANAGER,
            {
                Permission.MANAGE_SHIELDS,
                Permission.OVERRIDE_CONSENT,
                Permission.READ_AUDIT,
                Permission.SEARCH_CHILDREN,
                Permission.VIEW_CHILD,
                Permission.BREAK_GLASS,
            },
            {Permission.RUN_MISUSE_REPORT, Permission.MANAGE_USERS},
        ),
        (
            Role.ADMIN,
            {Permission.MANAGE_USERS, Permission.MANAGE_CLIENTS, Permission.RUN_LOADS},
            {Permission.SEARCH_CHILDREN, Permission.VIEW_CHILD, Permission.READ_AUDIT},
        ),
        (
            Role.AUDITOR,
            {Permission.READ_AUDIT, Permission.RUN_MISUSE_REPORT},
            {Permission.SEARCH_CHILDREN, Permission.VIEW_CHILD, Permission.MANAGE_USERS},
        ),
    ],
    ids=["practitioner", "la-manager", "admin", "auditor"],
)
def test_each_role_gets_its_grants_and_nothing_else(
    role: Role, may: set[Permission], may_not: set[Permission]
) -> None:
    granted = permissions_of(_principal(role))
    assert may <= granted and not (may_not & granted)
    assert Permission.AUTHENTICATED in granted


def test_a_principal_without_a_known_role_may_do_nothing_but_public_things() -> None:
    nobody = _principal(*roles_from(["superuser", "root"]))
    assert permissions_of(nobody) == {Permission.PUBLIC, Permission.SIGN_OUT}
    assert "your roles: none" in str(refusal(nobody, Permission.AUTHENTICATED))


def test_break_glass_needs_a_manager_or_a_practitioner_with_child_protection() -> None:
    assert Permission.BREAK_GLASS in permissions_of(
        _principal(Role.PRACTITIONER, child_protection=True)
    )
    assert Permission.BREAK_GLASS not in permissions_of(_principal(Role.PRACTITIONER))
    assert Permission.BREAK_GLASS in permissions_of(_principal(Role.LA_MANAGER))
    assert Permission.BREAK_GLASS not in permissions_of(_principal(Role.AUDITOR, Role.ADMIN))


def test_an_admin_sees_no_child_records_unless_also_a_practitioner() -> None:
    assert Permission.VIEW_CHILD not in permissions_of(_principal(Role.ADMIN))
    assert Permission.VIEW_CHILD in permissions_of(_principal(Role.ADMIN, Role.PRACTITIONER))


def test_only_a_session_can_sign_out() -> None:
    assert Permission.SIGN_OUT in permissions_of(_principal(Role.PRACTITIONER))
    cms = _principal(Role.PRACTITIONER, session=False)
    assert Permission.SIGN_OUT not in permissions_of(cms)
    assert "API key" in str(refusal(cms, Permission.SIGN_OUT))


def test_the_audit_scope_is_everything_for_auditors_their_authorities_for_managers_else_none() -> (
    None
):
    assert audit_scope(_principal(Role.AUDITOR, Role.LA_MANAGER)) is None
    assert audit_scope(_principal(Role.LA_MANAGER)) == frozenset({LEEDS})
    assert audit_scope(_principal(Role.PRACTITIONER)) == frozenset()
    assert audit_scope(_principal(Role.ADMIN)) == frozenset()


def test_a_refusal_names_the_roles_that_would_be_allowed() -> None:
    reason = refusal(_principal(Role.PRACTITIONER), Permission.READ_AUDIT)
    assert reason == "This needs the role auditor or la_manager; your roles: practitioner."


def _redaction_refusal(principal: Principal, *, authority: str | None) -> str | None:
    access = child_access(principal, named_children=frozenset())
    team = AuthorityTeam(code=YORK, name="York", phone="01904 551900") if authority else None
    try:
        access.record_redaction(
            shielded=True,
            authority=authority,
            identifier="9434765919",
            break_glass_reason="Section 47 enquiry",
            team=team,
        )
    except Forbidden as refused:
        return refused.message
    return None


@pytest.mark.parametrize(
    ("principal", "authority", "allowed"),
    [
        (_principal(Role.PRACTITIONER, child_protection=True), YORK, True),
        (_principal(Role.PRACTITIONER, child_protection=True), None, True),
        (_principal(Role.LA_MANAGER), LEEDS, True),
        (_principal(Role.LA_MANAGER), YORK, False),
        (_principal(Role.LA_MANAGER), None, False),
        (_principal(Role.PRACTITIONER), LEEDS, False),
    ],
    ids=[
        "child-protection-of-another-authority",
        "child-protection-of-a-child-without-authority",
        "manager-of-the-childs-authority",
        "manager-of-another-authority",
        "manager-of-a-child-without-authority",
        "plain-practitioner",
    ],
)
def test_who_may_break_the_glass(
    principal: Principal, authority: str | None, allowed: bool
) -> None:
    assert (_redaction_refusal(principal, authority=authority) is None) is allowed


def test_a_manager_of_another_authority_is_told_the_childs_team_and_number() -> None:
    message = _redaction_refusal(_principal(Role.LA_MANAGER), authority=YORK)
    assert message is not None and "York (E06000014)" in message and "01904 551900" in message


def test_only_another_manager_of_the_childs_authority_reviews_a_break_glass() -> None:
    manager = _principal(Role.LA_MANAGER)
    assert review_refusal(manager, authority=LEEDS, broken_by="someone.else") is None
    assert review_refusal(manager, authority=YORK, broken_by="someone.else") is not None
    assert review_refusal(manager, authority=None, broken_by="someone.else") is not None
    assert "yourself" in str(review_refusal(manager, authority=LEEDS, broken_by="someone"))
    practitioner = _principal(Role.PRACTITIONER, child_protection=True)
    assert review_refusal(practitioner, authority=LEEDS, broken_by="someone.else") is not None
