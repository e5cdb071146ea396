"""The managers' correction pages without a browser: the record's corrections section and subject
access links, the form and its errors, and the home page's queue of the feeds' changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy.orm import Session

from db.access import Role
from db.audit import AuditContext
from db.child_records import get_child
from db.corrections import CorrectedField, correct_field
from feeds.apply import Writer
from feeds.linking import Decision, Outcome
from feeds.records import FeedRecord, Source
from tests.integration.access_support import new_authority
from tests.integration.pages_support import HTML, new_username, post_form, sign_in
from tests.integration.search_support import Kid, Population, audit_rows, build_population

pytestmark = pytest.mark.integration
REASON = "Checked against the birth certificate"


@pytest.fixture(scope="module")
def population(
    engine: Any, elasticsearch_ready: None, settings: Any, tmp_path_factory: Any
) -> Iterator[Population]:
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=300,
        seed=91,
    )


def _kid(population: Population, index: int) -> Kid:
    return [k for k in population.kids if k.status == "active" and not k.shielded][index]


def test_a_manager_corrects_a_name_on_the_form_and_the_record_shows_the_history(
    pages: TestClient, population: Population
) -> None:
    kid = _kid(population, 0)
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    record = pages.get(f"/children/{kid.identifier}", headers=HTML).text
    assert 'id="corrections-heading"' in record and 'id="no-corrections"' in record
    assert f"/v1/children/{kid.identifier}/subject-access.pdf" in record
    form = pages.get(f"/children/{kid.identifier}/correct?field=name", headers=HTML)
    assert form.status_code == 200 and "Correct the name" in form.text
    assert f'value="{escape(kid.family_name)}"' in form.text

    path = f"/children/{kid.identifier}/correct"
    empty = post_form(
        pages, path, token, field="name", given_names=kid.given_names, family_name="", reason=""
    )
    assert empty.status_code == 400
    assert "There is a problem" in empty.text
    assert "Enter the family name" in empty.text and 'href="#reason"' in empty.text

    done = post_form(
        pages,
        path,
        token,
        field="name",
        given_names=kid.given_names,
        family_name="Marchbanks",
        reason=REASON,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/children/{kid.identifier}?changed=corrected"
    after = pages.get(done.headers["location"], headers=HTML).text
    assert "The correction is recorded" in after
    assert 'id="corrections"' in after and str(escape(kid.family_name)) in after
    assert "Marchbanks" in after and REASON in after
    (row,) = audit_rows(population.engine, username=manager, event="child_corrected")
    assert row.details["field"] == "name"


def test_the_date_form_says_which_date_is_not_real(
    pages: TestClient, population: Population
) -> None:
    kid = _kid(population, 1)
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    path = f"/children/{kid.identifier}/correct"
    for typed, problem in (
        ("31/2/2020", "Enter the date of birth as a real date"),
        ((date.today() + timedelta(days=40)).strftime("%d/%m/%Y"), "not in the future"),
    ):
        answer = post_form(
            pages, path, token, field="date_of_birth", date_of_birth=typed, reason=REASON
        )
        assert answer.status_code == 400, typed
        assert problem in answer.text and 'href="#date_of_birth"' in answer.text
    unknown = pages.get(f"/children/{kid.identifier}/correct?field=nickname", headers=HTML)
    assert unknown.status_code == 422 and "Choose what to correct" in unknown.text
    tampered = post_form(pages, path, token, field="gender", reason=REASON)
    assert tampered.status_code == 422 and "Choose what to correct" in tampered.text
    same = post_form(
        pages,
        path,
        token,
        field="date_of_birth",
        date_of_birth=kid.date_of_birth.strftime("%d/%m/%Y"),
        reason=REASON,
    )
    assert same.status_code == 400 and "already holds this value" in same.text
    assert not audit_rows(population.engine, username=manager, event="child_corrected")


def test_a_practitioner_sees_no_corrections_nor_subject_access_and_is_refused_the_form(
    pages: TestClient, population: Population
) -> None:
    kid = _kid(population, 2)
    practitioner = new_username(population, Role.PRACTITIONER, authorities=(kid.authority,))
    sign_in(pages, population, practitioner)
    record = pages.get(f"/children/{kid.identifier}", headers=HTML).text
    assert "corrections-heading" not in record and "subject-access" not in record
    refused = pages.get(f"/children/{kid.identifier}/correct", headers=HTML)
    assert refused.status_code == 403
    other = new_username(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    sign_in(pages, population, other)
    assert "corrections-heading" not in pages.get(f"/children/{kid.identifier}", headers=HTML).text
    assert pages.get(f"/children/{kid.identifier}/correct", headers=HTML).status_code == 403


def test_the_home_page_lists_a_feeds_change_and_the_manager_rejects_it(
    pages: TestClient, population: Population
) -> None:
    kid = _kid(population, 3)
    with Session(population.engine) as session, session.begin():
        child = get_child(session=session, identifier=kid.identifier)
        assert child is not None
        correct_field(
            session=session,
            context=AuditContext.operator(),
            child=child,
            field=CorrectedField.NAME,
            value={"given_names": kid.given_names, "family_name": "Corrected"},
            reason=REASON,
            today=date(2026, 11, 1),
        )
        record = FeedRecord(
            source=Source.BIRTHS,
            record_id="E08000035/2026/9001",
            version=2,
            as_of=date(2026, 11, 20),
            given_names=kid.given_names,
            family_name="Reregistered",
            date_of_birth=kid.date_of_birth,
        )
        Writer(session).apply(
            record, Decision(outcome=Outcome.LINKED, reason="test", identifier=kid.identifier)
        )
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    home = pages.get("/", headers=HTML).text
    assert 'id="corrections-waiting"' in home and "Reregistered" in home
    found = home.split('id="waiting-')[1].split('"')[0]
    done = post_form(pages, f"/corrections/waiting/{found}", token, decision="rejected")
    assert done.status_code == 303 and done.headers["location"] == "/?decided=correction-rejected"
    after = pages.get(done.headers["location"], headers=HTML).text
    assert "Rejected: the correction stands." in after and 'id="no-corrections-waiting"' in after
    bad = post_form(pages, f"/corrections/waiting/{found}", token, decision="perhaps")
    assert bad.status_code == 422
