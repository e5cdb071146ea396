"""Validate one import line: a normalised `ValidLine`, or the reasons it is rejected."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from db.load.import_line import ImportedChild, ImportedInvolvement, ImportedOrganisation

LINE_FIELD: Final = "(line)"
MAX_LINE_CHARACTERS: Final = 100_000
# Bump when the normalisation changes, so that every child is rewritten once.
_HASH_VERSION: Final = b"v1\n"
_LATER_LISTS: Final = ("other_names", "previous_addresses")
_URN = re.compile(r"^[0-9]{6}$")
_ODS_PRACTICE = re.compile(r"^[A-Z][0-9]{5}$")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a line (or one field of it) was not loaded."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class ValidLine:
    """A line that passed validation, with the hash of its normalised form."""

    line: int
    record: ImportedChild
    source_hash: bytes


def field_path(loc: Sequence[int | str]) -> str:
    """('carers', 0, 'phone') -> 'carers[0].phone'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or LINE_FIELD


def _reason(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a key of the import format"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "json_invalid":
        return f"not valid JSON: {ctx.get('error', error['msg'])}"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "is not a JSON object" if not error["loc"] else "must be an object"
    if kind == "string_type":
        return "must be a string"
    if kind == "bool_type":
        return "must be true or false"
    if kind == "list_type":
        return "must be a list"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    return error["msg"]


def _organisation_code_problem(kind: str, organisation: ImportedOrganisation) -> str | None:
    if kind == "education" and _URN.match(organisation.code) is None:
        return "must be the 6-digit URN of the education setting"
    if kind == "gp_practice" and _ODS_PRACTICE.match(organisation.code) is None:
        return "must be the ODS code of the practice, such as A81001"
    return None


def _lead_problems(involvements: Sequence[ImportedInvolvement]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    lead: int | None = None
    for index, involvement in enumerate(involvements):
        if not involvement.lead_professional or involvement.end_date is not None:
            continue
        if lead is None:
            lead = index
        else:
            problems.append(
                (
                    f"involvements[{index}].lead_professional",
                    f"involvements[{lead}] is already the current lead professional",
                )
            )
    return problems


def cross_field_problems(record: ImportedChild) -> list[tuple[str, str]]:
    """The (field, reason) pairs of rules that span several fields of a valid record."""
    problems: list[tuple[str, str]] = []
    for key, kind in (("education_setting", "education"), ("gp_practice", "gp_practice")):
        organisation = getattr(record, key)
        if organisation is not None:
            problem = _organisation_code_problem(kind, organisation)
            if problem is not None:
                problems.append((f"{key}.code", problem))
    for index, involvement in enumerate(record.involvements):
        problem = _organisation_code_problem(involvement.service.kind, involvement.service)
        if problem is not None:
            problems.append((f"involvements[{index}].service.code", problem))
    problems.extend(_lead_problems(record.involvements))
    return problems


def source_hash(record: ImportedChild) -> bytes:
    """A digest of the normalised line: equal digests mean nothing to write."""
    digest = hashlib.blake2b(_HASH_VERSION, digest_size=16)
    # The history lists came later: left out when empty, so that a line loaded before they
    # existed keeps its digest and loading it again still writes nothing.
    empty = {key for key in _LATER_LISTS if not getattr(record, key)}
    digest.update(record.model_dump_json(exclude=empty).encode())
    return digest.digest()


def validate_line(text: str, *, today: date, line: int = 0) -> ValidLine | list[Rejection]:
    """Validate and normalise one import line numbered `line`; `today` dates the age rules."""
    if len(text) > MAX_LINE_CHARACTERS:
        return [Rejection(line, LINE_FIELD, f"is longer than {MAX_LINE_CHARACTERS} characters")]
    try:
        record = ImportedChild.model_validate_json(text, context={"today": today})
    except ValidationError as exc:
        return [
            Rejection(line, field_path(error["loc"]), _reason(error))
            for error in exc.errors(include_url=False)
        ]
    problems = cross_field_problems(record)
    if problems:
        return [Rejection(line, field, reason) for field, reason in problems]
    return ValidLine(line=line, record=record, source_hash=source_hash(record))
