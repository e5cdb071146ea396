"""Splink's comparisons built from `matching.comparisons`, so trained levels line up with ours.

Each Splink level's SQL calls a DuckDB function that runs the same Python level function as
the scorer (registered on the connection by `register_level_functions`); the levels' conditions
are "the function returned this index". Nothing is translated to SQL, so nothing can drift.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from duckdb import sqltypes
from duckdb.func import FunctionNullHandling

from matching.comparisons import COMPARISONS, MISSING, Comparison
from matching.prepared import Prepared, prepare
from matching.records import MatchRecord

__all__ = ["FRAME_COLUMNS", "register_level_functions", "splink_comparisons"]

# The columns of the frame Splink trains on, with their DuckDB types.
FRAME_COLUMNS: dict[str, Any] = {
    "given_names": sqltypes.VARCHAR,
    "family_name": sqltypes.VARCHAR,
    "date_of_birth": sqltypes.VARCHAR,  # ISO date
    "birth_year": sqltypes.INTEGER,
    "postcode": sqltypes.VARCHAR,
    "town": sqltypes.VARCHAR,
    "gender": sqltypes.VARCHAR,
    "other_family_names": duckdb.list_type(sqltypes.VARCHAR),
    "previous_postcodes": duckdb.list_type(sqltypes.VARCHAR),
}

_LIST_COLUMNS = ("other_family_names", "previous_postcodes")


def _function_name(comparison: Comparison) -> str:
    return f"cp_level_{comparison.name}"


@lru_cache(maxsize=262_144)
def _side(columns: tuple[str, ...], values: tuple[Any, ...]) -> Prepared:
    """One side of a pair, prepared (memoised: every record is on many pairs)."""
    fields = dict(zip(columns, values, strict=True))
    if isinstance(fields.get("date_of_birth"), str):
        fields["date_of_birth"] = date.fromisoformat(fields["date_of_birth"])
    for column in _LIST_COLUMNS:
        if column in fields and fields[column] is None:
            fields[column] = ()
    return prepare(MatchRecord(**fields))


def _level_function(comparison: Comparison) -> Any:
    columns = comparison.columns
    half = len(columns)
    fine = len(comparison.levels)
    level_of = comparison.level_of

    def level(*values: Any) -> int:
        # DuckDB hands lists over as Python lists: tuples, to be hashable for the memo.
        values = tuple(tuple(v) if isinstance(v, list) else v for v in values)
        index = level_of(_side(columns, values[:half]), _side(columns, values[half:]))
        # Coarse levels need a side that knows less; training rows are whole records.
        return index if index < fine else MISSING

    # DuckDB reads the arity from the signature, so spell it out.
    if len(columns) == 1:
        return lambda a, b: level(a, b)
    if len(columns) == 2:
        return lambda a1, a2, b1, b2: level(a1, a2, b1, b2)
    if len(columns) == 3:
        return lambda a1, a2, a3, b1, b2, b3: level(a1, a2, a3, b1, b2, b3)
    raise ValueError(f"{comparison.name}: comparisons read one to three columns")


def register_level_functions(connection: duckdb.DuckDBPyConnection) -> None:
    """Create one DuckDB function per comparison: (left columns..., right columns...) -> level."""
    for comparison in COMPARISONS:
        types = [FRAME_COLUMNS[column] for column in comparison.columns] * 2
        connection.create_function(
            _function_name(comparison),
            _level_function(comparison),
            types,
            sqltypes.INTEGER,
            null_handling=FunctionNullHandling.SPECIAL,
        )


def _call(comparison: Comparison) -> str:
    left = ", ".join(f"{column}_l" for column in comparison.columns)
    right = ", ".join(f"{column}_r" for column in comparison.columns)
    return f"{_function_name(comparison)}({left}, {right})"


def splink_comparisons() -> list[cl.CustomComparison]:
    """One Splink comparison per comparison of ours: a null level, then our fine levels."""
    built = []
    for comparison in COMPARISONS:
        call = _call(comparison)
        # Typed loosely: Splink's own annotation names a class it does not export.
        levels: list[Any] = [
            cll.CustomLevel(f"{call} = {MISSING}", "missing").configure(is_null_level=True),
            *(
                cll.CustomLevel(f"{call} = {index}", level.name)
                for index, level in enumerate(comparison.levels)
            ),
        ]
        built.append(
            cl.CustomComparison(
                output_column_name=comparison.name,
                comparison_levels=levels,
                comparison_description=comparison.name,
            )
        )
    return built
