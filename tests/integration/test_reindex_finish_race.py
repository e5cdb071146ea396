"""A change indexed while a reindex finishes reaches the index that serves afterwards.

The reindex finishes in two steps: it swaps the alias to the new index, then marks the build
done. A batch of the outbox consumer reads both (the building indices in PostgreSQL, the live one
in Elasticsearch); whichever moment the reindex finishes at, between or around those reads, the
batch must write to the index that is live once it has finished.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, text

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from indexer.indices import delete_indices, swap_alias
from indexer.sync import target_indices

pytestmark = pytest.mark.integration


class _Indices:
    """The real client's `indices`, running `finish` once just before or after reading them."""

    def __init__(self, real: Any, finish: Callable[[], None], *, before: bool) -> None:
        self._real = real
        self._finish = finish
        self._before = before
        self.finished = False

    def get(self, **kwargs: Any) -> Any:
        if self._before and not self.finished:
            self.finished = True
            self._finish()
        answer = self._real.get(**kwargs)
        if not self.finished:
            self.finished = True
            self._finish()
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _FinishingClient:
    """A real Elasticsearch client whose alias read races with the end of a reindex."""

    def __init__(self, real: Elasticsearch, finish: Callable[[], None], *, before: bool) -> None:
        self._real = real
        self.indices = _Indices(real.indices, finish, before=before)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture()
def family(
    elasticsearch_ready: None, engine: Engine, settings: Settings
) -> Iterator[tuple[Elasticsearch, str, str, str]]:
    """An alias on an old index, and a new index that a reindex is building."""
    client = make_client(settings, purpose="indexer")
    # Within the indexer's privileges (the alias family), apart from the live alias's indices.
    alias = f"{settings.index_alias}-race{uuid.uuid4().hex[:8]}"
    old, new = f"{alias}-v1-old", f"{alias}-v1-new"
    client.indices.create(index=old, aliases={alias: {}})
    client.indices.create(index=new)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO index_build (name, state) VALUES (:name, 'building')"),
            {"name": new},
        )
    yield client, alias, old, new
    delete_indices(client, [old, new])
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM index_build WHERE name = :name"), {"name": new})
    client.close()


@pytest.mark.parametrize("before", [True, False], ids=["finished-before", "finished-after"])
def test_a_batch_writes_to_the_index_that_is_live_once_a_reindex_has_finished(
    engine: Engine, family: tuple[Elasticsearch, str, str, str], before: bool
) -> None:
    client, alias, old, new = family

    def finish() -> None:
        # The reindex's last two steps, in its order: swap the alias, then mark the build done.
        swap_alias(client, alias=alias, new=new, old=old)
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE index_build SET state = 'done' WHERE name = :name"), {"name": new}
            )

    racing = _FinishingClient(client, finish, before=before)
    with engine.begin() as connection:
        targets = target_indices(connection=connection, client=racing, alias=alias)  # type: ignore[arg-type]

    assert racing.indices.finished
    assert new in targets
