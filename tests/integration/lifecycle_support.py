"""A stack of its own for the lifecycle tests: a migrated schema, an alias family of its own
(`children-lt<hex>`), the job as configured over them, and ways to look for a child anywhere.

The job commits batches, destroys rows and makes the audit forget, so it must not meet the
suite's shared tables, audit or index.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from elasticsearch import Elasticsearch, helpers
from sqlalchemy import Engine, create_engine, make_url, pool, text
from sqlalchemy.orm import Session

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from db.audit import VerifyReport, seal_once, trusted_keys, verify_audit
from db.audit.seal import encode_private_key
from db.load import load_file
from db.migrate import upgrade
from indexer.indices import alias_state, delete_indices
from indexer.reindex import ReindexOptions, reindex
from indexer.sync import drain, retrying_writer
from lifecycle import LifecycleJob, RunReport, run_lifecycle
from lifecycle.job import configured_job
from lifecycle.run import BatchHook
from tests.integration.load_support import write_lines

OPERATOR_CONTEXT_NAME = "lifecycle-test"


def _in_schema(url: str, schema: str) -> str:
    options = {"options": f"-csearch_path={schema}"}
    return make_url(url).update_query_dict(options).render_as_string(hide_password=False)


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class LifeStack:
    """A schema and an alias family of their own, and the job over them."""

    schema: str
    app: Engine
    owner: Engine
    settings: Settings
    client: Elasticsearch
    admin_client: Elasticsearch
    key: Ed25519PrivateKey

    @property
    def alias(self) -> str:
        return self.settings.index_alias

    def job(self, *, batch_size: int | None = None, workers: int | None = None) -> LifecycleJob:
        settings = self.settings
        if batch_size is not None:
            settings = settings.model_copy(update={"lifecycle_batch_size": batch_size})
        if workers is not None:
            settings = settings.model_copy(update={"lifecycle_destroy_workers": workers})
        return configured_job(settings=settings, engine=self.app, client=self.client)

    def run(
        self,
        today: date,
        *,
        batch_size: int | None = None,
        workers: int | None = None,
        after_batch: BatchHook | None = None,
    ) -> RunReport:
        from db.audit import AuditContext

        return run_lifecycle(
            job=self.job(batch_size=batch_size, workers=workers),
            context=AuditContext.operator(),
            today=today,
            after_batch=after_batch,
        )

    def load(self, tmp_path: Path, lines: Sequence[dict[str, Any]]) -> None:
        path = write_lines(tmp_path / f"lines-{uuid.uuid4().hex[:6]}.jsonl", lines)
        result = load_file(engine=self.app, path=path, batch_size=500, parallel=False)
        assert not result.rejected, result.rejected[:3]

    def reindex(self) -> str:
        report = reindex(
            engine=self.app, client=self.client, alias=self.alias, options=ReindexOptions()
        )
        return report.index

    def drain(self) -> int:
        done = drain(
            engine=self.app,
            client=self.client,
            alias=self.alias,
            limit=500,
            writer=retrying_writer(ReindexOptions().retry),
        )
        self.client.indices.refresh(index=f"{self.alias}-v*")
        return done

    def seal(self) -> None:
        seal_once(engine=self.app, key=self.key)

    def verify(self) -> VerifyReport:
        keys = trusted_keys(private_key=encode_private_key(self.key), public_keys=[])
        with Session(self.app) as session, session.begin():
            return verify_audit(session=session, keys=keys)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.app.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def rows_holding(self, values: Sequence[str]) -> dict[str, int]:
        """Every table of the schema (found in information_schema, not listed by hand) whose
        rows, cast to text, contain one of `values` (case-insensitive): table → rows."""
        patterns = [f"%{value}%" for value in values]
        found: dict[str, int] = {}
        with self.owner.connect() as connection:
            tables = connection.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = :schema AND table_type = 'BASE TABLE' ORDER BY 1"
                ),
                {"schema": self.schema},
            ).scalars()
            for table in list(tables):
                count = connection.execute(
                    text(
                        f'SELECT count(*) FROM "{self.schema}"."{table}" AS t '
                        "WHERE t::text ILIKE ANY (CAST(:patterns AS text[]))"
                    ),
                    {"patterns": patterns},
                ).scalar_one()
                if count:
                    found[table] = count
        return found

    def rows_keyed_by_child(self, child_id: int) -> dict[str, int]:
        """Every table with a child key (a `child_id`, `survivor_id` or `merged_id` column,
        found in information_schema) that has rows naming `child_id`: table → rows."""
        found: dict[str, int] = {}
        with self.owner.connect() as connection:
            columns = connection.execute(
                text(
                    "SELECT c.table_name, c.column_name FROM information_schema.columns c "
                    "JOIN information_schema.tables t USING (table_schema, table_name) "
                    "WHERE c.table_schema = :schema AND t.table_type = 'BASE TABLE' "
                    "AND c.column_name IN ('child_id', 'survivor_id', 'merged_id') ORDER BY 1, 2"
                ),
                {"schema": self.schema},
            ).all()
            for table, column in columns:
                count = connection.execute(
                    text(f'SELECT count(*) FROM "{self.schema}"."{table}" WHERE "{column}" = :id'),
                    {"id": child_id},
                ).scalar_one()
                if count:
                    found[table] = found.get(table, 0) + count
        return found

    def documents_holding(self, values: Sequence[str], identifier: str) -> dict[str, int]:
        """Every Elasticsearch index (all of them, `*`, as the superuser) holding a document
        with `identifier` as its id, or one matching one of `values` (a date of birth alone
        names nobody: other tests' children share it, so it is looked for in the family's
        documents only), or a document of the family containing one of `values`."""
        es = self.admin_client
        es.indices.refresh(index="*", expand_wildcards="all", ignore_unavailable=True)
        found: dict[str, int] = {}
        hits = es.search(
            index="*",
            expand_wildcards="all",
            size=100,
            query={
                "bool": {
                    "should": [
                        {"ids": {"values": [identifier]}},
                        *(
                            {"query_string": {"query": f'"{value}"', "lenient": True}}
                            for value in values
                            if not _DAY.fullmatch(value)
                        ),
                    ]
                }
            },
        )["hits"]["hits"]
        for hit in hits:
            found[hit["_index"]] = found.get(hit["_index"], 0) + 1
        # And the sources themselves, every document of the family: nothing indexed differently.
        lowered = [value.lower() for value in values]
        for hit in helpers.scan(es, index=f"{self.alias}-v*", query={"query": {"match_all": {}}}):
            source = str(hit["_source"]).lower()
            if hit["_id"] == identifier or any(value in source for value in lowered):
                found[hit["_index"]] = found.get(hit["_index"], 0) + 1
        return found

    def family(self) -> list[str]:
        state = alias_state(self.client, alias=self.alias)
        return [name for name in [state.live, *state.others] if name]


def life_stack(settings: Settings) -> Iterator[LifeStack]:
    """Create the stack, yield it, then drop the schema and delete the alias's indices."""
    schema = f"cp_test_life_{uuid.uuid4().hex[:8]}"
    owner_url = settings.effective_migration_url()
    admin = create_engine(owner_url, poolclass=pool.NullPool)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    upgrade(url=_in_schema(owner_url, schema))
    app_url = _in_schema(settings.effective_database_url(), schema)
    app = create_engine(app_url, poolclass=pool.NullPool)
    owner = create_engine(_in_schema(owner_url, schema), poolclass=pool.NullPool)
    mine = settings.model_copy(
        update={"index_alias": f"children-lt{secrets.token_hex(4)}", "lifecycle_batch_size": 500}
    )
    client = make_client(mine, purpose="indexer")
    admin_client = Elasticsearch(
        mine.effective_elasticsearch_url(), **mine.elasticsearch_credentials(purpose="admin")
    )
    stack = LifeStack(
        schema=schema,
        app=app,
        owner=owner,
        settings=mine,
        client=client,
        admin_client=admin_client,
        key=Ed25519PrivateKey.generate(),
    )
    try:
        yield stack
    finally:
        delete_indices(client, stack.family())
        client.close()
        admin_client.close()
        app.dispose()
        owner.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
