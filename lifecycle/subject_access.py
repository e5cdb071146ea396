"""A subject access report: what ContactPoint holds about one child, for the child or a parent.

It holds the record, each field's source and date, the shield's existence (never its reason or
who may see the location), every involvement (ended ones too) and the recipients: which
organisations searched for or viewed the child, and on which day (the audit's views of the
child and the searches whose shown results included it). Producing it is audited.

The report is handed over by the child's authority, so it shows what the authority would hand
over (docs/subject-access.md): a sensitive service is "a sensitive service" (no name, contacts,
practitioner or dates), and a shielded child's location (address, previous postcodes, school,
GP practice, carers' and services' contacts, the organisations that viewed it) is left out
unless the manager includes it on purpose. The caller has decided that the actor may produce
it (a manager of the child's authority, `searchapi.access`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.child_records import active_shield
from db.models import Child, ChildCorrection, Involvement
from db.vocabulary import SENSITIVE_KINDS

SENSITIVE_SERVICE: Final = "A sensitive service"
WITHHELD: Final = "Withheld: the record is shielded"
WITHHELD_ORGANISATION: Final = "An organisation (withheld: the record is shielded)"
# The location's parts: left out of a shielded child's report unless included on purpose.
LOCATION_FIELDS: Final = frozenset({"address", "education_setting", "gp_practice"})
REPORT_VERSION: Final = 1
# Who saw the child: its record viewed (found) or opened from the archive, and every row whose
# shown results named it (searches, lists, the inbox), by day, organisation and kind. A CMS's
# rows are its registered organisation's; a person's, their account's organisation.
_RECIPIENTS = text(
    """
    SELECT (a.occurred_at AT TIME ZONE 'UTC')::date AS day,
           a.event,
           COALESCE(o.name, u.organisation, a.client_name, 'Not recorded') AS organisation,
           count(*) AS times
    FROM audit_event a
      LEFT JOIN app_user u ON u.id = a.user_id
      LEFT JOIN api_client k ON k.id = a.client_id
      LEFT JOIN organisation o ON o.id = k.organisation_id
    WHERE a.outcome = 'success'
      AND a.occurred_at >= :since
      AND ((a.event IN ('view', 'archive_opened') AND a.subject = :identifier
            AND COALESCE(a.details ->> 'found', 'true') <> 'false')
           OR (a.details -> 'identifiers_shown') @> jsonb_build_array(CAST(:identifier AS text)))
    GROUP BY 1, 2, 3
    ORDER BY 1, 3, 2
    """
)
_WHAT: Final = {
    "view": "viewed the record",
    "archive_opened": "opened the archived record",
    "search": "searched: the child was in the results shown",
    "inbox_read": "read a notice about the child",
    "shield_list_read": "listed the authority's shielded children",
}


def _sensitive(item: Involvement) -> bool:
    org = item.organisation
    return item.sensitive or org.sensitive or org.kind in SENSITIVE_KINDS


def _organisation(org: Any, located: bool) -> dict[str, Any] | None:
    if org is None:
        return None
    if not located:
        return {"withheld": WITHHELD}
    return {"name": org.name, "phone": org.phone, "email": org.email}


def _involvement(item: Involvement, located: bool) -> dict[str, Any]:
    if _sensitive(item):
        # As practitioners see it without consent: the team tells the rest, if it should.
        return {"service": SENSITIVE_SERVICE, "sensitive": True, "ended": item.end_date is not None}
    org, practitioner = item.organisation, item.practitioner
    return {
        "service": org.name if located else WITHHELD,
        "kind": org.kind,
        "phone": org.phone if located else None,
        "email": org.email if located else None,
        "practitioner": None
        if practitioner is None
        else {"name": practitioner.name, "job_title": practitioner.job_title},
        "start_date": item.start_date.isoformat() if item.start_date else None,
        "end_date": item.end_date.isoformat() if item.end_date else None,
        "ended": item.end_date is not None,
        "lead_professional": item.lead_professional,
        "assessment_completed": item.assessment_completed,
        "sensitive": False,
    }


def _carer(carer: Any, located: bool) -> dict[str, Any]:
    address = None
    if carer.address_lines:
        address = (
            {"lines": list(carer.address_lines), "town": carer.town, "postcode": carer.postcode}
            if located
            else {"withheld": WITHHELD}
        )
    return {
        "name": carer.name,
        "relationship": carer.relationship,
        "parental_responsibility": carer.parental_responsibility,
        "phone": carer.phone if located else None,
        "email": carer.email if located else None,
        "address": address,
        "contact_withheld": not located,
    }


def _correction(row: ChildCorrection, located: bool) -> dict[str, Any]:
    hidden = row.field == "address" and not located
    return {
        "field": row.field,
        "kind": row.kind,
        "previous": {"withheld": WITHHELD} if hidden else row.previous,
        "value": {"withheld": WITHHELD} if hidden else row.value,
        "reason": WITHHELD if hidden else row.reason,
        "organisation": row.organisation,
        "corrected_at": row.corrected_at.isoformat(),
        "source": row.source,
    }


def recipients(*, session: Session, child: Child, located: bool) -> list[dict[str, Any]]:
    """Who searched for or viewed the child: day, organisation, what and how many times."""
    since = child.created_at
    rows = session.execute(_RECIPIENTS, {"identifier": child.identifier, "since": since})
    return [
        {
            "date": row.day.isoformat(),
            "organisation": row.organisation if located else WITHHELD_ORGANISATION,
            "what": _WHAT.get(row.event, "was shown the child"),
            "times": int(row.times),
        }
        for row in rows
    ]


def build_report(
    *,
    session: Session,
    child: Child,
    produced_by: str,
    organisation: str | None,
    include_location: bool,
    produced_at: datetime | None = None,
) -> dict[str, Any]:
    """The report as data (the JSON export; the PDF is drawn from it)."""
    shield = active_shield(child)
    located = shield is None or include_location
    la = child.local_authority
    corrections = session.scalars(
        select(ChildCorrection)
        .where(ChildCorrection.child_id == child.id)
        .order_by(ChildCorrection.corrected_at, ChildCorrection.id)
    )
    address = (
        {"lines": list(child.address_lines), "town": child.town, "postcode": child.postcode}
        if located
        else {"withheld": WITHHELD}
    )
    return {
        "report": {
            "kind": "subject_access",
            "version": REPORT_VERSION,
            "produced_at": (produced_at or datetime.now(UTC)).isoformat(timespec="seconds"),
            "produced_by": produced_by,
            "organisation": organisation,
            "location_included": located,
            "local_authority": None
            if la is None
            else {
                "code": la.code,
                "name": la.name,
                "team_phone": la.team_phone,
                "team_email": la.team_email,
            },
        },
        "record": {
            "identifier": child.identifier,
            "given_names": child.given_names,
            "family_name": child.family_name,
            "gender": child.gender,
            "date_of_birth": child.date_of_birth.isoformat(),
            "status": child.status,
            "other_names": [
                {"given_names": n.given_names, "family_name": n.family_name, "kind": n.kind}
                for n in child.other_names
            ],
            "address": address,
            "previous_addresses": [
                {
                    "postcode": a.postcode,
                    "town": a.town,
                    "from_date": a.from_date.isoformat() if a.from_date else None,
                    "to_date": a.to_date.isoformat() if a.to_date else None,
                }
                for a in child.previous_addresses
            ]
            if located
            else {"withheld": WITHHELD},
            "education_setting": _organisation(child.education_setting, located),
            "gp_practice": _organisation(child.gp_practice, located),
            "carers": [_carer(carer, located) for carer in child.carers],
        },
        "sources": [
            {
                "field": row.field,
                "source": row.source,
                # A record's id can name where the child is (a census record names its school).
                "record_id": row.record_id if located else WITHHELD,
                "as_of": row.as_of.isoformat(),
            }
            for row in child.field_sources
            if located or row.field not in LOCATION_FIELDS
        ],
        "source_identifiers": [
            {
                "kind": row.kind,
                "value": row.value if located else WITHHELD,
                "source": row.source,
            }
            for row in child.source_identifiers
        ],
        "shield": {
            "shielded": shield is not None,
            "since": shield.applied_at.date().isoformat() if shield is not None else None,
        },
        "involvements": [_involvement(item, located) for item in child.involvements],
        "corrections": [_correction(row, located) for row in corrections],
        "recipients": recipients(session=session, child=child, located=located),
    }


def audit_report(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    report: dict[str, Any],
    formats: list[str],
) -> None:
    """The report's own audit row: who produced it, in which formats, location or not."""
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.SUBJECT_ACCESS_REPORT,
        subject=child.identifier,
        authorities=[child.local_authority_code] if child.local_authority_code else [],
        details={
            "identifier": child.identifier,
            "formats": formats,
            "location_included": report["report"]["location_included"],
            "result_count": len(report["recipients"]),
        },
    )


def report_date(report: dict[str, Any]) -> date:
    """The day the report was produced."""
    return datetime.fromisoformat(report["report"]["produced_at"]).date()
