"""`lifecycle run --today`: archive on the 18th birthday (not a day before), extensions with
consent (to 25 at the latest, ended by an unrenewed review date), a leap-day birthday,
destruction six years on (not a day before), ended involvements leaving the record, a second
run changing nothing and an interrupted run resumed to the end."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Principal, Role
from db.audit import AuditContext
from db.child_records import get_child
from db.errors import Conflict, InvalidInput, NotFound
from lifecycle import record_extension
from searchapi.record_view import ARCHIVED_NOTICE, view_child
from tests.integration.lifecycle_support import LifeStack, life_stack
from tests.integration.load_support import child_line

_NUMBERS = itertools.count(1)


@pytest.fixture
def life(
    postgres_ready: None, elasticsearch_ready: None, settings: Settings
) -> Iterator[LifeStack]:
    yield from life_stack(settings)


def _line(born: date, **changes: Any) -> dict[str, Any]:
    line = child_line(next(_NUMBERS), seed=17)
    line["date_of_birth"] = born.isoformat()
    line["involvements"] = []
    line.update(changes)
    return line


def _status(life: LifeStack, identifier: str) -> str | None:
    status: str | None = life.scalar("SELECT status FROM child WHERE identifier = :i", i=identifier)
    return status


def _manager(life: LifeStack, authority: str) -> AuditContext:
    principal = Principal(
        user_id=None,
        username="m.manager",
        roles=frozenset({Role.LA_MANAGER}),
        authorities=frozenset({authority}),
    )
    return AuditContext(principal=principal, request_id="test", client_address="127.0.0.1")


def _extend(
    life: LifeStack,
    identifier: str,
    *,
    today: date,
    review_on: date,
    consent_given_on: date | None,
    reason: str = "care_leaver",
) -> None:
    with Session(life.app) as session, session.begin():
        child = get_child(session=session, identifier=identifier)
        assert child is not None and child.local_authority_code is not None
        record_extension(
            session=session,
            context=_manager(life, child.local_authority_code),
            child=child,
            reason=reason,
            consent_given_on=consent_given_on,
            review_on=review_on,
            today=today,
        )


def test_a_child_is_archived_on_the_18th_birthday_not_the_day_before(
    life: LifeStack, tmp_path: Path
) -> None:
    born = date(2009, 6, 15)
    line = _line(born)
    life.load(tmp_path, [line])
    eve = life.run(date(2027, 6, 14))
    assert (eve.archived, _status(life, line["identifier"])) == (0, "active")
    birthday = life.run(date(2027, 6, 15))
    assert (birthday.archived, _status(life, line["identifier"])) == (1, "archived")
    assert life.scalar("SELECT archived_on FROM child") == date(2027, 6, 15)
    after = life.run(date(2027, 6, 16))
    assert after.archived == 0


def test_a_child_past_18_when_the_job_first_runs_is_archived_that_day(
    life: LifeStack, tmp_path: Path
) -> None:
    line = _line(date(2009, 1, 3))
    life.load(tmp_path, [line])
    report = life.run(date(2027, 3, 1))
    assert report.archived == 1
    assert life.scalar("SELECT archived_on FROM child") == date(2027, 3, 1)


@pytest.mark.parametrize(
    ("today", "archived"),
    [
        pytest.param(date(2026, 2, 28), False, id="28-february-of-a-common-year-is-too-early"),
        pytest.param(date(2026, 3, 1), True, id="1-march-of-a-common-year-is-the-birthday"),
    ],
)
def test_a_leap_day_child_turns_18_on_1_march_of_a_common_year(
    life: LifeStack, tmp_path: Path, today: date, archived: bool
) -> None:
    line = _line(date(2008, 2, 29))
    life.load(tmp_path, [line])
    report = life.run(today)
    assert report.archived == int(archived)


def test_a_leap_day_child_turns_18_on_29_february_of_a_leap_year(
    life: LifeStack, tmp_path: Path
) -> None:
    line = _line(date(2012, 2, 29))
    life.load(tmp_path, [line])
    assert life.run(date(2030, 2, 28)).archived == 0
    assert life.run(date(2030, 3, 1)).archived == 1
    line = _line(date(2010, 2, 28))
    # 28 February 2010 + 18 years is 28 February 2028 (a leap year): the day itself.
    life.load(tmp_path, [line])
    assert life.run(date(2028, 2, 27)).archived == 0
    assert life.run(date(2028, 2, 28)).archived == 1


def test_an_extension_keeps_the_record_until_its_review_date_passes_unrenewed(
    life: LifeStack, tmp_path: Path
) -> None:
    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    _extend(
        life,
        line["identifier"],
        today=date(2027, 6, 1),
        consent_given_on=date(2027, 5, 20),
        review_on=date(2028, 6, 1),
    )
    kept = life.run(date(2027, 6, 15))
    assert (kept.archived, kept.extended_kept) == (0, 1)
    assert life.run(date(2028, 6, 1)).archived == 0
    lapsed = life.run(date(2028, 6, 2))
    assert (lapsed.archived, lapsed.extended_kept) == (1, 0)


def test_a_renewed_extension_keeps_the_record_on(life: LifeStack, tmp_path: Path) -> None:
    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    identifier = line["identifier"]
    _extend(
        life,
        identifier,
        today=date(2027, 6, 1),
        consent_given_on=date(2027, 6, 1),
        review_on=date(2028, 6, 1),
    )
    _extend(
        life,
        identifier,
        today=date(2028, 5, 1),
        consent_given_on=date(2028, 5, 1),
        review_on=date(2030, 6, 1),
        reason="special_educational_needs",
    )
    assert life.run(date(2029, 1, 1)).archived == 0
    assert _status(life, identifier) == "active"


def test_an_extension_ends_at_25_at_the_latest(life: LifeStack, tmp_path: Path) -> None:
    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    identifier = line["identifier"]
    with pytest.raises(InvalidInput, match="before the young person's 25th birthday"):
        _extend(
            life,
            identifier,
            today=date(2027, 6, 1),
            consent_given_on=date(2027, 6, 1),
            review_on=date(2034, 6, 15),
        )
    _extend(
        life,
        identifier,
        today=date(2027, 6, 1),
        consent_given_on=date(2027, 6, 1),
        review_on=date(2034, 6, 14),
    )
    assert life.run(date(2034, 6, 14)).archived == 0
    # Even with a review date still ahead in the table, the 25th birthday archives.
    life.scalar("UPDATE child_extension SET review_on = DATE '2036-01-01' RETURNING 1")
    assert life.run(date(2034, 6, 15)).archived == 1


def test_an_extension_without_the_young_persons_consent_is_refused(
    life: LifeStack, tmp_path: Path
) -> None:
    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    with pytest.raises(InvalidInput, match="explicit consent") as refused:
        _extend(
            life,
            line["identifier"],
            today=date(2027, 6, 1),
            consent_given_on=None,
            review_on=date(2028, 6, 1),
        )
    assert refused.value.field == "body.consent_given_on"
    assert life.scalar("SELECT count(*) FROM child_extension") == 0
    assert life.scalar("SELECT count(*) FROM audit_event WHERE event = 'extension_recorded'") == 0
    assert life.run(date(2027, 6, 15)).archived == 1


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        pytest.param(
            {"reason": "because"}, InvalidInput, "reason from the list", id="unlisted-reason"
        ),
        pytest.param(
            {"review_on": date(2027, 6, 1)}, InvalidInput, "after today", id="review-today"
        ),
        pytest.param(
            {"consent_given_on": date(2027, 6, 2)},
            InvalidInput,
            "cannot be in the future",
            id="consent-in-the-future",
        ),
    ],
)
def test_an_extension_out_of_the_rules_is_refused(
    life: LifeStack, tmp_path: Path, changes: dict[str, Any], error: type, message: str
) -> None:
    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    arguments: dict[str, Any] = {
        "today": date(2027, 6, 1),
        "consent_given_on": date(2027, 6, 1),
        "review_on": date(2028, 6, 1),
        **changes,
    }
    with pytest.raises(error, match=message):
        _extend(life, line["identifier"], **arguments)


def test_an_archived_record_cannot_be_extended_nor_viewed(life: LifeStack, tmp_path: Path) -> None:
    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    life.run(date(2027, 6, 15))
    with pytest.raises(Conflict, match="Only an active record"):
        _extend(
            life,
            line["identifier"],
            today=date(2027, 6, 16),
            consent_given_on=date(2027, 6, 16),
            review_on=date(2028, 6, 1),
        )
    context = _manager(life, line["local_authority"]["code"])
    with Session(life.app) as session, session.begin(), pytest.raises(NotFound) as refused:
        view_child(session=session, context=context, identifier=line["identifier"])
    # The notice names none of the record (no name, date, address or reason).
    assert refused.value.message == ARCHIVED_NOTICE
    for value in (line["family_name"], line["date_of_birth"], line["address"]["postcode"]):
        assert value not in refused.value.message
    audited = life.scalar(
        "SELECT details FROM audit_event WHERE event = 'view' AND subject = :i",
        i=line["identifier"],
    )
    assert audited["archived"] is True


def test_destruction_comes_six_years_after_archiving_not_a_day_before(
    life: LifeStack, tmp_path: Path
) -> None:
    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    life.run(date(2027, 6, 15))
    assert life.run(date(2033, 6, 14)).destroyed == 0
    assert _status(life, line["identifier"]) == "archived"
    report = life.run(date(2033, 6, 15))
    assert report.destroyed == 1
    assert life.scalar("SELECT count(*) FROM child") == 0


def test_an_archived_child_leaves_search_through_the_outbox(
    life: LifeStack, tmp_path: Path
) -> None:
    from searchapi.access import child_access
    from searchapi.search import search_body
    from searchapi.search_schemas import SearchRequest

    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    life.reindex()
    request = SearchRequest(
        family_name=line["family_name"],
        given_name=line["given_names"].split()[0],
        date_of_birth=date(2009, 6, 15),
    )
    principal = Principal(user_id=None, username="p", roles=frozenset({Role.PRACTITIONER}))
    access = child_access(principal, named_children=frozenset())

    def found() -> list[str]:
        body = search_body(request.criteria(), access)
        hits = life.client.search(index=life.alias, **body)["hits"]["hits"]
        return [hit["_id"] for hit in hits]

    assert line["identifier"] in found()
    life.run(date(2027, 6, 15))
    assert life.drain() >= 1
    assert line["identifier"] not in found()


def test_ended_involvements_leave_the_record_after_the_configured_years(
    life: LifeStack, tmp_path: Path
) -> None:
    line = child_line(next(_NUMBERS), seed=3, today=date(2026, 1, 1))
    line["date_of_birth"] = "2020-01-01"
    service = {"kind": "youth_service", "code": "YS-1", "name": "Youth service"}
    line["involvements"] = [
        {"service": service, "start_date": "2021-01-01", "end_date": "2024-02-29"},
        {"service": {**service, "code": "YS-2"}, "start_date": "2021-01-01"},
    ]
    life.load(tmp_path, [line])
    assert life.run(date(2026, 2, 28)).involvements_expired == 0
    assert life.run(date(2026, 3, 1)).involvements_expired == 1
    assert life.scalar("SELECT count(*) FROM involvement") == 1
    # Through the outbox: the child's record changed, so its document follows.
    assert life.scalar("SELECT count(*) FROM index_outbox") >= 1


def test_a_second_run_the_same_day_changes_nothing(life: LifeStack, tmp_path: Path) -> None:
    lines = [_line(date(2009, 6, 15)) for _ in range(3)]
    life.load(tmp_path, lines)
    first = life.run(date(2027, 6, 15))
    assert first.archived == 3 and not first.resumed
    versions = life.scalar("SELECT array_agg(record_version ORDER BY id) FROM child")
    second = life.run(date(2027, 6, 15))
    assert (second.archived, second.destroyed, second.involvements_expired) == (0, 0, 0)
    assert second.resumed and second.day_archived == 3
    assert life.scalar("SELECT array_agg(record_version ORDER BY id) FROM child") == versions
    # One audit row per run.
    assert life.scalar("SELECT count(*) FROM audit_event WHERE event = 'lifecycle_run'") == 2


class _Interrupted(RuntimeError):
    pass


def test_an_interrupted_run_resumed_finishes_the_job(life: LifeStack, tmp_path: Path) -> None:
    lines = [_line(date(2009, 6, 15) - timedelta(days=n % 30)) for n in range(25)]
    life.load(tmp_path, lines)
    life.run(date(2027, 6, 15))
    assert life.scalar("SELECT count(*) FROM child WHERE status = 'archived'") == 25

    def interrupt(step: str, number: int) -> None:
        if step == "destroy" and number == 2:
            raise _Interrupted("the machine went down between two batches")

    destroy_day = date(2033, 6, 15)
    with pytest.raises(_Interrupted):
        # One worker: the machine goes down after exactly two batches.
        life.run(destroy_day, batch_size=10, workers=1, after_batch=interrupt)
    # Two batches committed, the rest left: nothing half-done.
    assert life.scalar("SELECT count(*) FROM child") == 5
    assert life.scalar("SELECT destroyed FROM lifecycle_run WHERE run_on = :d", d=destroy_day) == 20
    assert (
        life.scalar("SELECT finished_at FROM lifecycle_run WHERE run_on = :d", d=destroy_day)
        is None
    )
    resumed = life.run(destroy_day, batch_size=10)
    assert (resumed.destroyed, resumed.day_destroyed, resumed.resumed) == (5, 25, True)
    assert life.scalar("SELECT count(*) FROM child") == 0
    assert life.scalar("SELECT count(*) FROM index_outbox") == 0
    again = life.run(destroy_day, batch_size=10)
    assert (again.destroyed, again.day_destroyed) == (0, 25)


def test_destroy_batches_side_by_side_destroy_every_child_once(
    life: LifeStack, tmp_path: Path
) -> None:
    born = date(2009, 7, 20)
    lines = [_line(born - timedelta(days=n % 40)) for n in range(60)]
    life.load(tmp_path, lines)
    life.run(date(2027, 7, 20))
    counted: list[tuple[str, int]] = []
    # Four workers, batches of 7: batches end in any order, each counted once.
    report = life.run(
        date(2033, 7, 20),
        batch_size=7,
        workers=4,
        after_batch=lambda step, number: counted.append((step, number)),
    )
    assert report.destroyed == 60 == report.day_destroyed
    destroys = sorted(number for step, number in counted if step == "destroy")
    assert destroys == list(range(1, len(destroys) + 1)) and len(destroys) >= 60 // 7
    assert life.scalar("SELECT count(*) FROM child") == 0
    assert life.scalar("SELECT count(*) FROM index_outbox") == 0


def test_a_failing_destroy_worker_stops_the_others(life: LifeStack, tmp_path: Path) -> None:
    lines = [_line(date(2009, 8, 20) - timedelta(days=n % 30)) for n in range(40)]
    life.load(tmp_path, lines)
    life.run(date(2027, 8, 20))

    def interrupt(step: str, number: int) -> None:
        if step == "destroy" and number == 1:
            raise _Interrupted("one worker's machine went down")

    destroy_day = date(2033, 8, 20)
    with pytest.raises(_Interrupted):
        life.run(destroy_day, batch_size=5, workers=2, after_batch=interrupt)
    # At most the batches in flight when it failed were committed; the run resumes the rest.
    left = life.scalar("SELECT count(*) FROM child")
    assert 40 - 3 * 5 <= left < 40
    resumed = life.run(destroy_day, batch_size=5, workers=2)
    assert resumed.day_destroyed == 40 and life.scalar("SELECT count(*) FROM child") == 0


def test_an_extension_recorded_as_the_run_archives_the_child_is_refused_not_lost(
    life: LifeStack, tmp_path: Path
) -> None:
    """The child read active, then archived by the day's run before the extension is written:
    the extension must see the archiving (409), not record itself on an archived record."""
    line = _line(date(2009, 6, 15))
    life.load(tmp_path, [line])
    with Session(life.app) as session, session.begin():
        child = get_child(session=session, identifier=line["identifier"])
        assert child is not None and child.local_authority_code is not None
        assert child.status == "active"
        assert life.run(date(2027, 6, 15)).archived == 1
        with pytest.raises(Conflict, match="Only an active record"):
            record_extension(
                session=session,
                context=_manager(life, child.local_authority_code),
                child=child,
                reason="care_leaver",
                consent_given_on=date(2027, 6, 1),
                review_on=date(2028, 6, 1),
                today=date(2027, 6, 15),
            )
    assert life.scalar("SELECT count(*) FROM child_extension") == 0
    assert _status(life, line["identifier"]) == "archived"
