"""The guarded archive: an archived child's record, opened with a reason the regulations allow.

Archived children have left search and the ordinary record view. A manager with the archive
capability (`searchapi.access`, Permission.OPEN_ARCHIVE) opens one by its identifier, giving a
reason from `db.vocabulary.ARCHIVE_REASONS` and words of their own; the record is redacted by
the same `child_access` as any view (a shield still withholds the location), and every
attempt, granted or refused, is one `archive_opened` audit row that the misuse report lists.
The API's POST and the page's form both come here.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, Outcome, raise_kept, record_audit
from db.child_records import get_child
from db.errors import InvalidInput, NotFound
from db.normalise import collapse_whitespace, has_control_characters, reason_error
from db.vocabulary import ARCHIVE_REASONS
from searchapi.access import child_access
from searchapi.record_schemas import ChildRecordView
from searchapi.record_view import build_view

NO_ARCHIVED_CHILD: Final = "There is no archived child with this identifier."
UNKNOWN_REASON: Final = "Choose the reason from the list the regulations allow."
WORDS_LABEL: Final = "why you need this record"


def reason_problem(reason: str | None) -> str | None:
    """What is wrong with the reason chosen, or None."""
    return None if reason in ARCHIVE_REASONS else UNKNOWN_REASON


def words_problem(words: str) -> str | None:
    """What is wrong with the words given (one line, 10 letters or digits, 200 characters)."""
    if has_control_characters(collapse_whitespace(words)):
        return "The words must not contain control characters"
    return reason_error(collapse_whitespace(words), label=WORDS_LABEL)


def _refuse(
    session: Session,
    context: AuditContext,
    identifier: str,
    details: dict[str, Any],
    error: Exception,
) -> None:
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.ARCHIVE_OPENED,
        outcome=Outcome.DENIED if isinstance(error, InvalidInput) else Outcome.FAILURE,
        subject=identifier,
        details={"identifier": identifier, **details},
    )
    raise_kept(session=session, error=error)


def open_archived_record(
    *, session: Session, context: AuditContext, identifier: str, reason: str, words: str
) -> ChildRecordView:
    """The archived child's record for this one answer, audited with the reason and words.

    An unknown reason or words that will not do are refused (422) and audited; so is an
    identifier that names no archived child (404: active children are opened as usual).
    """
    problem = reason_problem(reason)
    if problem is not None:
        _refuse(
            session,
            context,
            identifier,
            {"archive_reason": None, "problem": "unknown reason"},
            InvalidInput(problem, field="body.reason"),
        )
    problem = words_problem(words)
    if problem is not None:
        _refuse(
            session,
            context,
            identifier,
            {"archive_reason": reason, "problem": "words"},
            InvalidInput(problem, field="body.words"),
        )
    words = collapse_whitespace(words)
    child = get_child(session=session, identifier=identifier)
    if child is None or child.status != "archived":
        _refuse(
            session,
            context,
            identifier,
            {"archive_reason": reason, "found": False},
            NotFound(NO_ARCHIVED_CHILD),
        )
        raise AssertionError("unreachable")
    principal = context.actor
    access = child_access(principal, named_children=principal.named_children)
    view, details = build_view(
        child, access, break_glass_reason=None, request_id=context.request_id or ""
    )
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.ARCHIVE_OPENED,
        subject=child.identifier,
        authorities=[child.local_authority_code] if child.local_authority_code else [],
        details={**details, "archived": True, "archive_reason": reason, "words": words},
    )
    return view
