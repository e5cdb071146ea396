"""Shared set-up of the benchmarks: a database of their own, loaded with N demo children.

Every call the benchmarks make into db/ and indexer/ is made here, so that a change to those
packages is adapted in this one module.

Two things are reused on purpose, so as not to regenerate a million children, and every run
says which in its header: the demo file (written once per size and seed, with a note of the
commit that wrote it) and the children loaded from it (kept while `bench_population`, a row
written in the benchmark's database, says they are the ones asked for). The figures never
depend on either being fresh: each benchmark times work that its own run does. A benchmark that
writes an import file of its own (`SourceFile`, the linkage benchmark's FEBRL records) has its
children reused only while the database holds that very file's content (its digest).
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from _header import commit, same_documents
from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.orm import Session

from contactpoint.collector import collect_less_often
from contactpoint.demo_data import write_demo_file
from contactpoint.services import status, up
from contactpoint.settings import Settings
from db.access import NewUser, Principal, Role, VettingChange, create_client, create_user
from db.audit import AuditContext
from db.load import LoadResult, load_file
from db.migrate import upgrade
from db.models import Base, Organisation
from db.session import make_engine
from indexer.frequencies import rebuild_match_frequencies
from indexer.reindex import ReindexOptions, ReindexReport, reindex
from indexer.retry import RetryPolicy

SERVERS = ("postgres", "elasticsearch")
CHILD_TABLES = "child, carer, involvement, shield, organisation, practitioner"
BOOKKEEPING = "index_outbox, index_dead_letter, index_build"
# What the benchmark's database holds: one row, written by the load and by each reindex.
_RECORD_DDL = """
CREATE TABLE IF NOT EXISTS bench_population (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    children integer NOT NULL,
    seed integer NOT NULL,
    loaded_at text NOT NULL,
    index_name text,
    indexed_at text
)
"""
# For a population loaded from a file of the benchmark's own (not demo data): the file's digest.
_SOURCE_DDL = """
CREATE TABLE IF NOT EXISTS bench_population_source (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    fingerprint text NOT NULL
)
"""


def reindex_options(settings: Settings) -> ReindexOptions:
    """The configured reindex, with no replicas and bulk retries at most 5 s apart."""
    return replace(
        ReindexOptions.from_settings(settings),
        replicas=0,
        retry=RetryPolicy(attempts=5, max_wait_s=5.0),
    )


@dataclass(frozen=True)
class DemoFile:
    """A demo file, whether this run wrote it, and the commit that did."""

    path: Path
    reused: bool
    written_at: str
    # Seconds this run took to write it (0 when reused).
    seconds: float = 0.0


@dataclass(frozen=True)
class SourceFile:
    """An import file a benchmark wrote itself, and a digest of its content (what reuse checks)."""

    path: Path
    fingerprint: str


@dataclass(frozen=True)
class Population:
    """The benchmark's children: reused or loaded by this run, and the index last built of them."""

    engine: Engine
    children: int
    seed: int
    reused: bool
    loaded_at: str
    demo: DemoFile | None
    # Changes queued in the outbox when the run started (discarded: the run indexes afresh).
    queued: int
    index_name: str | None
    indexed_at: str | None
    # Seconds this run's load took (None when the children were reused).
    load_seconds: float | None = None

    def header_fields(self) -> dict[str, object]:
        """What the header says of the data."""
        fields: dict[str, object] = {"data": "reused" if self.reused else "built"}
        fields["seed"] = self.seed
        fields["loaded_at"] = self.loaded_at
        if self.demo is not None:
            fields["demo_file"] = "reused" if self.demo.reused else "written"
            fields["demo_written_at"] = self.demo.written_at
        return fields


def not_running(settings: Settings, which: tuple[str, ...] = SERVERS) -> tuple[str, ...]:
    """The local servers of `which` that are not running: a run that starts one finds it cold,
    and stops it after."""
    # Not "unhealthy": a server that runs without the benchmark's database yet is not cold.
    return tuple(
        name
        for name, (line, _) in zip(which, status(settings, which=which), strict=True)
        if line.startswith(f"{name}: not running")
    )


def migrate(settings: Settings) -> None:
    """The benchmark's database at the schema's head."""
    upgrade(url=settings.effective_migration_url(), revision="head")


def app_engine(settings: Settings) -> Engine:
    """An engine of the application's role on the benchmark's database."""
    return make_engine(settings.effective_database_url())


def _owner_engine(settings: Settings) -> Engine:
    return create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)


def demo_file(settings: Settings, *, children: int, seed: int) -> DemoFile:
    """The demo file of N children of `seed`: reused when an earlier run wrote it, else written."""
    path = Path(settings.var_dir) / "bench" / f"demo-{children}-{seed}.jsonl"
    note = path.with_suffix(".json")
    if path.exists() and note.exists():
        written = json.loads(note.read_text())
        if (written.get("children"), written.get("seed")) == (children, seed):
            return DemoFile(path=path, reused=True, written_at=str(written.get("written_at")))
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_demo_file(path=path, children=children, seed=seed)
    seconds = time.perf_counter() - started
    written_at = commit()
    note.write_text(json.dumps({"children": children, "seed": seed, "written_at": written_at}))
    print(f"generated {path} in {seconds:.1f} s")
    return DemoFile(path=path, reused=False, written_at=written_at, seconds=seconds)


def load_demo(*, engine: Engine, path: Path, batch_size: int) -> LoadResult:
    """Load the demo file (the loader, as `contactpoint load` runs it: with its collector's
    settings too)."""
    collect_less_often()
    return load_file(engine=engine, path=path, batch_size=batch_size)


def empty_database(settings: Settings) -> None:
    """Every table of the schema emptied, identities restarted (the load benchmark's start)."""
    owner = _owner_engine(settings)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with owner.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    owner.dispose()


def _load_afresh(
    settings: Settings, engine: Engine, *, children: int, seed: int, source: SourceFile | None
) -> tuple[DemoFile | None, float]:
    owner = _owner_engine(settings)
    with owner.begin() as connection:
        connection.execute(text(f"TRUNCATE {CHILD_TABLES}, {BOOKKEEPING} RESTART IDENTITY CASCADE"))
        connection.execute(text("DELETE FROM bench_population"))
        connection.execute(text("DELETE FROM bench_population_source"))
    demo: DemoFile | None = None
    if source is None:
        demo = demo_file(settings, children=children, seed=seed)
        path = demo.path
    else:
        path = source.path
    started = time.perf_counter()
    result = load_demo(engine=engine, path=path, batch_size=settings.load_batch_size)
    if result.rejected or result.inserted != children:
        raise SystemExit(
            f"expected {children} children inserted, got {result.inserted} "
            f"with {result.rejected_lines} lines rejected"
        )
    with owner.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO bench_population (children, seed, loaded_at)"
                " VALUES (:children, :seed, :loaded_at)"
            ),
            {"children": children, "seed": seed, "loaded_at": commit()},
        )
        if source is not None:
            connection.execute(
                text("INSERT INTO bench_population_source (fingerprint) VALUES (:fingerprint)"),
                {"fingerprint": source.fingerprint},
            )
    owner.dispose()
    seconds = time.perf_counter() - started
    print(f"loaded {result.inserted} children in {seconds:.1f} s")
    return demo, seconds


def prepare(
    settings: Settings,
    *,
    children: int,
    seed: int,
    rebuild: bool = False,
    source: SourceFile | None = None,
) -> Population:
    """Servers up, schema migrated, and exactly the N demo children of `seed` loaded (or, given
    a `source`, the N children of that file): reused when the database already holds them
    (unless `rebuild`), else loaded afresh."""
    for line in up(settings):
        print(line)
    migrate(settings)
    engine = app_engine(settings)
    owner = _owner_engine(settings)
    with owner.begin() as connection:
        connection.execute(text(_RECORD_DDL))
        connection.execute(text(_SOURCE_DDL))
        loaded_from = connection.execute(
            text("SELECT fingerprint FROM bench_population_source")
        ).scalar_one_or_none()
        record = connection.execute(
            text("SELECT children, seed, loaded_at, index_name, indexed_at FROM bench_population")
        ).first()
        present = int(connection.execute(text("SELECT count(*) FROM child")).scalar_one())
        queued = int(connection.execute(text("SELECT count(*) FROM index_outbox")).scalar_one())
    reuse = (
        not rebuild
        and record is not None
        and (record.children, record.seed) == (children, seed)
        and present == children
        and loaded_from == (source.fingerprint if source is not None else None)
    )
    demo: DemoFile | None = None
    load_seconds: float | None = None
    if reuse and record is not None:
        print(f"reusing the {children} children (seed {seed}) loaded at {record.loaded_at}")
        loaded_at, index_name, indexed_at = record.loaded_at, record.index_name, record.indexed_at
    else:
        demo, load_seconds = _load_afresh(
            settings, engine, children=children, seed=seed, source=source
        )
        loaded_at, index_name, indexed_at = commit(), None, None
    # Changes queued by the load (or left by an earlier run) are not this run's: each run
    # builds its index from the snapshot.
    with owner.begin() as connection:
        connection.execute(text("DELETE FROM index_outbox"))
    owner.dispose()
    return Population(
        engine=engine,
        children=children,
        seed=seed,
        reused=reuse,
        loaded_at=loaded_at,
        demo=demo,
        queued=queued,
        index_name=index_name,
        indexed_at=indexed_at,
        load_seconds=load_seconds,
    )


def reindex_population(
    settings: Settings, population: Population, client: Elasticsearch
) -> ReindexReport:
    """A full reindex of the population behind the settings' alias (a new physical index), with
    the collector's settings of `contactpoint reindex`."""
    collect_less_often()
    report = reindex(
        engine=population.engine,
        client=client,
        alias=settings.index_alias,
        options=reindex_options(settings),
    )
    owner = _owner_engine(settings)
    with owner.begin() as connection:
        connection.execute(
            text("UPDATE bench_population SET index_name = :name, indexed_at = :at"),
            {"name": report.index, "at": commit()},
        )
    owner.dispose()
    return report


def live_index(client: Elasticsearch, alias: str) -> str | None:
    """The physical index the alias points to, if any."""
    try:
        names = list(client.indices.get_alias(name=alias))
    except es_exceptions.NotFoundError:
        return None
    return names[0] if len(names) == 1 else None


def ensure_index(
    settings: Settings, population: Population, client: Elasticsearch
) -> tuple[str, str | None]:
    """The alias's index of the population: reused only when committed code that makes the
    same documents as this checkout built it (`_header.same_documents`) of these very children
    and nothing changed since; else built. Returns (index, the commit that built a reused one).
    """
    live = live_index(client, settings.index_alias)
    if (
        population.reused
        and population.queued == 0
        and same_documents(population.indexed_at)
        and live is not None
        and live == population.index_name
        and int(client.count(index=live)["count"]) == population.children
    ):
        print(
            f"reusing the index {live}, built at {population.indexed_at} of these children "
            "by the same document code"
        )
        return live, population.indexed_at
    started = time.perf_counter()
    report = reindex_population(settings, population, client)
    print(f"reindexed into {report.index} in {time.perf_counter() - started:.0f} s")
    rebuild_frequencies(population)
    return report.index, None


def rebuild_frequencies(population: Population) -> None:
    """The match engine's frequencies of the population, as `contactpoint reindex` counts them
    after its swap (the API reads them when it starts)."""
    started = time.perf_counter()
    with Session(population.engine) as session, session.begin():
        counted = rebuild_match_frequencies(session=session)
    print(
        f"match frequencies of {counted.population} children counted in "
        f"{time.perf_counter() - started:.0f} s"
    )


@dataclass(frozen=True)
class BenchAccount:
    """A practitioner of one authority and the key of a CMS client acting for them."""

    username: str
    authority: str
    key: str
    client_name: str


def bench_account(
    settings: Settings, engine: Engine, *, suffix: str, gp_practice: bool = False
) -> BenchAccount:
    """A practitioner account of its own for this run and a CMS client key acting for it;
    with `gp_practice`, the client is a new GP practice's, so that it may write (updates,
    addresses) rather than only read."""
    context = AuditContext.operator()
    username = f"bench-{suffix}"
    client_name = f"bench-cms-{suffix}"
    organisation = None
    with Session(engine) as session, session.begin():
        authority = session.execute(text("SELECT code FROM local_authority LIMIT 1")).scalar_one()
        if gp_practice:
            code = f"Y{secrets.randbelow(10**5):05d}"
            session.add(
                Organisation(kind="gp_practice", code=code, name=f"Bench practice {suffix}")
            )
            session.flush()
            organisation = f"gp_practice:{code}"
        create_user(
            session=session,
            settings=settings.model_copy(update={"argon2_time_cost": 1}),
            context=context,
            new=NewUser(
                username=username,
                roles=frozenset({Role.PRACTITIONER}),
                authorities=frozenset({authority}),
                vetting=VettingChange(
                    identity_checked_by="Benchmark (not a real check)",
                    identity_checked_on=date.today(),
                    dbs_checked_on=date.today(),
                    training_completed_on=date.today(),
                ),
            ),
            password="benchmark password 1",
            pin="2580",
        )
        issued = create_client(
            session=session,
            context=context,
            name=client_name,
            roles=frozenset({Role.PRACTITIONER}),
            authority=authority,
            organisation=organisation,
        )
    return BenchAccount(
        username=username, authority=authority, key=issued.key, client_name=client_name
    )


def practitioner(account: BenchAccount) -> Principal:
    """The principal of the run's practitioner, as the API resolves it."""
    return Principal(
        user_id=None,
        username=account.username,
        roles=frozenset({Role.PRACTITIONER}),
        authorities=frozenset({account.authority}),
    )


def audited_searches(engine: Engine, *, username: str, event: str = "search") -> int:
    """How many searches (or rows of another `event`, e.g. request_refused) the audit holds of
    `username`."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM audit_event WHERE username = :u AND event = :event"),
                {"u": username, "event": event},
            ).scalar_one()
        )


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and p99 of the values."""
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}
