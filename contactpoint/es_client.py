"""Elasticsearch clients for the API (read-only user) and the indexer (writer)."""

from __future__ import annotations

from typing import Literal

from elasticsearch import Elasticsearch
from elasticsearch.serializer import OrjsonSerializer

from contactpoint.settings import Settings
from contactpoint.timing import TimedUrllib3HttpNode

Purpose = Literal["api", "indexer"]


def make_client(settings: Settings, *, purpose: Purpose) -> Elasticsearch:
    """A client with the credentials of `purpose`; retries only connection errors and timeouts.

    Never a status (429, 503, ...): the indexer retries those per document with backoff, and the
    bulk path turns the client's retries off (the policy is in indexer/retry.py).
    """
    return Elasticsearch(
        # Every node: a request that cannot reach one (a connection lost, a timeout) is sent to
        # another, and the unreachable node is left alone for a while.
        settings.effective_elasticsearch_urls(),
        request_timeout=settings.es_request_timeout_s,
        retry_on_timeout=True,
        retry_on_status=(),
        max_retries=settings.es_max_retries,
        connections_per_node=settings.es_connections_per_node,
        # orjson: bulk bodies of millions of documents are serialised several times faster.
        serializer=OrjsonSerializer(),
        # Each round trip counted to the API request it serves (/metrics).
        node_class=TimedUrllib3HttpNode,
        **settings.elasticsearch_credentials(purpose=purpose),
    )
