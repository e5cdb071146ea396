"""Destruction leaves no trace: a child with carers, involvements, a shield and named staff,
an extension, feed provenance, a notice, a saved search, a CMS answer kept for replay, a dead
letter, a corrected name (its earlier value in the history), a subject access report, searches
and views in the audit, an opening from the guarded archive and documents in two indices (the
live one and the one kept for rollback) lives through archive and destruction with `--today`;
then no column
of any table (found in information_schema) and no document of any index holds its
identifier, names, date of birth, postcode or address, and the audit's seals still verify."""

from __future__ import annotations

import hashlib
import json
import random
import string
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Principal, Role
from db.audit import AuditContext, AuditEventType, record_audit
from db.child_admin import apply_shield, grant_shield_access
from db.child_records import get_child
from db.corrections import CorrectedField, correct_field
from db.errors import NotFound
from db.ranker import load_ranker
from lifecycle import record_extension
from lifecycle.subject_access import audit_report, build_report
from searchapi.archive import open_archived_record
from searchapi.record_view import view_child
from searchapi.search import run_search
from searchapi.search_schemas import SearchRequest
from tests.integration.access_support import new_account, new_api_key, session_token
from tests.integration.lifecycle_support import LifeStack, life_stack
from tests.integration.load_support import child_line, identifier

BORN = date(2009, 5, 17)
EIGHTEEN = date(2027, 5, 17)
REVIEW = date(2027, 9, 1)
ARCHIVED_ON = date(2027, 9, 2)
DESTROYED_ON = date(2033, 9, 2)
OTHER = "9434765919"


def _word(rng: random.Random, length: int) -> str:
    return rng.choice(string.ascii_uppercase) + "".join(
        rng.choice(string.ascii_lowercase) for _ in range(length - 1)
    )


@pytest.fixture(scope="module")
def life(
    postgres_ready: None, elasticsearch_ready: None, settings: Settings
) -> Iterator[LifeStack]:
    yield from life_stack(settings)


@pytest.fixture(scope="module")
def child(life: LifeStack, tmp_path_factory: Any) -> dict[str, Any]:
    """The child's import line: names and places made up for this run, found nowhere else."""
    rng = random.Random(uuid.uuid4().int)
    family = _word(rng, 12)
    # Real postcode areas (the loader knows them), a made-up district, sector and unit.
    areas = rng.sample(["LS", "BD", "NR", "BS", "YO", "HG"], 2)
    letters = "".join(rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(4))
    line = child_line(71, seed=rng.randrange(1000))
    # An identifier of this run's own: other tests' indices on the stack hold child_line(71)'s.
    line["identifier"] = identifier(rng.randrange(1_000_000, 80_000_000))
    line.update(
        {
            "given_names": f"{_word(rng, 9)} {_word(rng, 8)}",
            "family_name": family,
            "date_of_birth": BORN.isoformat(),
            "address": {
                "lines": [f"{rng.randint(2, 99)} {_word(rng, 10)} Row"],
                "town": _word(rng, 9),
                "postcode": f"{areas[0]}{rng.randint(10, 29)} {rng.randint(1, 9)}{letters[2:]}",
            },
            "carers": [
                {
                    "name": f"{_word(rng, 10)} {family}",
                    "relationship": "mother",
                    "parental_responsibility": True,
                    "phone": "07700 900123",
                }
            ],
            "other_names": [{"family_name": _word(rng, 11), "kind": "former"}],
            "previous_addresses": [
                {"postcode": f"{areas[1]}{rng.randint(10, 29)} 2{letters[:2]}", "town": "Leeds"}
            ],
            "involvements": [
                {
                    "service": {"kind": "youth_service", "code": "YS-77", "name": "Youth team"},
                    "practitioner": {
                        "name": "Amara Okafor",
                        "email": "amara.okafor@example.nhs.uk",
                        "job_title": "Youth worker",
                    },
                    "start_date": "2020-01-01",
                    "lead_professional": True,
                }
            ],
        }
    )
    return line


def _corrected(line: dict[str, Any]) -> str:
    """The spelling a manager corrects the second given name to (a word made up for the run;
    the earlier spelling stays in the history)."""
    return line["family_name"][::-1].capitalize()


def _values(line: dict[str, Any]) -> list[str]:
    postcode = line["address"]["postcode"]
    return [
        _corrected(line),
        line["identifier"],
        *line["given_names"].split(),
        line["family_name"],
        line["date_of_birth"],
        postcode,
        postcode.replace(" ", ""),
        line["address"]["lines"][0],
        line["address"]["town"],
        line["carers"][0]["name"].split()[0],
        line["other_names"][0]["family_name"],
        line["previous_addresses"][0]["postcode"],
    ]


def _context(principal: Principal) -> AuditContext:
    return AuditContext(
        principal=principal, request_id=uuid.uuid4().hex, client_address="192.0.2.7"
    )


def _live_through_everything(life: LifeStack, line: dict[str, Any], tmp_path: Path) -> None:
    """The child's life: loaded, shielded, extended, searched, viewed, fed, noticed, cached."""
    identifier, authority = line["identifier"], line["local_authority"]["code"]
    life.load(tmp_path, [line])
    manager = new_account(life.app, life.settings, roles=[Role.LA_MANAGER], authorities=[authority])
    worker = new_account(
        life.app, life.settings, roles=[Role.PRACTITIONER], authorities=[authority]
    )
    managing = Principal(
        user_id=None,
        username=manager.username,
        roles=frozenset({Role.LA_MANAGER}),
        authorities=frozenset({authority}),
    )
    practitioner = Principal(
        user_id=None, username=worker.username, roles=frozenset({Role.PRACTITIONER})
    )
    life.reindex()
    # Searches and views, as the services audit them.
    ranker = load_ranker(life.settings.match_model_path)
    with Session(life.app) as session, session.begin():
        found = run_search(
            session=session,
            es=life.client,
            alias=life.alias,
            context=_context(practitioner),
            request=SearchRequest(
                given_name=line["given_names"].split()[0],
                family_name=line["family_name"],
                date_of_birth=BORN,
            ),
            ranker=ranker,
        )
    assert [result.identifier for result in found.results] == [identifier]
    with Session(life.app) as session, session.begin():
        view_child(session=session, context=_context(managing), identifier=identifier)
        child = get_child(session=session, identifier=identifier)
        assert child is not None
        apply_shield(
            session=session, context=_context(managing), child=child, reason="Risk from a relative"
        )
        grant_shield_access(
            session=session,
            context=_context(managing),
            child=child,
            username=worker.username,
            reason=f"Allocated worker of {line['given_names']}",
        )
        record_extension(
            session=session,
            context=_context(managing),
            child=child,
            reason="care_leaver",
            consent_given_on=date(2027, 5, 1),
            review_on=REVIEW,
            today=date(2027, 5, 2),
        )
        # A search that showed the child and another: the other stays in the audit.
        record_audit(
            session=session,
            context=_context(practitioner),
            event=AuditEventType.SEARCH,
            details={
                "criteria": {"family_name": line["family_name"], "postcode": "LS6"},
                "result_count": 2,
                "identifiers_shown": [identifier, OTHER],
                "too_many_matches": False,
            },
        )
        correct_field(
            session=session,
            context=_context(managing),
            child=child,
            field=CorrectedField.NAME,
            value={
                "given_names": f"{line['given_names'].split()[0]} {_corrected(line)}",
                "family_name": line["family_name"],
            },
            reason=f"Birth certificate seen: {line['family_name']} spelt as registered",
            today=date(2027, 5, 2),
        )
        report = build_report(
            session=session,
            child=child,
            produced_by=manager.username,
            organisation=None,
            include_location=True,
        )
        audit_report(
            session=session,
            context=_context(managing),
            child=child,
            report=report,
            formats=["json", "pdf"],
        )
        child_id = child.id
    # Feed provenance, a notice, a saved search, a CMS answer kept for replay, a dead letter.
    token = session_token(life.app, worker.username)
    new_api_key(life.app, authority=authority)
    record = {"family_name": line["family_name"], "date_of_birth": line["date_of_birth"]}
    with life.app.begin() as connection:
        statements = [
            (
                "INSERT INTO feed_record (source, record_id, version, as_of, outcome, child_id, "
                "record) VALUES ('births', 'B-1', 1, DATE '2009-05-20', 'linked', :child, "
                "CAST(:record AS jsonb))",
                {"record": json.dumps(record)},
            ),
            (
                "INSERT INTO child_field_source (child_id, field, source, record_id, as_of) "
                "VALUES (:child, 'gender', 'births', 'B-1', DATE '2009-05-20')",
                {},
            ),
            (
                "INSERT INTO child_source_identifier (child_id, kind, value, source) "
                "VALUES (:child, 'birth_entry', 'BE-0001', 'births')",
                {},
            ),
            (
                "INSERT INTO notification (id, kind, child_id, details) VALUES "
                "(gen_random_uuid(), 'involvement_started', :child, "
                "jsonb_build_object('child_name', CAST(:name AS text)))",
                {"name": line["family_name"]},
            ),
            (
                "INSERT INTO saved_search (token, session_id, criteria) SELECT "
                "'token-of-the-saved-search-' || id, id, "
                "jsonb_build_object('family_name', CAST(:name AS text), "
                "'date_of_birth', '2009-05-17') FROM user_session WHERE token_hash = :hash",
                {
                    "name": line["family_name"].lower(),
                    "hash": hashlib.sha256(token.encode()).digest(),
                },
            ),
            (
                "INSERT INTO idempotency_record (client_id, key, request_digest, status, body) "
                "SELECT max(id), 'replay-1', sha256('x'), 200, "
                "jsonb_build_object('identifier', CAST(:identifier AS text)) FROM api_client",
                {"identifier": identifier},
            ),
            (
                "INSERT INTO index_dead_letter (child_id, identifier, record_version, "
                "operation, reason, enqueued_at) "
                "VALUES (:child, :identifier, 1, 'upsert', 'test', now())",
                {"identifier": identifier},
            ),
        ]
        for statement, params in statements:
            connection.execute(text(statement), {"child": child_id, **params})
    life.drain()
    # A second build: the first index is kept for rollback, and holds the child too.
    life.reindex()
    life.seal()


def test_a_destroyed_child_leaves_no_trace_and_the_audit_still_verifies(
    life: LifeStack, child: dict[str, Any], tmp_path: Path
) -> None:
    identifier, values = child["identifier"], _values(child)
    assert life.rows_holding(values) == {}, "a value of the made-up child was there before it"
    _live_through_everything(life, child, tmp_path)
    before = life.rows_holding(values)
    assert {
        "child",
        "carer",
        "other_name",
        "previous_address",
        "shield_access",
        "feed_record",
        "notification",
        "saved_search",
        "idempotency_record",
        "child_correction",
        "index_dead_letter",
        "audit_event",
    } <= set(before), before
    assert len(life.documents_holding(values, identifier)) == 2
    assert len(life.family()) == 2
    child_id = life.scalar("SELECT id FROM child WHERE identifier = :i", i=identifier)
    keyed = life.rows_keyed_by_child(child_id)
    assert {"involvement", "shield", "child_extension", "child_field_source"} <= set(keyed)

    # Kept by the extension past 18, archived when its review date passed unrenewed.
    assert life.run(EIGHTEEN).archived == 0
    assert life.run(ARCHIVED_ON).archived == 1
    life.drain()
    with Session(life.app) as session, session.begin(), pytest.raises(NotFound):
        view_child(
            session=session,
            context=_context(
                Principal(user_id=None, username="p", roles=frozenset({Role.PRACTITIONER}))
            ),
            identifier=identifier,
        )
    # Opened from the guarded archive, words naming the child: the audit keeps the words.
    archivist = Principal(
        user_id=None,
        username="demo.archivist",
        roles=frozenset({Role.LA_MANAGER}),
        authorities=frozenset({child["local_authority"]["code"]}),
        archive_access=True,
    )
    with Session(life.app) as session, session.begin():
        opened = open_archived_record(
            session=session,
            context=_context(archivist),
            identifier=identifier,
            reason="section_47_enquiry",
            words=f"Enquiry about {child['family_name']}, born {child['date_of_birth']}",
        )
    assert opened.identifier == identifier
    assert "archive_opened" in life.scalar(
        "SELECT array_agg(event) FROM audit_event WHERE subject = :i", i=identifier
    )
    life.seal()
    audit_rows = life.scalar("SELECT count(*) FROM audit_event")

    assert life.run(date(2033, 9, 1)).destroyed == 0
    report = life.run(DESTROYED_ON)
    assert report.destroyed == 1 and report.audit_rows_forgotten >= 6
    life.seal()

    assert life.rows_holding(values) == {}
    assert life.documents_holding(values, identifier) == {}
    # Rows that name the child by its key alone (involvements, shields, extensions...) too.
    assert life.rows_keyed_by_child(child_id) == {}
    # The audit keeps that each event happened, and by whom: only the child's details went.
    assert life.scalar("SELECT count(*) FROM audit_event") == audit_rows + 2
    kept = life.scalar(
        "SELECT details FROM audit_event WHERE details -> 'identifiers_shown' ? :other",
        other=OTHER,
    )
    assert kept["identifiers_shown"] == [OTHER] and kept["result_count"] == 2
    assert kept["criteria"] == {"family_name": "[forgotten]", "postcode": "[forgotten]"}
    views = life.scalar("SELECT array_agg(DISTINCT username) FROM audit_event WHERE event = 'view'")
    assert len(views) == 2
    verified = life.verify()
    assert verified.ok, verified.problems
    assert verified.forgotten_rows == report.audit_rows_forgotten


def test_a_row_changed_after_forgetting_no_longer_verifies(life: LifeStack) -> None:
    """The forgotten rows fit only as attested: changing one again is caught."""
    with life.owner.begin() as connection:
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        connection.execute(
            text(
                "UPDATE audit_event SET username = 'someone.else' WHERE id = "
                "(SELECT min(event_id) FROM audit_redaction)"
            )
        )
        connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
    report = life.verify()
    assert [problem.misfit.value for problem in report.problems] == ["row changed"]


def test_the_application_can_neither_change_the_audit_nor_make_it_forget_a_living_child(
    life: LifeStack, tmp_path: Path
) -> None:
    from sqlalchemy.exc import DBAPIError

    line = child_line(72, seed=5)
    life.load(tmp_path, [line])
    with life.app.connect() as connection, pytest.raises(DBAPIError, match="permission denied"):
        connection.execute(text("UPDATE audit_event SET subject = NULL"))
    with life.app.connect() as connection, pytest.raises(DBAPIError, match="only a destroyed"):
        connection.execute(
            text("SELECT * FROM cp_audit_forget(CAST(:ids AS text[]))"),
            {"ids": [line["identifier"]]},
        )
