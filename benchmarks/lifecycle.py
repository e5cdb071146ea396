"""Lifecycle benchmark: the daily job archiving and destroying demo children, in records/s.

Usage: .venv/bin/python benchmarks/lifecycle.py [--children 200000] [--seed 7]
                                                [--audit-share 0.2] [--batch 5000]
                                                [--keep-up] [--json PATH]

On a stack of its own (var/bench-lifecycle, ports 55447/59217, database
contactpoint_bench_lifecycle, alias children-bench-lifecycle; VAR_DIR, PG_PORT, ES_PORT and
ES_TRANSPORT_PORT as exported win): --children demo children are loaded afresh (the job
archives and destroys them, so no run reuses another's), indexed twice (a live index and one
kept for rollback, as after any reindex), and --audit-share of them get a view row in the
audit, all sealed. Then `lifecycle run` (the same `run_lifecycle` as the command):

1. --today 18 years and a day from now: every child has turned 18 and is archived (the
   demo's own archived children, already archived, are not counted);
2. --today six years after that: every archived child is destroyed, its documents erased from
   both indices, and the audit rows that concern it forgotten.

Printed: records per second of the archive step and of the destroy step (the step's batches,
committed, over its seconds), the audit rows forgotten, and whether `audit verify` passes.
"""

from __future__ import annotations

import os

for _key, _value in {
    "VAR_DIR": "var/bench-lifecycle",
    "PG_PORT": "55447",
    "ES_PORT": "59217",
    "ES_TRANSPORT_PORT": "59317",
    "PG_DATABASE": "contactpoint_bench_lifecycle",
    "INDEX_ALIAS": "children-bench-lifecycle",
    "ES_HEAP": "1g",
}.items():
    os.environ.setdefault(_key, _value)

import importlib  # noqa: E402
import sys  # noqa: E402

# This script is benchmarks/lifecycle.py: `lifecycle` must be the package, so the package is
# imported before the script's folder (which holds the benchmarks' helpers) is searched.
_HERE = sys.path.pop(0)
for _module in ("lifecycle", "lifecycle.job"):
    importlib.import_module(_module)
sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import secrets  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from _header import es_heap, pg_setting, print_header, write_report  # noqa: E402
from _population import not_running, prepare, reindex_population  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import create_engine, pool, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.services import down  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from db.audit import AuditContext, seal_once, trusted_keys, verify_audit  # noqa: E402
from db.audit.seal import encode_private_key, load_private_key  # noqa: E402
from indexer.indices import alias_state  # noqa: E402
from lifecycle import anniversary, run_lifecycle  # noqa: E402
from lifecycle.job import configured_job  # noqa: E402

_AUDIT_VIEWS = text(
    """
    INSERT INTO audit_event (event, outcome, username, authorities, subject, details)
    SELECT 'view', 'success', 'bench.practitioner', ARRAY[local_authority_code], identifier,
           jsonb_build_object('identifier', identifier, 'shown_fields',
                              jsonb_build_array('names', 'date_of_birth'), 'shielded', false)
    FROM child WHERE status = 'active' AND random() < :share
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--audit-share", type=float, default=0.2)
    parser.add_argument("--batch", type=int, default=None, help="LIFECYCLE_BATCH_SIZE")
    parser.add_argument("--workers", type=int, default=None, help="LIFECYCLE_DESTROY_WORKERS")
    parser.add_argument("--keep-up", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()
    settings = get_settings()
    if args.batch is not None:
        settings = settings.model_copy(update={"lifecycle_batch_size": args.batch})
    if args.workers is not None:
        settings = settings.model_copy(update={"lifecycle_destroy_workers": args.workers})
    started = not_running(settings)
    run_id = secrets.token_hex(4)
    try:
        population = prepare(settings, children=args.children, seed=args.seed, rebuild=True)
        engine = population.engine
        es = make_client(settings, purpose="indexer")
        # Two builds: the live index, and the previous one kept for rollback.
        for _ in range(2):
            reindex_population(settings, population, es)
        indices = [
            alias_state(es, alias=settings.index_alias).live,
            *alias_state(es, alias=settings.index_alias).others,
        ]
        # The audit of earlier runs (sealed with another key, its children gone) goes first.
        owner = create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
        with owner.begin() as connection:
            connection.execute(
                text(
                    "TRUNCATE audit_redaction, audit_seal_entry, audit_seal, lifecycle_run, "
                    "break_glass_review, audit_event RESTART IDENTITY"
                )
            )
        owner.dispose()
        with engine.begin() as connection:
            views = connection.execute(_AUDIT_VIEWS, {"share": args.audit_share}).rowcount
        # The stack's own key: the audit (not emptied by a new load) is sealed with it throughout.
        encoded = settings.effective_seal_private_key()
        key = load_private_key(encoded) if encoded else Ed25519PrivateKey.generate()
        seal_once(engine=engine, key=key)
        archive_on = date.today() + timedelta(days=18 * 366 + 1)
        destroy_on = anniversary(archive_on, 6)
        header = print_header(
            "lifecycle.py",
            children=args.children,
            fields={
                **population.header_fields(),
                "servers": "+".join(started) + "-started" if started else "running",
                "run": run_id,
                "archive_on": archive_on.isoformat(),
                "destroy_on": destroy_on.isoformat(),
                "batch": settings.lifecycle_batch_size,
                "destroy_workers": settings.lifecycle_destroy_workers,
                "indices": len([name for name in indices if name]),
                "audit_views": views,
                "es_heap": es_heap(es),
                "pg_shared_buffers": pg_setting(engine, "shared_buffers"),
            },
        )
        job = configured_job(settings=settings, engine=engine, client=es)
        context = AuditContext.operator()
        archived = run_lifecycle(job=job, context=context, today=archive_on)
        clock = time.perf_counter()
        destroyed = run_lifecycle(job=job, context=context, today=destroy_on)
        destroy_run_s = time.perf_counter() - clock
        seal_once(engine=engine, key=key)
        keys = trusted_keys(private_key=encode_private_key(key), public_keys=[])
        with Session(engine) as session, session.begin():
            verified = verify_audit(session=session, keys=keys)
        left = int(es.count(index=f"{settings.index_alias}-v*")["count"])
        archive_rate = archived.archived / archived.archive_s if archived.archive_s else 0.0
        destroy_rate = destroyed.destroyed / destroyed.destroy_s if destroyed.destroy_s else 0.0
        print(
            f"archive: {archived.archived:,} children in {archived.archive_s:.1f} s "
            f"= {archive_rate:,.0f} records/s ({archived.involvements_expired:,} involvements "
            f"expired in {archived.involvements_s:.1f} s)"
        )
        print(
            f"destroy: {destroyed.destroyed:,} children in {destroyed.destroy_s:.1f} s "
            f"= {destroy_rate:,.0f} records/s ({destroyed.audit_rows_forgotten:,} audit rows "
            f"forgotten; the whole run, with the segments' merge, {destroy_run_s:.1f} s); "
            f"{left} documents left in the {len(indices)} indices"
        )
        print(
            f"audit verify: {'ok' if verified.ok else 'FAILED'}, {verified.sealed_rows:,} sealed "
            f"rows, {verified.forgotten_rows:,} of them forgotten"
        )
        with engine.connect() as connection:
            remaining = connection.execute(text("SELECT count(*) FROM child")).scalar_one()
        write_report(
            args.json,
            {
                "header": header,
                "run": run_id,
                "archived": archived.archived,
                "archive_s": archived.archive_s,
                "archive_records_per_s": round(archive_rate),
                "destroyed": destroyed.destroyed,
                # The demo's own archived children, archived when loaded, go in the first run.
                "destroyed_in_archive_run": archived.destroyed,
                "destroy_s": destroyed.destroy_s,
                "destroy_records_per_s": round(destroy_rate),
                "audit_rows_forgotten": destroyed.audit_rows_forgotten,
                "documents_left": left,
                "children_left": remaining,
                "verify_ok": verified.ok,
            },
        )
    finally:
        if started and not args.keep_up:
            for line in down(settings, which=started):
                print(line)


if __name__ == "__main__":
    main()
