"""A thin wrapper around the real client that answers some bulk writes as an overloaded
Elasticsearch does (in the manner of elasticsearch-py's FailingBulkClient).

Everything else goes to the real server unchanged. Chosen bulk requests are refused whole with a
429, or lose their connection; chosen documents are answered 429 in a bulk response whose other
documents the real server wrote. The wrapper records which documents each bulk request carried.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig, ObjectApiResponse
from elasticsearch import ApiError, ConnectionError, Elasticsearch

REJECTED = {"type": "es_rejected_execution_exception", "reason": "rejected execution (on purpose)"}


@dataclass
class _Record:
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The document ids of each bulk request, in the order the requests were made.
    requests: list[list[str]] = field(default_factory=list)
    sends: Counter[str] = field(default_factory=Counter)


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "127.0.0.1", 9200),
    )


def _documents(operations: list[bytes]) -> list[tuple[str, str, dict[str, Any], list[bytes]]]:
    """(id, operation, metadata, lines) of each document of a bulk body."""
    documents = []
    lines = iter(operations)
    for line in lines:
        ((op_type, meta),) = orjson.loads(line).items()
        own = [line] if op_type == "delete" else [line, next(lines)]
        documents.append((str(meta["_id"]), op_type, meta, own))
    return documents


class OverloadedClient:
    """The real client, except for the bulk answers chosen by the three predicates.

    `refuse_request(n)`: the n-th bulk request (from 1) is answered 429 whole.
    `drop_request(n)`: the n-th bulk request loses its connection before any answer.
    `refuse_document(id, sends)`: the document, sent for the `sends`-th time, is answered 429.
    """

    def __init__(
        self,
        client: Elasticsearch,
        *,
        refuse_request: Callable[[int], bool] = lambda _n: False,
        drop_request: Callable[[int], bool] = lambda _n: False,
        refuse_document: Callable[[str, int], bool] = lambda _id, _sends: False,
        record: _Record | None = None,
    ) -> None:
        self._client = client
        self._refuse_request = refuse_request
        self._drop_request = drop_request
        self._refuse_document = refuse_document
        self.record = record if record is not None else _Record()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def options(self, **kwargs: Any) -> OverloadedClient:
        return OverloadedClient(
            self._client.options(**kwargs),
            refuse_request=self._refuse_request,
            drop_request=self._drop_request,
            refuse_document=self._refuse_document,
            record=self.record,
        )

    @property
    def requests(self) -> list[list[str]]:
        return self.record.requests

    def sends(self, document_id: str) -> int:
        return self.record.sends[document_id]

    def bulk(self, *, operations: list[bytes], **kwargs: Any) -> ObjectApiResponse[Any]:
        documents = _documents(operations)
        with self.record.lock:
            self.record.requests.append([doc_id for doc_id, *_ in documents])
            number = len(self.record.requests)
            refused = set()
            for position, (doc_id, *_) in enumerate(documents):
                self.record.sends[doc_id] += 1
                if self._refuse_document(doc_id, self.record.sends[doc_id]):
                    refused.add(position)
        if self._refuse_request(number):
            raise ApiError(message="es_rejected_execution_exception", meta=_meta(429), body={})
        if self._drop_request(number):
            raise ConnectionError("connection lost on purpose")
        kept = [lines for n, (*_, lines) in enumerate(documents) if n not in refused]
        answered: list[dict[str, Any]] = []
        meta = _meta(200)
        if kept:
            response = self._client.bulk(
                operations=[line for lines in kept for line in lines], **kwargs
            )
            answered, meta = list(response.body["items"]), response.meta
        written = iter(answered)
        items = [
            {
                op_type: {
                    "_index": doc_meta["_index"],
                    "_id": doc_id,
                    "status": 429,
                    "error": REJECTED,
                }
            }
            if n in refused
            else next(written)
            for n, (doc_id, op_type, doc_meta, _) in enumerate(documents)
        ]
        body = {
            "took": 0,
            "errors": bool(refused) or any("error" in i for i in answered),
            "items": items,
        }
        return ObjectApiResponse(body=body, meta=meta)
