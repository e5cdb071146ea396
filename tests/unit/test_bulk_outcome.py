"""BulkOutcome.add: every answer of the bulk API lands in exactly one bucket."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.bulk import BulkOutcome

KEY = ("children-v1-x", "9434765919")


def _item(op_type: str, *, status: int | None, error: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = {"_index": KEY[0], "_id": KEY[1]}
    if status is not None:
        result["status"] = status
    if error is not None:
        result["error"] = error
    return {op_type: result}


def _bucket(outcome: BulkOutcome) -> str:
    buckets = {
        "written": KEY in outcome.written,
        "superseded": KEY in outcome.superseded,
        "rejected": KEY in outcome.rejected,
        "retryable": KEY in outcome.retryable,
    }
    assert sum(buckets.values()) == 1, buckets
    return next(name for name, present in buckets.items() if present)


MAPPING_ERROR = {"type": "strict_dynamic_mapping_exception", "reason": "[case_notes] not allowed"}
OVERLOAD = {"type": "es_rejected_execution_exception", "reason": "rejected execution"}


@pytest.mark.parametrize(
    ("ok", "item", "bucket"),
    [
        pytest.param(True, _item("index", status=200), "written", id="200-index-updated"),
        pytest.param(True, _item("index", status=201), "written", id="201-index-created"),
        pytest.param(True, _item("delete", status=200), "written", id="200-delete"),
        pytest.param(
            False, _item("delete", status=404), "written", id="404-on-delete-already-gone"
        ),
        pytest.param(False, _item("index", status=404), "rejected", id="404-on-index"),
        pytest.param(
            False,
            _item("index", status=409, error={"type": "version_conflict_engine_exception"}),
            "superseded",
            id="409-newer-version-indexed",
        ),
        pytest.param(
            False, _item("index", status=400, error=MAPPING_ERROR), "rejected", id="400-mapping"
        ),
        pytest.param(
            False, _item("index", status=429, error=OVERLOAD), "retryable", id="429-overload"
        ),
        pytest.param(False, _item("index", status=502), "retryable", id="502-bad-gateway"),
        pytest.param(False, _item("index", status=503), "retryable", id="503-unavailable"),
        pytest.param(False, _item("index", status=504), "retryable", id="504-gateway-timeout"),
        pytest.param(False, _item("index", status=500), "rejected", id="500-internal-error"),
        pytest.param(False, _item("index", status=None), "retryable", id="missing-status"),
    ],
)
def test_each_bulk_answer_is_accounted_for_once(
    ok: bool, item: dict[str, Any], bucket: str
) -> None:
    outcome = BulkOutcome()

    assert outcome.add(ok, item) == KEY
    assert _bucket(outcome) == bucket


def test_a_rejected_document_keeps_the_type_and_reason_of_its_error() -> None:
    outcome = BulkOutcome()

    outcome.add(False, _item("index", status=400, error=MAPPING_ERROR))

    assert outcome.rejected == {KEY: "strict_dynamic_mapping_exception: [case_notes] not allowed"}


def test_a_failure_without_an_error_body_is_described_by_its_status() -> None:
    outcome = BulkOutcome()

    outcome.add(False, _item("index", status=503))

    assert outcome.retryable == {KEY: "status 503"}
