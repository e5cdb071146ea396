"""The audit partitioned by month: rows land in their month, retention drops whole old months
as a signed link of the seal chain, verify reports the drop, and anything else is still caught.

Each test gets a schema of its own (tests.integration.audit_support): it tampers as the owner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.audit import AuditContext, AuditEventType, Misfit, record_audit
from db.audit.forget import attest, forget_children, pending_attestation
from db.audit.retention import MaintenanceSummary, list_partitions, run_audit_maintenance
from db.audit.seal import (
    GENESIS_DIGEST,
    HASHED_COLUMNS,
    SealHeader,
    encode_private_key,
    key_id,
    row_hash,
    seal_digest,
)
from db.audit.sealer import seal_once
from lifecycle.job import maintain_audit
from tests.integration.audit_support import AuditStack, audit_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(postgres_ready: None, settings: Settings) -> Iterator[AuditStack]:
    with audit_stack(settings, prefix="cp_test_retention") as made:
        yield made


def _settings(settings: Settings, stack: AuditStack, **changes: object) -> Settings:
    key = SecretStr(encode_private_key(stack.key))
    return settings.model_copy(update={"audit_seal_private_key": key, **changes})


def _at(stack: AuditStack, *moments: str) -> list[int]:
    """Audit rows written at the given times (as the application), their ids in order."""
    with Session(stack.app) as session, session.begin():
        return [
            int(
                session.execute(
                    text(
                        "INSERT INTO audit_event (occurred_at, event, outcome, username, details) "
                        "VALUES (:at, 'search', 'success', 'amara.okafor', :details) RETURNING id"
                    ),
                    {"at": moment, "details": json.dumps({"n": uuid.uuid4().hex})},
                ).scalar_one()
            )
            for moment in moments
        ]


def _home_of(stack: AuditStack, event_id: int) -> str:
    with stack.owner.connect() as connection:
        return str(
            connection.execute(
                text("SELECT tableoid::regclass::text FROM audit_event WHERE id = :id"),
                {"id": event_id},
            ).scalar_one()
        )


def _maintain(stack: AuditStack, settings: Settings, today: date) -> MaintenanceSummary:
    configured = _settings(settings, stack)
    return run_audit_maintenance(engine=stack.owner, today=today, settings=configured)


def test_rows_land_in_the_partition_of_their_utc_month_and_strays_get_theirs(
    stack: AuditStack, settings: Settings
) -> None:
    last_of_july, first_of_august, far = _at(
        stack, "2024-07-31T23:59:59.999999+00:00", "2024-08-01T00:30:00+01:00", "2031-05-02T10:00Z"
    )
    # No month was made for 2024 or 2031 yet: the default partition took the rows, and
    # maintenance gives each its month, moving the rows whole.
    assert _home_of(stack, far) == "audit_event_default"
    seal_once(engine=stack.app, key=stack.key)

    summary = _maintain(stack, settings, date(2031, 5, 20))

    assert _home_of(stack, last_of_july) == "audit_event_2024_07"
    # 00:30 at +01:00 is 23:30 UTC on 31 July.
    assert _home_of(stack, first_of_august) == "audit_event_2024_07"
    assert _home_of(stack, far) == "audit_event_2031_05"
    assert summary.created == [
        "audit_event_2024_07",
        "audit_event_2031_05",
        "audit_event_2031_06",
        "audit_event_2031_07",
        "audit_event_2031_08",
    ]
    report = stack.verify()
    assert report.ok and report.sealed_rows == 3, report.problems


def _seal_by_hand(stack: AuditStack) -> None:
    """One seal over every row, written as the sealer of revision 0021 would (its tables then
    had no drop links, so today's sealer cannot run there)."""
    columns = ", ".join(HASHED_COLUMNS)
    with stack.owner.begin() as connection:
        rows = connection.execute(text(f"SELECT {columns} FROM audit_event ORDER BY id"))
        entries = [(int(row["id"]), row_hash(dict(row))) for row in rows.mappings()]
        header = SealHeader(
            position=1,
            after_id=0,
            through_id=entries[-1][0],
            prev_digest=GENESIS_DIGEST,
            sealed_at=datetime.now(UTC),
            key_id=key_id(stack.key.public_key()),
        )
        digest = seal_digest(header, entries)
        connection.execute(
            text(
                "INSERT INTO audit_seal (position, after_event_id, through_event_id, entries,"
                " prev_digest, digest, signature, key_id, sealed_at) VALUES (1, 0, :through,"
                " :entries, :prev, :digest, :signature, :key_id, :sealed_at)"
            ),
            {
                "through": header.through_id,
                "entries": len(entries),
                "prev": GENESIS_DIGEST,
                "digest": digest,
                "signature": stack.key.sign(digest),
                "key_id": header.key_id,
                "sealed_at": header.sealed_at,
            },
        )
        for event_id, hashed in entries:
            connection.execute(
                text("INSERT INTO audit_seal_entry VALUES (:id, 1, :hash)"),
                {"id": event_id, "hash": hashed},
            )


def test_the_migration_keeps_every_row_its_id_and_its_seal(settings: Settings) -> None:
    with audit_stack(settings, prefix="cp_test_partition", revision="0021") as stack:
        ids = _at(stack, "2019-03-04T10:00Z", "2026-11-30T23:59:59.999999Z", "2024-07-04T08:00Z")
        _seal_by_hand(stack)
        with stack.owner.connect() as connection:
            before = connection.execute(
                text(f"SELECT {', '.join(HASHED_COLUMNS)} FROM audit_event ORDER BY id")
            ).all()

        stack.upgrade()

        with stack.owner.connect() as connection:
            after = connection.execute(
                text(f"SELECT {', '.join(HASHED_COLUMNS)} FROM audit_event ORDER BY id")
            ).all()
            kind = connection.execute(
                text("SELECT relkind FROM pg_class WHERE oid = 'audit_event'::regclass")
            ).scalar_one()
        assert [tuple(row) for row in after] == [tuple(row) for row in before]
        assert kind == "p"
        assert [_home_of(stack, event_id) for event_id in ids] == [
            "audit_event_2019_03",
            "audit_event_2026_11",
            "audit_event_2024_07",
        ]
        report = stack.verify()
        assert report.ok and (report.seals, report.sealed_rows) == (1, 3), report.problems
        # The identity goes on after the old table's last id, and the sealer after its seal.
        (later,) = _at(stack, "2026-12-01T09:00Z")
        assert later == ids[-1] + 1
        assert seal_once(engine=stack.app, key=stack.key)[0].position == 2
        assert stack.verify().ok


def test_maintenance_creates_the_coming_months_once(stack: AuditStack, settings: Settings) -> None:
    first = _maintain(stack, settings, date(2029, 1, 20))
    again = _maintain(stack, settings, date(2029, 1, 20))

    assert first.created == [
        "audit_event_2029_01",
        "audit_event_2029_02",
        "audit_event_2029_03",
        "audit_event_2029_04",
    ]
    assert again.created == []


def test_retention_drops_exactly_the_months_past_the_period_and_verify_reports_it(
    stack: AuditStack, settings: Settings
) -> None:
    january = _at(stack, "2018-01-05T09:00Z", "2018-01-28T09:00Z")
    kept_between = _at(stack, "2019-01-20T09:00Z")
    december = _at(stack, "2018-12-31T23:00Z")
    kept = _at(stack, "2019-01-02T09:00Z", "2026-01-10T09:00Z")
    with stack.owner.begin() as connection:
        connection.execute(text("SELECT cp_audit_ensure_partitions('2018-01-01', '2019-02-01')"))

    # On 15 January 2026, seven years back is 15 January 2019: December 2018 is wholly before
    # it and goes; January 2019 is not and stays. The rows are sealed first by maintenance.
    summary = _maintain(stack, settings, date(2026, 1, 15))

    dropped = summary.dropped
    assert summary.sealed_first == 6
    assert dropped is not None and dropped.rows == 3
    assert dropped.months[0] == "2018-01" and dropped.months[-1] == "2018-12"
    # The kept row of January 2019 lies between: the ranges go around it.
    assert dropped.id_ranges == [[january[0], january[1]], [december[0], december[0]]]
    assert kept_between[0] < december[0]
    partitions = list_partitions(session=Session(stack.owner))
    assert "audit_event_2018_12" not in partitions and "audit_event_2019_01" in partitions
    with stack.owner.connect() as connection:
        left = connection.execute(text("SELECT id FROM audit_event ORDER BY id")).scalars().all()
        retention_rows = connection.execute(
            text("SELECT subject, details FROM audit_event WHERE event = 'audit_retention'")
        ).all()
    assert set(kept + kept_between) <= set(left) and not set(january + december) & set(left)
    assert len(retention_rows) == 1 and retention_rows[0].subject.startswith("2018-01,")

    report = stack.verify()
    assert report.ok, report.problems
    assert report.dropped_rows == 3
    assert [drop["rows"] for drop in report.drops] == [3]
    assert report.drops[0]["trusted"] and report.drops[0]["dropped_by"].startswith("cli:")
    # A second run drops nothing more; the chain goes on with new seals after the drop link.
    assert _maintain(stack, settings, date(2026, 1, 15)).dropped is None
    _at(stack, "2026-01-11T09:00Z")
    seal_once(engine=stack.app, key=stack.key)
    assert stack.verify().ok


def test_a_row_removed_any_other_way_is_still_detected_after_a_drop(
    stack: AuditStack, settings: Settings
) -> None:
    _at(stack, "2017-03-01T09:00Z")
    kept = _at(stack, "2025-06-01T09:00Z", "2025-06-02T09:00Z")
    with stack.owner.begin() as connection:
        connection.execute(text("SELECT cp_audit_ensure_partitions('2017-03-01', '2025-06-01')"))
    _maintain(stack, settings, date(2026, 1, 15))

    stack.tamper("audit_event", f"DELETE FROM audit_event WHERE id = {kept[0]}")

    report = stack.verify()
    assert report.dropped_rows == 1
    assert [(p.misfit, p.event_id) for p in report.problems] == [(Misfit.ROW_REMOVED, kept[0])]


def test_a_drop_link_widened_afterwards_is_not_trusted(
    stack: AuditStack, settings: Settings
) -> None:
    gone = _at(stack, "2017-03-01T09:00Z")
    kept = _at(stack, "2025-06-01T09:00Z")
    with stack.owner.begin() as connection:
        connection.execute(text("SELECT cp_audit_ensure_partitions('2017-03-01', '2025-06-01')"))
    summary = _maintain(stack, settings, date(2026, 1, 15))
    position = summary.dropped.position

    # Someone removes a kept row and widens the drop's ranges to cover it: the link's digest
    # no longer fits, so no row counts as dropped and both are named.
    stack.tamper(
        "audit_event",
        f"DELETE FROM audit_event WHERE id = {kept[0]}",
    )
    stack.tamper(
        "audit_seal",
        "UPDATE audit_seal SET dropped = jsonb_set(dropped, '{id_ranges}', "
        f"'[[{gone[0]}, {kept[0]}]]') WHERE position = {position}",
    )

    report = stack.verify()
    misfits = {(p.misfit, p.event_id, p.seal_position) for p in report.problems}
    assert (Misfit.SEAL_CHANGED, None, position) in misfits
    assert (Misfit.ROW_REMOVED, gone[0], 1) in misfits
    assert (Misfit.ROW_REMOVED, kept[0], 1) in misfits
    assert report.dropped_rows == 0 and report.drops[0]["trusted"] is False


def test_a_month_with_a_changed_row_is_not_dropped(stack: AuditStack, settings: Settings) -> None:
    changed = _at(stack, "2017-03-01T09:00Z")
    with stack.owner.begin() as connection:
        connection.execute(text("SELECT cp_audit_ensure_partitions('2017-03-01', '2017-03-01')"))
    seal_once(engine=stack.app, key=stack.key)
    stack.tamper("audit_event", f"UPDATE audit_event SET username = 'x' WHERE id = {changed[0]}")

    summary = _maintain(stack, settings, date(2026, 1, 15))

    assert summary.dropped is None
    assert "does not fit its seal" in summary.refused[0]
    assert "audit_event_2017_03" in list_partitions(session=Session(stack.owner))
    problems = [(p.misfit, p.event_id) for p in stack.verify().problems]
    assert problems == [(Misfit.ROW_CHANGED, changed[0])]


def test_the_audit_stays_append_only_through_the_parent_and_every_partition(
    stack: AuditStack, settings: Settings
) -> None:
    ids = _at(stack, "2026-12-01T09:00Z")
    _maintain(stack, settings, date(2026, 12, 3))
    for statement, refusal in (
        (f"UPDATE audit_event SET username = 'x' WHERE id = {ids[0]}", "permission denied"),
        (f"DELETE FROM audit_event WHERE id = {ids[0]}", "permission denied"),
        (f"DELETE FROM audit_event_2026_12 WHERE id = {ids[0]}", "permission denied"),
        ("DROP TABLE audit_event_2026_12", "must be owner"),
        ("ALTER TABLE audit_event DETACH PARTITION audit_event_2026_12", "must be owner"),
        ("TRUNCATE audit_event", "permission denied"),
    ):
        with stack.app.connect() as connection, pytest.raises(DBAPIError, match=refusal):
            connection.execute(text(statement))
    # The owner is refused row changes too, by the trigger every partition carries (only
    # whole months go, by retention).
    for statement in (
        f"DELETE FROM audit_event_2026_12 WHERE id = {ids[0]}",
        f"UPDATE audit_event SET username = 'x' WHERE id = {ids[0]}",
        f"DELETE FROM audit_event WHERE id = {ids[0]}",
    ):
        with stack.owner.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))


def test_a_break_glass_review_must_name_an_existing_audit_row(stack: AuditStack) -> None:
    with stack.app.connect() as connection, pytest.raises(DBAPIError, match="does not exist"):
        connection.execute(
            text(
                "INSERT INTO break_glass_review (view_event_id, child_id, broken_by, reason) "
                "VALUES (987654, 1, 'someone', 'a reason given')"
            )
        )


def test_the_retention_command_prints_what_it_created_and_dropped(
    stack: AuditStack, settings: Settings
) -> None:
    _at(stack, "2017-03-01T09:00Z")
    with stack.owner.begin() as connection:
        connection.execute(text("SELECT cp_audit_ensure_partitions('2017-03-01', '2017-03-01')"))
    owner_url = stack.owner.url.render_as_string(hide_password=False)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": stack.app_url,
        "MIGRATION_DATABASE_URL": owner_url,
        "AUDIT_SEAL_PRIVATE_KEY": encode_private_key(stack.key),
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "contactpoint", "audit", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = run("retention", "--today", "2026-01-15")
    verified = run("verify")
    refused = run("retention", "--today", "15/01/2026")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "audit retention on 2026-01-15: kept 7 years, months before 2019-01-15 are dropped"
    )
    assert "created: audit_event_2026_01, audit_event_2026_02" in done.stdout
    assert "dropped: months 2017-03, 1 rows" in done.stdout
    assert verified.returncode == 0 and "1 sealed rows dropped by retention" in verified.stdout
    assert refused.returncode == 1 and "--today must be a date" in refused.stderr


def _attest(stack: AuditStack) -> None:
    """As each lifecycle run does: the forgotten rows attested by a lifecycle_run audit row
    carrying their digest."""
    with Session(stack.app) as session, session.begin():
        attestation = pending_attestation(session=session)
        run_id = record_audit(
            session=session,
            context=AuditContext.operator(),
            event=AuditEventType.LIFECYCLE_RUN,
            details={"forgotten_digest": attestation.digest.hex()},
        )
        attest(session=session, attestation=attestation, audit_event_id=run_id)


def _naming(stack: AuditStack, identifier: str, *moments: str) -> list[int]:
    with Session(stack.app) as session, session.begin():
        return [
            int(
                session.execute(
                    text(
                        "INSERT INTO audit_event (occurred_at, event, outcome, username, subject,"
                        " details) VALUES (:at, 'view', 'success', 'amara.okafor', :subject,"
                        " :details) RETURNING id"
                    ),
                    {
                        "at": moment,
                        "subject": identifier,
                        "details": json.dumps({"identifier": identifier, "shielded": False}),
                    },
                ).scalar_one()
            )
            for moment in moments
        ]


def test_a_month_whose_rows_forgot_a_destroyed_child_is_dropped_once_attested(
    stack: AuditStack, settings: Settings
) -> None:
    old, recent = _naming(stack, "CP0000000042", "2018-03-05T09:00Z", "2025-06-01T09:00Z")
    with stack.owner.begin() as connection:
        connection.execute(text("SELECT cp_audit_ensure_partitions('2018-01-01', '2025-07-01')"))
    seal_once(engine=stack.app, key=stack.key)
    with Session(stack.app) as session, session.begin():
        assert forget_children(session=session, identifiers=["CP0000000042"]) == 2

    # Forgotten but not yet attested: the month is kept, as a changed row's would be.
    waiting = _maintain(stack, settings, date(2026, 1, 15))
    assert waiting.dropped is None and "does not fit its seal" in waiting.refused[0]

    # Attested (as the lifecycle run does in the same transaction): the month goes.
    _attest(stack)
    dropped = _maintain(stack, settings, date(2026, 1, 15)).dropped
    assert dropped is not None and dropped.id_ranges == [[old, old]]
    report = stack.verify()
    assert report.ok, report.problems
    assert (report.dropped_rows, report.forgotten_rows) == (1, 1)
    with stack.owner.connect() as connection:
        subject = connection.execute(
            text("SELECT subject FROM audit_event WHERE id = :id"), {"id": recent}
        ).scalar_one()
    assert subject is None


def test_verify_trusts_a_dropped_attestation_only_inside_a_drop(
    stack: AuditStack, settings: Settings
) -> None:
    _naming(stack, "CP0000000043", "2018-03-05T09:00Z")
    with stack.owner.begin() as connection:
        connection.execute(text("SELECT cp_audit_ensure_partitions('2018-01-01', '2018-05-01')"))
    seal_once(engine=stack.app, key=stack.key)
    with Session(stack.app) as session, session.begin():
        assert forget_children(session=session, identifiers=["CP0000000043"]) == 1
        attestation = pending_attestation(session=session)
        # The attesting run written in the same old month: retention drops both together.
        run_id = int(
            session.execute(
                text(
                    "INSERT INTO audit_event (occurred_at, event, outcome, username, details)"
                    " VALUES ('2018-03-06T02:30Z', 'lifecycle_run', 'success', 'cli:root', :d)"
                    " RETURNING id"
                ),
                {"d": json.dumps({"forgotten_digest": attestation.digest.hex()})},
            ).scalar_one()
        )
        attest(session=session, attestation=attestation, audit_event_id=run_id)
    assert stack.verify().ok
    dropped = _maintain(stack, settings, date(2026, 1, 15)).dropped
    assert dropped is not None and dropped.rows == 2
    report = stack.verify()
    assert report.ok, report.problems
    # An attestation naming a row that is gone without a drop is still caught.
    with Session(stack.app) as session, session.begin():
        session.execute(
            text("UPDATE audit_redaction SET attested_by = :gone"), {"gone": run_id + 10_000}
        )
    assert Misfit.ATTESTATION_BROKEN in {problem.misfit for problem in stack.verify().problems}


def test_the_daily_maintenance_needs_the_seal_key_and_runs_as_the_owner(
    stack: AuditStack, settings: Settings, tmp_path: Path
) -> None:
    # No key set and no local stack's secrets to fall back on: a deployment without a key.
    unkeyed = settings.model_copy(update={"audit_seal_private_key": None, "var_dir": tmp_path})
    assert unkeyed.effective_seal_private_key() is None
    assert maintain_audit(settings=unkeyed, today=date(2026, 1, 15), owner=stack.owner) is None
    _at(stack, "2018-02-01T09:00Z")
    summary = maintain_audit(
        settings=_settings(settings, stack), today=date(2026, 1, 15), owner=stack.owner
    )
    assert summary is not None and summary.dropped is not None and summary.dropped.rows == 1
    assert stack.verify().ok
