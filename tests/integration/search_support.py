"""Helpers of the search and record-view tests: 20,000 demo children, indexed, and users.

The `population` fixture (conftest.py) loads them afresh for each module (other modules empty
the child tables), then builds the index with a real reindex. Targets are picked from the data
by rule, never by identifier.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from db.access import Role
from indexer.frequencies import rebuild_match_frequencies
from indexer.reindex import ReindexOptions, reindex
from indexer.retry import RetryPolicy
from indexer.sync import drain, retrying_writer
from tests.integration.access_support import (
    bearer,
    fast_settings,
    new_account,
    session_token,
)
from tests.integration.indexing_support import load_demo, reset_everything

CHILDREN = 20_000
SEED = 6
RETRY = RetryPolicy(attempts=3, max_wait_s=0.5)
WRITER = retrying_writer(RETRY)


@dataclass(frozen=True)
class Kid:
    """A child as the tests pick it."""

    identifier: str
    given_names: str
    family_name: str
    gender: str
    date_of_birth: date
    address_lines: tuple[str, ...]
    town: str
    postcode: str
    authority: str
    shielded: bool
    status: str
    # The history: former family names (and aliases) and the postcodes lived at before.
    other_family_names: tuple[str, ...] = ()
    previous_postcodes: tuple[str, ...] = ()


@dataclass
class Population:
    engine: Engine
    settings: Settings
    es: Elasticsearch
    kids: list[Kid]

    def unique(self, key: Callable[[Kid], object], *, where: Callable[[Kid], bool]) -> list[Kid]:
        """Children matching `where` that no other child shares `key` with."""
        counts = Counter(key(kid) for kid in self.kids)
        return [kid for kid in self.kids if where(kid) and counts[key(kid)] == 1]

    def sync(self) -> None:
        """Bring the index up to date through the outbox, then refresh."""
        while drain(
            engine=self.engine,
            client=self.es,
            alias=self.settings.index_alias,
            limit=500,
            writer=WRITER,
        ):
            pass
        self.es.indices.refresh(index=self.settings.index_alias)

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(sql), params)


_KIDS = """
SELECT c.identifier, c.given_names, c.family_name, c.gender, c.date_of_birth, c.address_lines,
       c.town, c.postcode, c.local_authority_code, c.status,
       EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id AND s.removed_at IS NULL) AS shielded,
       ARRAY(SELECT o.family_name FROM other_name o WHERE o.child_id = c.id ORDER BY o.position)
         AS other_family_names,
       ARRAY(SELECT p.postcode FROM previous_address p WHERE p.child_id = c.id
             ORDER BY p.position) AS previous_postcodes
FROM child c ORDER BY c.identifier
"""


def read_kids(engine: Engine) -> list[Kid]:
    with engine.connect() as connection:
        return [
            Kid(
                identifier=row.identifier,
                given_names=row.given_names,
                family_name=row.family_name,
                gender=row.gender,
                date_of_birth=row.date_of_birth,
                address_lines=tuple(row.address_lines),
                town=row.town,
                postcode=row.postcode,
                authority=row.local_authority_code,
                shielded=row.shielded,
                status=row.status,
                other_family_names=tuple(row.other_family_names),
                previous_postcodes=tuple(row.previous_postcodes),
            )
            for row in connection.execute(text(_KIDS))
        ]


def build_population(
    *, engine: Engine, settings: Settings, tmp_path_factory: Any, children: int, seed: int
) -> Iterator[Population]:
    """`children` demo children in PostgreSQL and behind the alias, for one test module."""
    es = make_client(settings, purpose="indexer")
    reset_everything(settings=settings, client=es)
    folder: Path = tmp_path_factory.mktemp("demo")
    load_demo(engine=engine, tmp_path=folder, children=children, seed=seed)
    reindex(
        engine=engine,
        client=es,
        alias=settings.index_alias,
        options=ReindexOptions(replicas=0, batch_size=1000, threads=2, retry=RETRY),
        writer=WRITER,
    )
    es.indices.refresh(index=settings.index_alias)
    # As `contactpoint reindex` does after its swap: the apps built on it rank with these.
    with Session(engine) as session, session.begin():
        rebuild_match_frequencies(session=session)
    yield Population(engine=engine, settings=settings, es=es, kids=read_kids(engine))
    es.close()


@dataclass
class Caller:
    """A signed-in user of the real app."""

    username: str
    headers: dict[str, str]


def make_caller(
    population: Population,
    *roles: Role,
    authorities: tuple[str, ...] = (),
    child_protection: bool = False,
) -> Caller:
    fast = fast_settings(population.settings)
    account = new_account(
        population.engine,
        fast,
        roles=roles,
        authorities=authorities,
        child_protection=child_protection,
    )
    return Caller(account.username, bearer(session_token(population.engine, account.username)))


def audit_rows(engine: Engine, *, username: str, event: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT subject, details, request_id FROM audit_event"
                    " WHERE username = :username AND event = :event ORDER BY id"
                ),
                {"username": username, "event": event},
            )
        )
