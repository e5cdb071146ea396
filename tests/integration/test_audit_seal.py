"""The audit's seals make a later change evident, and audit rows carry their actor's own names.

Each test gets a schema of its own: the tampering done here as the schema owner must not reach
the suite's shared audit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Principal
from db.audit import (
    AuditContext,
    AuditEventType,
    Misfit,
    Outcome,
    VerifyReport,
    record_audit,
    seal_once,
)
from db.audit.seal import encode_private_key, load_private_key, row_hash
from db.audit.sealer import is_settled, run_sealer, seal_through, take_candidate
from tests.integration.audit_support import AuditStack, audit_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(postgres_ready: None, settings: Settings) -> Iterator[AuditStack]:
    with audit_stack(settings) as made:
        yield made


def _record(session: Session, name: str = "amara.okafor", **changes: object) -> int:
    actor = Principal(user_id=None, username=name, roles=frozenset())
    return record_audit(
        session=session,
        event=AuditEventType.SEARCH,
        context=AuditContext(principal=actor, request_id=uuid.uuid4().hex, client_address=None),
        details={"criteria": {"family_name": "Smith"}, "result_count": 1},
        **changes,  # type: ignore[arg-type]
    )


def _write(engine: Engine, count: int) -> list[int]:
    with Session(engine) as session, session.begin():
        return [_record(session) for _ in range(count)]


def _rolled_back(engine: Engine) -> int:
    """The id of an audit row whose transaction rolled back: a gap."""
    with Session(engine) as session:
        event_id = _record(session)
        session.rollback()
    return event_id


def _only_problem(report: VerifyReport) -> tuple[Misfit, int | None, int | None]:
    assert report.problem_count == 1, report.problems
    problem = report.problems[0]
    return problem.misfit, problem.event_id, problem.seal_position


def _cli(stack: AuditStack, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": stack.app_url,
        "AUDIT_SEAL_PRIVATE_KEY": encode_private_key(stack.key),
    }
    return subprocess.run(
        [sys.executable, "-m", "contactpoint", "audit", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_verify_passes_on_an_untouched_audit_with_gaps_and_reports_newer_rows_unsealed(
    stack: AuditStack,
) -> None:
    first = _write(stack.app, 3)
    _rolled_back(stack.app)
    second = _write(stack.app, 2)
    seals = seal_once(engine=stack.app, key=stack.key)
    later = _write(stack.app, 2)

    report = stack.verify()

    assert report.ok, report.problems
    assert [seal.entries for seal in seals] == [5]
    assert (report.seals, report.sealed_rows) == (1, len(first) + len(second))
    assert (report.unsealed_rows, report.first_unsealed_id) == (2, later[0])
    assert seal_once(engine=stack.app, key=stack.key)[0].position == 2
    assert stack.verify().ok


def test_the_local_stack_has_a_generated_seal_key(settings: Settings, postgres_ready: None) -> None:
    encoded = settings.effective_seal_private_key()
    assert encoded is not None
    assert load_private_key(encoded).public_key() is not None


def test_verify_names_the_row_updated_by_the_schema_owner_with_the_trigger_disabled(
    stack: AuditStack,
) -> None:
    ids = _write(stack.app, 4)
    sealed = _cli(stack, "seal", "--once")
    assert sealed.stdout.strip() == f"seal 1: ids 1..{ids[-1]}, 4 rows", sealed.stderr
    untouched = _cli(stack, "verify")
    assert untouched.returncode == 0, untouched.stderr
    assert untouched.stdout.startswith("OK: 1 seals, 4 sealed rows fit")

    stack.tamper("audit_event", f"UPDATE audit_event SET username = 'someone' WHERE id = {ids[2]}")

    assert _only_problem(stack.verify()) == (Misfit.ROW_CHANGED, ids[2], 1)
    tampered = _cli(stack, "verify")
    assert tampered.returncode == 1
    assert tampered.stdout.splitlines()[0] == (
        f"row changed: row {ids[2]} was changed after seal 1 covered it"
    )
    # The trigger is on again: the audit still refuses changes.
    with stack.owner.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(f"DELETE FROM audit_event WHERE id = {ids[0]}"))


def test_verify_names_the_row_deleted_by_the_schema_owner(stack: AuditStack) -> None:
    ids = _write(stack.app, 3)
    seal_once(engine=stack.app, key=stack.key)

    stack.tamper("audit_event", f"DELETE FROM audit_event WHERE id = {ids[1]}")

    assert _only_problem(stack.verify()) == (Misfit.ROW_REMOVED, ids[1], 1)


def test_verify_names_a_row_inserted_into_a_sealed_range(stack: AuditStack) -> None:
    _write(stack.app, 2)
    gap = _rolled_back(stack.app)
    _write(stack.app, 2)
    seal_once(engine=stack.app, key=stack.key)

    with stack.owner.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_event (id, occurred_at, event, outcome, username) "
                "OVERRIDING SYSTEM VALUE "
                "VALUES (:id, now() - interval '1 hour', 'view', 'success', 'amara.okafor')"
            ),
            {"id": gap},
        )

    assert _only_problem(stack.verify()) == (Misfit.ROW_INSERTED, gap, 1)


@pytest.mark.parametrize(
    ("statement", "misfit"),
    [
        ("UPDATE audit_seal SET signature = :forged WHERE position = 2", Misfit.BAD_SIGNATURE),
        (
            "UPDATE audit_seal SET sealed_at = sealed_at - interval '1 day' WHERE position = 2",
            Misfit.SEAL_CHANGED,
        ),
        ("UPDATE audit_seal SET key_id = 'feedfacefeedface' WHERE position = 2", None),
    ],
    ids=["forged-signature", "changed-seal", "unknown-key"],
)
def test_verify_finds_a_forged_signature_or_a_changed_seal(
    stack: AuditStack, statement: str, misfit: Misfit | None
) -> None:
    _write(stack.app, 2)
    seal_once(engine=stack.app, key=stack.key)
    _write(stack.app, 2)
    seal_once(engine=stack.app, key=stack.key)
    forged = Ed25519PrivateKey.generate().sign(bytes(32))

    with stack.owner.begin() as connection:
        connection.execute(text("ALTER TABLE audit_seal DISABLE TRIGGER USER"))
        connection.execute(text(statement.replace(":forged", f"'\\x{forged.hex()}'::bytea")))
        connection.execute(text("ALTER TABLE audit_seal ENABLE TRIGGER USER"))

    report = stack.verify()
    assert not report.ok
    if misfit is None:
        # A new key id changes the digest and names a key nobody trusts.
        assert {problem.misfit for problem in report.problems} == {
            Misfit.SEAL_CHANGED,
            Misfit.BAD_SIGNATURE,
        }
        assert "not trusted" in report.problems[-1].message
    else:
        assert report.problems[0].misfit == misfit
    assert {problem.seal_position for problem in report.problems} == {2}


def test_a_row_and_its_entry_changed_together_break_the_seal(stack: AuditStack) -> None:
    ids = _write(stack.app, 2)
    seal_once(engine=stack.app, key=stack.key)
    stack.tamper("audit_event", f"UPDATE audit_event SET outcome = 'failure' WHERE id = {ids[0]}")
    with Session(stack.app) as session:
        row = session.execute(
            text("SELECT * FROM audit_event WHERE id = :id"), {"id": ids[0]}
        ).mappings()
        rehashed = row_hash(dict(row.one()))
    stack.tamper(
        "audit_seal_entry",
        f"UPDATE audit_seal_entry SET row_hash = '\\x{rehashed.hex()}'::bytea "
        f"WHERE event_id = {ids[0]}",
    )

    assert _only_problem(stack.verify()) == (Misfit.SEAL_CHANGED, None, 1)


def test_rows_committed_out_of_id_order_are_all_sealed(stack: AuditStack) -> None:
    with Session(stack.app) as slow, Session(stack.app) as fast:
        lower = _record(slow)
        higher = _record(fast)
        fast.commit()
        with Session(stack.app) as sealer, sealer.begin():
            candidate = take_candidate(session=sealer)
        assert candidate is not None and candidate.through_id == higher
        with Session(stack.app) as sealer, sealer.begin():
            # The row with the lower id may still commit: not yet.
            assert not is_settled(session=sealer, candidate=candidate)
        slow.commit()
    with Session(stack.app) as sealer, sealer.begin():
        assert is_settled(session=sealer, candidate=candidate)
        (seal,) = seal_through(session=sealer, key=stack.key, through_id=candidate.through_id)

    report = stack.verify()
    assert report.ok, report.problems
    assert (seal.entries, report.sealed_rows, report.unsealed_rows) == (2, 2, 0)
    assert lower < higher


class _Rounds(threading.Event):
    """A stop signal that is set after `rounds` rounds of the sealer, instead of after a time."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.left = rounds

    def wait(self, timeout: float | None = None) -> bool:
        self.left -= 1
        if self.left <= 0:
            self.set()
        return self.is_set()


def test_the_sealer_loop_seals_in_the_round_after_it_saw_the_rows(stack: AuditStack) -> None:
    ids = _write(stack.app, 3)

    run_sealer(engine=stack.app, key=stack.key, interval_s=0, stop=_Rounds(1))
    assert stack.verify().unsealed_rows == 3
    run_sealer(engine=stack.app, key=stack.key, interval_s=0, stop=_Rounds(2))

    report = stack.verify()
    assert report.ok and (report.sealed_rows, report.sealed_through) == (3, ids[-1])


@pytest.mark.parametrize("table", ["audit_seal", "audit_seal_entry"])
def test_the_seals_are_append_only_for_the_application_and_the_owner(
    stack: AuditStack, table: str
) -> None:
    _write(stack.app, 1)
    seal_once(engine=stack.app, key=stack.key)
    with stack.app.connect() as connection, pytest.raises(DBAPIError, match="permission denied"):
        connection.execute(text(f"DELETE FROM {table}"))
    with stack.owner.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(f"DELETE FROM {table}"))
    assert stack.verify().ok


def _new_user(engine: Engine, username: str) -> int:
    with engine.begin() as connection:
        user_id: int = connection.execute(
            text(
                "INSERT INTO app_user (username, roles, password_hash, pin_hash, totp_secret) "
                "VALUES (:name, ARRAY['practitioner'], 'x', 'x', 'x') RETURNING id"
            ),
            {"name": username},
        ).scalar_one()
    return user_id


def _new_client(engine: Engine, name: str) -> int:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO local_authority (code, name) VALUES ('E70000001', 'Testshire')")
        )
        client_id: int = connection.execute(
            text(
                "INSERT INTO api_client (name, key_id, key_hash, roles, local_authority_code) "
                "VALUES (:name, 'k1', sha256('k'::bytea), ARRAY['practitioner'], 'E70000001') "
                "RETURNING id"
            ),
            {"name": name},
        ).scalar_one()
    return client_id


def test_the_application_cannot_write_an_audit_row_under_another_users_name(
    stack: AuditStack,
) -> None:
    user_id = _new_user(stack.app, "amara.okafor")
    client_id = _new_client(stack.app, "Leeds CMS")
    honest = Principal(
        user_id=user_id,
        username="amara.okafor",
        roles=frozenset(),
        client_id=client_id,
        client_name="Leeds CMS",
    )
    with Session(stack.app) as session, session.begin():
        record_audit(
            session=session,
            event=AuditEventType.SEARCH,
            context=AuditContext(principal=honest, request_id=None, client_address=None),
        )
    for forged, refusal in [
        (Principal(user_id=user_id, username="demo.admin", roles=frozenset()), "user's username"),
        (
            Principal(
                user_id=user_id,
                username="amara.okafor",
                roles=frozenset(),
                client_id=client_id,
                client_name="Kent CMS",
            ),
            "client's name",
        ),
    ]:
        with Session(stack.app) as session, pytest.raises(DBAPIError, match=refusal):
            record_audit(
                session=session,
                event=AuditEventType.SEARCH,
                context=AuditContext(principal=forged, request_id=None, client_address=None),
            )
    # Rows without an id (a failed sign-in) still carry the name typed.
    with Session(stack.app) as session, session.begin():
        record_audit(
            session=session,
            event=AuditEventType.SIGN_IN,
            context=AuditContext(principal=None, request_id=None, client_address=None),
            outcome=Outcome.FAILURE,
            username="nobody.known",
        )
