"""The job as configured: the application's engine, the indexer's Elasticsearch client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from elasticsearch import Elasticsearch
from sqlalchemy import Engine, create_engine, pool, text

from contactpoint.settings import Settings
from db.audit.retention import MaintenanceSummary, run_audit_maintenance
from indexer.erasure import erase_documents, expunge_deleted, family_indices
from indexer.retry import RetryPolicy
from lifecycle.run import LifecycleJob


def configured_job(*, settings: Settings, engine: Engine, client: Elasticsearch) -> LifecycleJob:
    """The job of this deployment: documents erased from every index of the alias's family."""
    policy = RetryPolicy.from_settings(settings)
    alias = settings.index_alias

    def erase(identifiers: Sequence[str]) -> None:
        # Listed afresh each batch: a reindex may have added an index since.
        erase_documents(
            client,
            indices=family_indices(client, alias=alias),
            identifiers=identifiers,
            policy=policy,
        )

    def expunge() -> None:
        expunge_deleted(client, indices=family_indices(client, alias=alias))

    return LifecycleJob(
        engine=engine,
        erase=erase,
        batch_size=settings.lifecycle_batch_size,
        ended_involvement_years=settings.lifecycle_ended_involvement_years,
        expunge=expunge,
        destroy_workers=settings.lifecycle_destroy_workers,
    )


def local_today(settings: Settings, now: datetime) -> date:
    """The day it is in the job's time zone."""
    return now.astimezone(ZoneInfo(settings.lifecycle_timezone)).date()


def next_run(settings: Settings, now: datetime) -> datetime:
    """The next time the day's job is due (today's if it is still ahead, else tomorrow's)."""
    zone = ZoneInfo(settings.lifecycle_timezone)
    hour, minute = (int(part) for part in settings.lifecycle_run_at.split(":"))
    local = now.astimezone(zone)
    due = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), tzinfo=zone)
    return due


def finished_on(*, engine: Engine, today: date) -> bool:
    """Whether a run for `today` has finished."""
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text("SELECT finished_at IS NOT NULL FROM lifecycle_run WHERE run_on = :today"),
                {"today": today},
            ).scalar()
        )


def maintain_audit(
    *, settings: Settings, today: date, owner: Engine | None = None
) -> MaintenanceSummary | None:
    """The audit's daily maintenance beside the job: months created ahead, months past
    AUDIT_RETENTION_YEARS dropped (db/audit/retention.py), as the schema owner (`owner`, or one
    made from the migration URL); None when no seal key is set (a drop is a signed link)."""
    if settings.effective_seal_private_key() is None:
        return None
    engine = owner or create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
    try:
        return run_audit_maintenance(engine=engine, today=today, settings=settings)
    finally:
        if owner is None:
            engine.dispose()
