"""Path parameters shared by the JSON routes and the pages: what an address may name."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path

IDENTIFIER_PATTERN: Final = r"^[0-9A-Za-z]{1,20}$"
IdentifierPath = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, examples=["9202466335"])]
InvolvementPath = Annotated[int, Path(ge=1)]
# Within BIGINT: a larger number names no review, and is a 422 rather than a database error.
ReviewPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
