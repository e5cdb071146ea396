"""One path for every write of a CMS client: idempotency key, If-Match, the change, the answer.

The order matters: a retry with a key already answered gets that answer before its (now
stale) If-Match is looked at; then the child's row is locked and its version compared, so two
writers of the same version cannot both succeed; the answer is the record view as the caller
may see it (a shielded location stays withheld), audited as a view.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.child_records import get_child_for_change
from db.child_updates import current_version, lock_child
from db.errors import NotFound, StaleVersion, VersionRequired
from db.idempotency import StoredAnswer, claim_key, keep_answer
from db.models import Child
from searchapi.record_view import record_etag, view_child
from searchapi.update_schemas import UpdateResponse

IF_MATCH_REQUIRED: Final = (
    "Send If-Match with the record's ETag (from GET /v1/children/{identifier}): a change "
    "names the version it was made against."
)
_ENTITY_TAG = re.compile(r'^\s*(?:"([0-9]{1,19})"|([0-9]{1,19}))\s*$')


@dataclass(frozen=True)
class WriteRequest:
    """What every write carries besides its body."""

    identifier: str
    if_match: str | None
    idempotency_key: str | None
    digest: bytes


@dataclass(frozen=True)
class Outcome:
    """What a change did: the message of the answer and the involvement it concerned."""

    message: str
    involvement_id: int | None = None


def matches(if_match: str, version: int) -> bool:
    """Whether an If-Match value names `version` (a list of strong tags; `*` names none, and
    weak tags never match: a change must name the version it read)."""
    for tag in if_match.split(","):
        found = _ENTITY_TAG.match(tag)
        if found is not None and int(found.group(1) or found.group(2)) == version:
            return True
    return False


def today() -> date:
    """The date used for end dates and previous addresses."""
    return datetime.now(UTC).date()


def _replay(
    session: Session, context: AuditContext, identifier: str, answer: StoredAnswer
) -> JSONResponse:
    # No write again, but the answer shows the record again: audited as a view.
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.VIEW,
        subject=identifier,
        details={"identifier": identifier, "idempotent_replay": True},
    )
    headers = {"Idempotent-Replayed": "true"}
    if answer.etag:
        headers["ETag"] = answer.etag
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def run_write(
    *,
    session: Session,
    context: AuditContext,
    request: WriteRequest,
    status: int,
    change: Callable[[Child], Outcome],
) -> JSONResponse:
    """Make one change to the child under the request's key and version, and answer it."""
    claim = None
    client_id = context.actor.client_id
    if request.idempotency_key is not None and client_id is not None:
        claim = claim_key(
            session=session,
            client_id=client_id,
            key=request.idempotency_key,
            digest=request.digest,
        )
        if claim.answer is not None:
            return _replay(session, context, request.identifier, claim.answer)
    locked = lock_child(session=session, identifier=request.identifier)
    if request.if_match is None:
        raise VersionRequired(IF_MATCH_REQUIRED)
    if not matches(request.if_match, locked.record_version):
        raise StaleVersion(
            f"The record changed since you read it: it is at version {locked.record_version}. "
            "Read it again, then send the change with its ETag.",
            current=locked.record_version,
        )
    child = get_child_for_change(session=session, identifier=request.identifier)
    if child is None:
        raise NotFound("There is no child with this identifier.")
    outcome = change(child)
    session.flush()
    # The triggers moved the version and the Core statements the rows: read them afresh.
    session.expire_all()
    version = current_version(session=session, child_id=locked.id)
    view = view_child(session=session, context=context, identifier=request.identifier)
    body = UpdateResponse(
        message=outcome.message,
        record_version=version,
        involvement_id=outcome.involvement_id,
        record=view,
        request_id=context.request_id or "",
    ).model_dump(mode="json")
    etag = record_etag(version)
    if claim is not None and claim.record_id is not None:
        keep_answer(session=session, record_id=claim.record_id, status=status, body=body, etag=etag)
    return JSONResponse(body, status_code=status, headers={"ETag": etag})
