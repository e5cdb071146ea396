"""The audit's retention at scale: seal an audit of --rows rows spread over --years years, drop
the months past --retention years, and verify the chain afterwards; seconds and rows/s of each.

Runs in a schema of its own (dropped at the end), on the configured PostgreSQL; prints the
header line, then one line per step; --json PATH writes the header and the figures.

    .venv/bin/python benchmarks/audit_retention.py --rows 300000 --years 9 --retention 7
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import create_engine, make_url, pool, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks._header import pg_setting, print_header, write_report  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from db.audit import seal_once, trusted_keys, verify_audit  # noqa: E402
from db.audit.retention import run_audit_maintenance  # noqa: E402
from db.audit.seal import encode_private_key  # noqa: E402
from db.migrate import upgrade  # noqa: E402

_FILL = """
INSERT INTO audit_event (occurred_at, event, outcome, username, subject, details)
SELECT CAST(:start AS timestamptz) + (i - 1) * CAST(:step AS interval), 'search', 'success',
       'bench.user' || (i % 97), NULL,
       jsonb_build_object('criteria', jsonb_build_object('family_name', 'Smith'),
                          'result_count', i % 7, 'identifiers_shown', jsonb_build_array())
FROM generate_series(1, :rows) AS i
"""


def _in_schema(url: str, schema: str) -> str:
    options = {"options": f"-csearch_path={schema}"}
    return make_url(url).update_query_dict(options).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--years", type=int, default=9, help="The audit's span, ending today.")
    parser.add_argument("--retention", type=int, default=7, help="AUDIT_RETENTION_YEARS.")
    parser.add_argument("--json", type=Path, help="Write the header and figures here.")
    args = parser.parse_args()
    settings = get_settings()
    key = Ed25519PrivateKey.generate()
    configured = settings.model_copy(
        update={
            "audit_seal_private_key": SecretStr(encode_private_key(key)),
            "audit_retention_years": args.retention,
        }
    )
    schema = f"cp_bench_retention_{uuid.uuid4().hex[:8]}"
    owner_url = settings.effective_migration_url()
    admin = create_engine(owner_url, poolclass=pool.NullPool)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    owner = create_engine(_in_schema(owner_url, schema), poolclass=pool.NullPool)
    today = datetime.now(UTC).date()
    start = date(today.year - args.years, today.month, 1)
    try:
        upgrade(url=_in_schema(owner_url, schema))
        # Every run builds its audit afresh, in a schema of its own.
        fields = print_header(
            "audit_retention.py",
            children=0,
            fields={
                "data": "built",
                "rows": args.rows,
                "years": args.years,
                "retention": args.retention,
                "today": today.isoformat(),
                "pg_shared_buffers": pg_setting(owner, "shared_buffers"),
            },
        )
        span = datetime.now(UTC) - datetime(start.year, start.month, 1, tzinfo=UTC)
        step = f"{span.total_seconds() / args.rows:.6f} seconds"
        with owner.begin() as connection:
            connection.execute(
                text("SELECT cp_audit_ensure_partitions(:start, :today)"),
                {"start": start, "today": today},
            )
            began = time.perf_counter()
            connection.execute(text(_FILL), {"start": start, "step": step, "rows": args.rows})
        filled = time.perf_counter() - began
        print(f"insert: {args.rows:,} rows in {filled:.1f} s ({args.rows / filled:,.0f} rows/s)")
        began = time.perf_counter()
        sealed = sum(seal.entries for seal in seal_once(engine=owner, key=key))
        took = time.perf_counter() - began
        print(f"seal: {sealed:,} rows in {took:.1f} s ({sealed / took:,.0f} rows/s)")
        began = time.perf_counter()
        summary = run_audit_maintenance(engine=owner, today=today, settings=configured)
        took = took_retention = time.perf_counter() - began
        dropped = summary.dropped
        rows = dropped.rows if dropped else 0
        months = len(dropped.months) if dropped else 0
        print(
            f"retention: {months} months, {rows:,} rows dropped in {took:.2f} s "
            f"({rows / took:,.0f} rows/s), {len(summary.created)} months created, "
            f"refused {summary.refused or 'none'}"
        )
        keys = trusted_keys(private_key=encode_private_key(key), public_keys=[])
        began = time.perf_counter()
        with Session(owner) as session, session.begin():
            report = verify_audit(session=session, keys=keys)
        took = time.perf_counter() - began
        checked = report.sealed_rows + report.dropped_rows
        write_report(
            args.json,
            {
                "header": fields,
                "schema": schema,
                "inserted": args.rows,
                "sealed": sealed,
                "months_dropped": months,
                "rows_dropped": rows,
                "refused": summary.refused,
                "retention_seconds": took_retention,
                "verify_ok": report.ok,
                "verify_sealed_rows": report.sealed_rows,
                "verify_dropped_rows": report.dropped_rows,
            },
        )
        print(
            f"verify: ok={report.ok}, {report.sealed_rows:,} rows fit, {report.dropped_rows:,} "
            f"dropped as recorded, {report.seals} links, {took:.1f} s ({checked / took:,.0f} ids/s)"
        )
    finally:
        owner.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
