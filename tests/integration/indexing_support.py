"""Helpers for the indexer's integration tests: a fresh database state and index comparisons."""

from __future__ import annotations

from pathlib import Path

from elasticsearch import Elasticsearch, helpers
from sqlalchemy import Engine, create_engine, pool, text

from contactpoint.demo_data import write_demo_file
from contactpoint.settings import Settings
from db.load import load_file
from indexer.indices import alias_state, delete_indices

# The child records and the index's bookkeeping; users, clients and the audit are left alone.
MATCH_STATISTICS = ("match_frequency", "match_frequency_total", "match_level_count")
CHILD_TABLES = (
    "child",
    "carer",
    "involvement",
    "shield",
    "organisation",
    "practitioner",
    "child_source_identifier",
    "feed_record",
    "feed_review",
    "child_field_source",
)
BOOKKEEPING = ("index_outbox", "index_dead_letter", "index_build")


def reset_everything(*, settings: Settings, client: Elasticsearch) -> None:
    """Empty the child tables, the outbox and the match engine's statistics (derived from the
    children), and delete every index of the alias's family."""
    owner = create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
    tables = [*CHILD_TABLES, *BOOKKEEPING, *MATCH_STATISTICS]
    with owner.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    owner.dispose()
    state = alias_state(client, alias=settings.index_alias)
    delete_indices(client, [name for name in [state.live, *state.others] if name])


def load_demo(*, engine: Engine, tmp_path: Path, children: int, seed: int) -> None:
    path = tmp_path / f"demo-{children}-{seed}.jsonl"
    write_demo_file(path=path, children=children, seed=seed)
    result = load_file(engine=engine, path=path, batch_size=500)
    assert not result.rejected, result.rejected[:3]
    assert result.inserted == children


def indexed_versions(client: Elasticsearch, *, alias: str) -> dict[str, tuple[int, str]]:
    """identifier → (version, folded family name) of every document behind the alias."""
    client.indices.refresh(index=alias)
    return {
        hit["_id"]: (int(hit["_version"]), hit["_source"]["family_name_folded"])
        for hit in helpers.scan(
            client, index=alias, query={"query": {"match_all": {}}}, version=True
        )
    }


def database_versions(engine: Engine) -> dict[str, tuple[int, str]]:
    """identifier → (record version, folded family name) of every child in PostgreSQL."""
    from mappings.normalise import fold

    with engine.connect() as connection:
        rows = connection.execute(text("SELECT identifier, record_version, family_name FROM child"))
        return {row[0]: (int(row[1]), fold(row[2])) for row in rows}


def outbox_depth(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM index_outbox")).scalar_one())
