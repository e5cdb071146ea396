"""Physical indices behind the read alias: create, finish, swap, roll back, clean up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions

from mappings.index_definition import index_mappings, index_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AliasState:
    """The index the alias points to, and the other physical indices, newest first."""

    live: str | None
    others: tuple[str, ...]


# While an index is built it serves nobody: its translog is synced every few seconds rather
# than at every bulk request. A node's process killed mid-build loses
# nothing (the operating system holds what was written); a build cut short by a lost machine
# fails its count check and leaves the alias as it was. `finish_bulk` restores the sync.
_BULK_TRANSLOG: Final = {"index.translog.durability": "async", "index.translog.sync_interval": "5s"}
_SERVING_TRANSLOG: Final = {"index.translog.durability": "request"}


def create_for_bulk(client: Elasticsearch, name: str, *, replicas: int = 0) -> None:
    """A new physical index tuned for a bulk build: no refresh, the translog synced now and
    then, and `replicas` (none is fastest; with one, the build lives through the loss of a
    node)."""
    client.indices.create(
        index=name,
        settings=index_settings(replicas=replicas, refresh_interval="-1") | _BULK_TRANSLOG,
        mappings=index_mappings(),
    )


# Merging an 11-million-child index takes minutes, not the seconds of a search.
_MERGE_TIMEOUT_S = 3600.0


def merge_segments(client: Elasticsearch, name: str) -> None:
    """Merge a bulk-built index into one segment.

    The build leaves a dozen segments; merged into one, every term a search looks up is looked
    up once, not once per segment. Later updates from the outbox add small segments that merge
    as usual.
    """
    # Not retried: a merge that outlives the timeout goes on in Elasticsearch anyway.
    client.options(request_timeout=_MERGE_TIMEOUT_S, max_retries=0).indices.forcemerge(
        index=name, max_num_segments=1
    )


def finish_bulk(client: Elasticsearch, name: str, *, replicas: int) -> None:
    """Restore the serving settings after a bulk build and make everything searchable."""
    serving = index_settings(replicas=replicas)
    client.indices.put_settings(
        index=name,
        settings={
            "number_of_replicas": serving["number_of_replicas"],
            "refresh_interval": serving["refresh_interval"],
        }
        | _SERVING_TRANSLOG,
    )
    client.indices.refresh(index=name)


def alias_state(client: Elasticsearch, *, alias: str) -> AliasState:
    """Where the alias points, and the other indices of its family (newest name first)."""
    try:
        # "<alias>-v*" only: another alias's indices ("children-bench-v1-...") are not ours.
        found = client.indices.get(index=f"{alias}-v*", expand_wildcards="open")
    except es_exceptions.NotFoundError:
        return AliasState(live=None, others=())
    live = None
    others: list[str] = []
    for name, body in found.items():
        if alias in body.get("aliases", {}):
            live = name
        else:
            others.append(name)
    return AliasState(live=live, others=tuple(sorted(others, reverse=True)))


def swap_alias(client: Elasticsearch, *, alias: str, new: str, old: str | None) -> None:
    """Point the alias at `new` in one atomic step (searches never see it missing)."""
    actions: list[dict[str, dict[str, str]]] = [{"add": {"index": new, "alias": alias}}]
    if old is not None:
        actions.insert(0, {"remove": {"index": old, "alias": alias}})
    client.indices.update_aliases(actions=actions)
    log.info("alias %s now points at %s (was %s)", alias, new, old)


def delete_indices(client: Elasticsearch, names: list[str]) -> None:
    for name in names:
        try:
            client.indices.delete(index=name)
            log.info("deleted index %s", name)
        except es_exceptions.NotFoundError:
            continue
