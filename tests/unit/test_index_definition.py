"""The index definition: names, settings, and a mapping built only from server built-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mappings import ALIAS, INDEX_VERSION, index_mappings, index_settings, physical_index_name


def test_physical_index_name_is_versioned_and_timestamped_in_utc() -> None:
    now = datetime(2026, 11, 26, 1, 22, 33, 456789, tzinfo=UTC)
    assert physical_index_name(now) == f"children-v{INDEX_VERSION}-20261126t012233456"


def test_physical_index_name_converts_local_time_to_utc() -> None:
    local = datetime(2026, 11, 26, 2, 22, 33, tzinfo=timezone(timedelta(hours=1)))
    assert physical_index_name(local).endswith("-20261126t012233000")


def test_physical_index_name_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError):
        physical_index_name(datetime(2026, 11, 26))


def test_physical_index_names_start_with_the_alias() -> None:
    assert physical_index_name(datetime.now(UTC)).startswith(f"{ALIAS}-v")
    assert ALIAS == "children"


def test_one_shard_and_replicas_as_asked() -> None:
    settings = index_settings(replicas=0)
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (1, 0)
    assert index_settings()["number_of_replicas"] == 1


def _specs(properties: dict[str, Any]) -> list[dict[str, Any]]:
    specs: list[dict[str, Any]] = []
    for spec in properties.values():
        specs.append(spec)
        specs.extend(_specs(spec.get("properties", {})))
    return specs


# Server core only: analysis-common, mapper-extras and painless are missing from the
# integration-test distribution (see docs/search-normalisation.md).
_CORE_TYPES = {"keyword", "text", "date", "integer", "long", "boolean", "object"}
_CORE_ANALYZERS = {"standard", "simple", "whitespace", "stop", "keyword"}


def test_mapping_uses_only_types_and_analyzers_of_the_server_core() -> None:
    specs = _specs(index_mappings()["properties"])
    assert {spec["type"] for spec in specs} <= _CORE_TYPES
    assert {spec["analyzer"] for spec in specs if "analyzer" in spec} <= _CORE_ANALYZERS
    assert "analysis" not in index_settings()


def test_display_fields_are_stored_but_not_searchable() -> None:
    display = index_mappings()["properties"]["display"]["properties"]
    assert all(spec["index"] is False and spec["doc_values"] is False for spec in display.values())


def test_physical_index_names_follow_another_alias() -> None:
    now = datetime(2026, 11, 26, 1, 22, 33, tzinfo=UTC)
    name = physical_index_name(now, alias="children-bench")
    assert name == f"children-bench-v{INDEX_VERSION}-20261126t012233000"
