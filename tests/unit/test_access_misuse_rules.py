"""Search-volume outliers: far above the peers' median, never flagged for small numbers."""

from __future__ import annotations

import pytest

from db.audit import MisuseRules, volume_outliers

RULES = MisuseRules(volume_factor=3.0, volume_mad_k=5.0, volume_min_searches=20)


@pytest.mark.parametrize(
    ("counts", "flagged"),
    [
        ({"a": 10, "b": 11, "c": 9, "d": 10, "heavy": 100}, ["heavy"]),
        ({"a": 10, "b": 11, "c": 9, "d": 10, "e": 29}, []),
        ({"a": 1, "b": 1, "c": 1, "d": 15}, []),
        ({"a": 40, "b": 60, "c": 50, "d": 45, "e": 55, "f": 400}, ["f"]),
        ({}, []),
        ({"alone": 500}, []),
    ],
    ids=[
        "one-heavy-user",
        "busy-but-normal",
        "below-the-minimum",
        "spread-peers",
        "nobody",
        "no-peers",
    ],
)
def test_volume_outliers(counts: dict[str, int], flagged: list[str]) -> None:
    assert [flag.username for flag in volume_outliers(counts, RULES)] == flagged


def test_a_wide_spread_among_peers_raises_the_threshold() -> None:
    tight = volume_outliers({"a": 50, "b": 50, "c": 50, "x": 160}, RULES)
    wide = volume_outliers({"a": 10, "b": 50, "c": 90, "x": 160}, RULES)
    assert [flag.username for flag in tight] == ["x"] and wide == []
