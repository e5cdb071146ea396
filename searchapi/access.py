"""The one place where access is decided: what each role may do, and which audit it may read.

Deny by default: a role that is not listed grants nothing, a permission that no role is
granted is refused to everyone, and a route that declares no permission does not start
(`searchapi.guard`). `child_access` turns a principal into both the Elasticsearch filter of a
search and the redaction of a record view, so no route builds its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from contactpoint.settings import get_settings
from db.access import CLIENT_ROLES, Forbidden, Principal, Role
from db.child_records import ShieldState
from mappings import fields as f


class Permission(StrEnum):
    """What a route needs; every route declares exactly one."""

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    SIGN_OUT = "sign_out"
    SEARCH_CHILDREN = "search_children"
    VIEW_CHILD = "view_child"
    BREAK_GLASS = "break_glass"
    REVIEW_BREAK_GLASS = "review_break_glass"
    MANAGE_SHIELDS = "manage_shields"
    BROKER_CONTACT = "broker_contact"
    OVERRIDE_CONSENT = "override_consent"
    RECORD_CONSENT = "record_consent"
    READ_AUDIT = "read_audit"
    RUN_MISUSE_REPORT = "run_misuse_report"
    MANAGE_USERS = "manage_users"
    MANAGE_CLIENTS = "manage_clients"
    RUN_LOADS = "run_loads"
    # The national feeds' review queue and merges: the data work of an authority's managers.
    REVIEW_FEED_RECORDS = "review_feed_records"
    MERGE_CHILDREN = "merge_children"
    # A practitioner's requests to a child's authority team: a shield, and brokered contact.
    ASK_THE_TEAM = "ask_the_team"
    # Updates from a CMS client registered for an organisation: its involvements, and (for the
    # kinds of `settings.address_sources`) the child's address.
    WRITE_INVOLVEMENTS = "write_involvements"
    CHANGE_ADDRESS = "change_address"
    # Notifications: a person's inbox, and a CMS client's webhook subscription to a child.
    READ_INBOX = "read_inbox"
    SUBSCRIBE_CHILD = "subscribe_child"
    # The lifecycle: an extension past 18, with the young person's consent.
    RECORD_EXTENSION = "record_extension"
    # A manager's corrections of a child's record (and decisions on the feeds' changes to a
    # corrected field), and subject access reports: signed in, never through a CMS.
    CORRECT_RECORDS = "correct_records"
    SUBJECT_ACCESS = "subject_access"
    # The guarded archive: an archived record opened with a reason from the regulations' list.
    OPEN_ARCHIVE = "open_archive"


BREAK_GLASS_REFUSAL: Final = (
    "Break-glass needs a local authority manager or a practitioner with the "
    "child-protection capability."
)
OWN_REVIEW_REFUSAL: Final = (
    "You broke this glass yourself: another manager of the child's authority reviews it."
)
OTHER_REVIEW_REFUSAL: Final = "Only a manager of the child's local authority may review this."
ARCHIVE_REFUSAL: Final = (
    "Archived records are opened only by a local authority manager with the archive "
    "capability, signed in themselves (never through a CMS client)."
)


@dataclass(frozen=True)
class AuthorityTeam:
    """The child's local authority management team: whom a refused manager should call."""

    code: str
    name: str
    phone: str | None


def other_authority_refusal(team: AuthorityTeam | None) -> str:
    """The 403 of a manager who tries to break the glass on another authority's child."""
    if team is None:
        return (
            "This child has no local authority on record: only a practitioner with the "
            "child-protection capability may see the withheld location."
        )
    call = f" on {team.phone}" if team.phone else ""
    return (
        f"This child belongs to {team.name} ({team.code}): only its managers, or a practitioner "
        f"with the child-protection capability, may see the withheld location. Call the "
        f"{team.name} local authority team{call}."
    )


ROLE_GRANTS: Final[Mapping[Role, frozenset[Permission]]] = {
    Role.PRACTITIONER: frozenset(
        {
            Permission.SEARCH_CHILDREN,
            Permission.VIEW_CHILD,
            Permission.ASK_THE_TEAM,
            Permission.READ_INBOX,
        }
    ),
    # Managers search and view too: they must find the shielded children of their authority.
    Role.LA_MANAGER: frozenset(
        {
            Permission.SEARCH_CHILDREN,
            Permission.VIEW_CHILD,
            Permission.BREAK_GLASS,
            Permission.REVIEW_BREAK_GLASS,
            Permission.MANAGE_SHIELDS,
            Permission.RECORD_CONSENT,
            Permission.BROKER_CONTACT,
            Permission.OVERRIDE_CONSENT,
            Permission.READ_AUDIT,
            Permission.REVIEW_FEED_RECORDS,
            Permission.MERGE_CHILDREN,
            Permission.READ_INBOX,
            Permission.RECORD_EXTENSION,
            Permission.CORRECT_RECORDS,
            Permission.SUBJECT_ACCESS,
        }
    ),
    Role.ADMIN: frozenset(
        {Permission.MANAGE_USERS, Permission.MANAGE_CLIENTS, Permission.RUN_LOADS}
    ),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT, Permission.RUN_MISUSE_REPORT}),
}


# What a CMS client never does for its user: read their inbox, correct records, report.
_SIGNED_IN_ONLY: Final = frozenset(
    {Permission.READ_INBOX, Permission.CORRECT_RECORDS, Permission.SUBJECT_ACCESS}
)


def _address_sources(given: frozenset[str] | None) -> frozenset[str]:
    return get_settings().address_source_kinds if given is None else given


def permissions_of(
    principal: Principal, *, address_sources: frozenset[str] | None = None
) -> frozenset[Permission]:
    """Everything `principal` may do (`address_sources`: the setting's, unless given)."""
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
    # The archive is a capability of some managers, used in person: no CMS opens it for them.
    if Role.LA_MANAGER in principal.roles and principal.archive_access and not principal.via_client:
        granted.add(Permission.OPEN_ARCHIVE)
    # Writes come only from a CMS registered for an organisation, acting for a person whose
    # role may act through it; the organisation's kind decides whether it supplies addresses.
    # A CMS client hears of a child's changes by webhook; its user's inbox is theirs alone.
    if principal.client_id is not None:
        granted -= _SIGNED_IN_ONLY
        if Permission.VIEW_CHILD in granted:
            granted.add(Permission.SUBSCRIBE_CHILD)
    if principal.client_organisation_id is not None and principal.roles & CLIENT_ROLES:
        granted.add(Permission.WRITE_INVOLVEMENTS)
        if principal.client_organisation_kind in _address_sources(address_sources):
            granted.add(Permission.CHANGE_ADDRESS)
    return frozenset(granted)


SIGNED_IN_REFUSAL: Final = (
    "Corrections and subject access reports are made by a manager of the child's local "
    "authority, signed in: not through a case-management system."
)


WRITE_REFUSAL: Final = (
    "Changes come only from a case-management system registered for an organisation, acting "
    "for a practitioner or manager; this client is read-only."
)


def _address_refusal(principal: Principal, sources: frozenset[str]) -> str:
    allowed = ", ".join(sorted(sources)) or "no organisation (the setting is empty)"
    kind = principal.client_organisation_kind
    return f"Only the CMS of a {allowed} organisation may change a child's address; " + (
        f"this client's organisation is a {kind} service." if kind else "this client has none."
    )


def refusal(
    principal: Principal, permission: Permission, *, address_sources: frozenset[str] | None = None
) -> str | None:
    """Why `principal` may not have `permission`, or None when it may."""
    if permission in permissions_of(principal, address_sources=address_sources):
        return None
    if permission is Permission.WRITE_INVOLVEMENTS:
        return WRITE_REFUSAL
    if permission is Permission.CHANGE_ADDRESS:
        if Permission.WRITE_INVOLVEMENTS not in permissions_of(principal):
            return WRITE_REFUSAL
        return _address_refusal(principal, _address_sources(address_sources))
    if permission is Permission.SUBSCRIBE_CHILD:
        return "Only a CMS client (an API key) acting for a practitioner or manager subscribes."
    if permission is Permission.READ_INBOX and principal.client_id is not None:
        return "The inbox is its owner's, signed in: a CMS client hears of changes by webhook."
    if (
        permission in (Permission.CORRECT_RECORDS, Permission.SUBJECT_ACCESS)
        and principal.client_id is not None
        and Role.LA_MANAGER in principal.roles
    ):
        return SIGNED_IN_REFUSAL
    if permission is Permission.SIGN_OUT:
        return "Only a signed-in session can be signed out; an API key is revoked instead."
    if permission is Permission.BREAK_GLASS:
        return BREAK_GLASS_REFUSAL
    if permission is Permission.OPEN_ARCHIVE:
        return ARCHIVE_REFUSAL
    holders = sorted(role.value for role, grants in ROLE_GRANTS.items() if permission in grants)
    roles = ", ".join(sorted(role.value for role in principal.roles)) or "none"
    needed = " or ".join(holders) or "a role that nobody has"
    return f"This needs the role {needed}; your roles: {roles}."


def audit_scope(principal: Principal) -> frozenset[str] | None:
    """The authorities whose audit `principal` may read: None for all, empty for none."""
    return audit_view(principal).authorities


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
    # Practitioners with child-protection duties break the glass anywhere: children move.
    child_protection: bool = False

    def may_see_location(self, *, shielded: bool, authority: str | None, identifier: str) -> bool:
        """Whether a child's town, postcode, address, school and GP may be shown or searched."""
        if not shielded:
            return True
        return (
            authority is not None and authority in self.managed_authorities
        ) or identifier in self.named_children

    def search_filter(self, *, uses_location: bool) -> list[dict[str, Any]]:
        """The Elasticsearch filter clauses of a search (inside the query, before scoring).

        Only active children are found: archived and merged-away ones have left search. A search
        by location criteria can only find the shielded children whose location the caller may
        see; a search without them queries no location field, so needs no more.
        """
        active: dict[str, Any] = {"term": {f.STATUS: "active"}}
        if not uses_location:
            return [active]
        visible: list[dict[str, Any]] = [{"bool": {"must_not": [{"term": {f.SHIELDED: True}}]}}]
        if self.managed_authorities:
            visible.append({"terms": {f.LOCAL_AUTHORITY_CODE: sorted(self.managed_authorities)}})
        if self.named_children:
            visible.append({"terms": {f.IDENTIFIER: sorted(self.named_children)}})
        return [active, {"bool": {"should": visible, "minimum_should_match": 1}}]

    def may_break_glass_on(self, authority: str | None) -> bool:
        """Whether the glass may be broken on a child of `authority` (the child-protection
        capability anywhere; a manager only within the authorities they manage)."""
        if not self.may_break_glass:
            return False
        return self.child_protection or (
            authority is not None and authority in self.managed_authorities
        )

    def record_redaction(
        self,
        *,
        shielded: bool,
        authority: str | None,
        identifier: str,
        break_glass_reason: str | None,
        team: AuthorityTeam | None,
    ) -> RecordRedaction:
        """The location part of a record view (and the contacts that lead to it); break-glass
        lasts for this one view.

        A manager of another authority is refused with the child's team named (403), so they
        know whom to call; whether the child is shielded is not told apart by the refusal.
        """
        if break_glass_reason is not None and not self.may_break_glass:
            raise Forbidden(BREAK_GLASS_REFUSAL)
        if break_glass_reason is not None and not self.may_break_glass_on(authority):
            raise Forbidden(other_authority_refusal(team))
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

    def may_merge(self, children: Sequence[ShieldState]) -> bool:
        """Whether these children may be merged (or unmerged) by us: we manage one of their
        authorities and every authority they have, and may see each one's location."""
        authorities = {child.authority for child in children if child.authority is not None}
        return bool(authorities & self.managed_authorities) and all(
            (child.authority is None or child.authority in self.managed_authorities)
            and self.may_see_location(
                shielded=child.shielded, authority=child.authority, identifier=child.identifier
            )
            for child in children
        )

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
        child_protection=Role.PRACTITIONER in principal.roles and principal.child_protection,
    )


OTHER_ORGANISATION_REFUSAL: Final = (
    "This involvement belongs to another organisation: only that organisation's "
    "case-management system may change it."
)


def require_own_involvement(principal: Principal, *, organisation_id: int) -> None:
    """Refuse (403) a CMS change to an involvement of another organisation."""
    if principal.client_organisation_id != organisation_id:
        raise Forbidden(OTHER_ORGANISATION_REFUSAL)


def may_override_consent(principal: Principal) -> bool:
    """Whether `principal` may show a sensitive service without consent (child protection):
    the managers who may override today, or a practitioner with the child-protection capability."""
    return Permission.OVERRIDE_CONSENT in permissions_of(principal) or (
        Role.PRACTITIONER in principal.roles and principal.child_protection
    )


def require_child_admin(access: ChildAccess, *, authority: str | None) -> None:
    """Refuse (403) a shield or consent change to a child outside the principal's authorities."""
    if not access.may_administer(authority):
        raise Forbidden("Only a manager of the child's local authority may change this.")


def review_refusal(principal: Principal, *, authority: str | None, broken_by: str) -> str | None:
    """Why `principal` may not review a break glass on a child of `authority`, or None.

    Only a manager of the child's authority reviews, and never their own break glass.
    """
    if Permission.REVIEW_BREAK_GLASS not in permissions_of(principal):
        return refusal(principal, Permission.REVIEW_BREAK_GLASS)
    if authority is None or authority not in principal.authorities:
        return OTHER_REVIEW_REFUSAL
    if broken_by == principal.username:
        return OWN_REVIEW_REFUSAL
    return None


AUDIT_REDACTION_REASON: Final = (
    "withheld: the row concerns a shielded child whose location you may not see"
)
WITHHELD: Final = "[withheld]"
# Events whose subject is a child's identifier (for the others it is an account or a route).
_CHILD_EVENTS: Final = frozenset(
    {
        "view",
        "shield_applied",
        "shield_removed",
        "shield_access_granted",
        "shield_access_revoked",
        "consent_override",
        "consent_recorded",
        "contact_brokered",
        "break_glass_reviewed",
        "feed_review_viewed",
        "feed_review_decided",
        "children_merged",
        "children_unmerged",
        "shield_requested",
        "shield_request_decided",
        "contact_requested",
        "involvement_started",
        "involvement_changed",
        "address_changed",
        "child_subscribed",
        "child_unsubscribed",
        "child_corrected",
        "correction_decided",
        "corrections_read",
        "subject_access_report",
        "archive_opened",
    }
)
# What never locates a child, in the details of a row about one; everything else (addresses,
# postcodes, free-text reasons, keys added later) is withheld: deny by default.
_SAFE_DETAILS: Final = frozenset(
    {
        "identifier",
        "identifiers_shown",
        "result_count",
        "too_many_matches",
        "shown_fields",
        "withheld_fields",
        "shielded",
        "sensitive",
        "break_glass",
        "found",
        "username",
        "involvement_id",
        # A break glass's review: which view, who broke it, the outcome (its reason is free text).
        "review_id",
        "view_event_id",
        "broken_by",
        "outcome",
        # The feeds' review queue and merges: which item, merge and decision (never a location).
        "feed_review_id",
        "merge_id",
        "decision",
        "review_kind",
        "shield_request_id",
        "contact_request_id",
        # Updates from CMS clients: which fields changed (names only, never values).
        "changed_fields",
        # Corrections and subject access reports: which field, row and format (never values;
        # a correction's reason is free text).
        "field",
        "correction_id",
        "confirmation_id",
        "formats",
        "location_included",
        # The archive: which of the regulations' purposes (its words are free text).
        "archive_reason",
        "archived",
    }
)
_SAFE_CRITERIA: Final = frozenset(
    {"given_name", "family_name", "date_of_birth", "birth_year", "gender", "identifier", "limit"}
)


@dataclass(frozen=True)
class ReadableDetails:
    """The details of one audit row as a reader may see them, and which values were withheld."""

    details: Mapping[str, Any]
    redacted: tuple[str, ...] = ()

    @property
    def reason(self) -> str | None:
        """Why values were withheld, or None when nothing was."""
        return AUDIT_REDACTION_REASON if self.redacted else None


def concerned_children(
    *, event: str, subject: str | None, details: Mapping[str, Any]
) -> frozenset[str]:
    """The identifiers of the children an audit row is about (subject, identifier, shown)."""
    found: set[str] = set()
    if subject and event in _CHILD_EVENTS:
        found.add(subject)
    if isinstance(details.get("identifier"), str):
        found.add(details["identifier"])
    shown = details.get("identifiers_shown")
    if isinstance(shown, list):
        found.update(item for item in shown if isinstance(item, str))
    return frozenset(found)


def _withheld(details: Mapping[str, Any]) -> ReadableDetails:
    kept: dict[str, Any] = {}
    redacted: list[str] = []
    for key, value in details.items():
        if key == "criteria" and isinstance(value, Mapping):
            criteria = dict(value)
            for name in sorted(set(criteria) - _SAFE_CRITERIA):
                criteria[name] = WITHHELD
                redacted.append(f"criteria.{name}")
            kept[key] = criteria
        elif key in _SAFE_DETAILS or value in (None, "", [], {}):
            kept[key] = value
        else:
            kept[key] = WITHHELD
            redacted.append(key)
    return ReadableDetails(details=kept, redacted=tuple(redacted))


@dataclass(frozen=True)
class AuditView:
    """What one reader may see of the audit: which rows, and which locating values of them.

    `children` None is the national view (auditors, the CLI operator): every row, in full.
    """

    authorities: frozenset[str] | None
    children: ChildAccess | None

    @property
    def national(self) -> bool:
        """Whether every row is shown whole (no shield states need to be looked up)."""
        return self.children is None

    def readable(
        self,
        *,
        event: str,
        subject: str | None,
        details: Mapping[str, Any],
        states: Mapping[str, ShieldState],
    ) -> ReadableDetails:
        """A row's details, with every locating value withheld when the row concerns a
        shielded child whose location this reader may not see (an unknown child counts)."""
        if self.children is None:
            return ReadableDetails(details=details)
        for identifier in concerned_children(event=event, subject=subject, details=details):
            state = states.get(identifier)
            if state is None or not self.children.may_see_location(
                shielded=state.shielded, authority=state.authority, identifier=identifier
            ):
                return _withheld(details)
        return ReadableDetails(details=details)


def audit_view(principal: Principal) -> AuditView:
    """The one decision of what `principal` may read of the audit (deny by default).

    Auditors read all of it; a la_manager the rows of their authorities' users and about
    their authorities' children, with the locations a search or a view would show them.
    """
    if Role.AUDITOR in principal.roles:
        return AuditView(authorities=None, children=None)
    access = child_access(principal, named_children=principal.named_children)
    if Role.LA_MANAGER in principal.roles:
        return AuditView(authorities=frozenset(principal.authorities), children=access)
    return AuditView(authorities=frozenset(), children=access)


def operator_audit_view() -> AuditView:
    """The CLI operator's view of the audit: national and whole.

    Whoever runs `contactpoint audit export` holds the database credentials and could read
    every row anyway; the export is audited instead.
    """
    return AuditView(authorities=None, children=None)
