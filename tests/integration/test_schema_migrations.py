"""Migrations match the models, run safely side by side, and give the app least privilege."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, delete, make_url, pool, select, text

from contactpoint.settings import Settings
from db.migrate import APP_ROLE
from db.models import Base, Carer, Child, LocalAuthority
from db.session import session_scope

ROOT = Path(__file__).resolve().parents[2]


def test_the_models_match_the_migrated_schema(engine: Engine) -> None:
    def ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        # Tables of later migrations without models (the indexer's bookkeeping) are not ours.
        return not (type_ == "table" and reflected and name not in Base.metadata.tables)

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": ours,
            },
        )
        assert compare_metadata(context, Base.metadata) == []


def test_the_application_role_has_row_access_only(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar_one() == APP_ROLE

        def allowed(table: str, privilege: str) -> bool:
            sql = text("SELECT has_table_privilege(:table, :privilege)")
            return bool(connection.execute(sql, {"table": table, "privilege": privilege}).scalar())

        assert allowed("child", "INSERT") and allowed("carer", "DELETE")
        assert allowed("shield", "UPDATE") and not allowed("shield", "DELETE")
        assert allowed("break_glass_review", "UPDATE")
        assert not allowed("break_glass_review", "DELETE")
        assert not allowed("child", "TRUNCATE") and not allowed("alembic_version", "SELECT")
        owns = "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
        assert connection.execute(text(owns)).scalar_one() == 0


def test_concurrent_upgrades_of_an_empty_schema_both_succeed(settings: Settings) -> None:
    schema = f"cp_test_upgrade_{uuid.uuid4().hex[:8]}"
    owner_url = settings.effective_migration_url()
    owner = create_engine(owner_url, poolclass=pool.NullPool)
    with owner.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(owner_url).update_query_dict({"options": f"-csearch_path={schema}"})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CP_TEST_URL": url.render_as_string(False)}
    script = "import os; from db.migrate import upgrade; upgrade(url=os.environ['CP_TEST_URL'])"
    try:
        runs = [
            subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        errors = [run.communicate(timeout=120)[1].decode() for run in runs]
        assert [run.returncode for run in runs] == [0, 0], errors
        with owner.connect() as connection:
            heads = connection.execute(text(f"SELECT version_num FROM {schema}.alembic_version"))
            assert len(heads.all()) == 1
            tables = connection.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = :schema"),
                {"schema": schema},
            )
            assert tables.scalar_one() >= len(Base.metadata.tables) + 1
    finally:
        with owner.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        owner.dispose()


def test_the_models_write_a_child_through_a_session_scope_that_rolls_back_on_error(
    engine: Engine,
) -> None:
    authority = LocalAuthority(code="E06000099", name="Testshire")
    with session_scope() as session:
        session.add(authority)
        session.add(
            Child(
                identifier="4010232137",
                given_names="Ada",
                family_name="Lovelace",
                gender="female",
                date_of_birth=date(2020, 1, 2),
                address_lines=["1 Byron Road"],
                town="Leeds",
                postcode="LS1 1AA",
                local_authority_code="E06000099",
                carers=[Carer(position=0, name="Anne Lovelace", relationship="mother")],
            )
        )
    try:
        with pytest.raises(RuntimeError), session_scope() as session:
            child = session.scalars(select(Child).where(Child.identifier == "4010232137")).one()
            child.town = "York"
            session.flush()
            raise RuntimeError("abandon the change")
        with session_scope() as session:
            child = session.scalars(select(Child).where(Child.identifier == "4010232137")).one()
            assert (child.town, child.record_version, child.status) == ("Leeds", 1, "active")
            assert [carer.name for carer in child.carers] == ["Anne Lovelace"]
    finally:
        with session_scope() as session:
            session.execute(delete(Child).where(Child.identifier == "4010232137"))
            session.execute(delete(LocalAuthority).where(LocalAuthority.code == "E06000099"))
