"""The search page's form: typed values in, a `SearchRequest` or errors tied to fields out.

Pure (no I/O): what is enough to search on is decided by `searchapi.minimum_criteria`, the
same rule as the API's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from pydantic import ValidationError

from searchapi.minimum_criteria import Refusal, search_basis
from searchapi.search_schemas import SearchRequest, SearchResult

TEXT_FIELDS: Final = ("given_name", "family_name", "postcode", "address")
DATE_PARTS: Final = ("dob_day", "dob_month", "dob_year")
GENDERS: Final = ("female", "male", "other", "unknown")
MINIMUM_RULE: Final = (
    "To search you need the family name and at least one of: a given name, a date of birth "
    "(or just the year of birth), or a postcode. Without the family name you need the given "
    "name, the full date of birth and the full postcode. Names need at least two letters. "
    "This stops the index being browsed as a list."
)
_LABELS: Final = {
    "given_name": "given name",
    "family_name": "family name",
    "date_of_birth": "date of birth",
    "postcode": "postcode",
    "address": "address",
    "gender": "gender",
}
_KINDS: Final = {
    "exact": "exact {0}",
    "folded": "{0}: case or accents differ",
    "any_order": "names in another order",
    "partial": "part of {0}",
    "nickname": "nickname",
    "phonetic": "{0} sounds alike",
    "typo": "typo in {0}",
    "swapped": "day and month swapped",
    "outward": "postcode area",
    "year_only": "year of birth",
    "former": "a former {0}",
    "previous": "a previous {0}",
}
# What to suggest when too many children match, in the order a searcher is likely to know it.
_REFINE: Final = (
    ("date_of_birth", "a date of birth"),
    ("postcode", "a postcode"),
    ("given_name", "a given name"),
    ("gender", "the gender"),
    ("address", "an address"),
)


@dataclass
class SearchForm:
    """What was typed (shown again), the request it makes, and the errors by field id."""

    values: dict[str, str]
    request: SearchRequest | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _date_of_birth(values: Mapping[str, str], errors: dict[str, str]) -> dict[str, object]:
    day, month, year = (values[part] for part in DATE_PARTS)
    if not (day or month or year):
        return {}
    if not year:
        errors["dob_year"] = "Date of birth must include a year"
        return {}
    if not (year.isdigit() and len(year) == 4):
        errors["dob_year"] = "Year of birth must be 4 numbers, like 2016"
        return {}
    if not (day or month):
        return {"birth_year": int(year)}
    if not (day and month):
        first = "dob_day" if not day else "dob_month"
        errors[first] = "Date of birth must include a day and month, or give the year alone"
        return {}
    try:
        return {"date_of_birth": date(int(year), int(month), int(day))}
    except ValueError:
        errors["dob_day"] = "Date of birth must be a real date, like 27 3 2016"
        return {}


def parse_search_form(form: Mapping[str, object]) -> SearchForm:
    """Check the form; a request only when it is complete and enough to search on."""
    names = (*TEXT_FIELDS, *DATE_PARTS, "gender")
    values = {name: str(form.get(name) or "").strip() for name in names}
    parsed = SearchForm(values=values)
    body: dict[str, object] = {name: values[name] or None for name in TEXT_FIELDS}
    body.update(_date_of_birth(values, parsed.errors))
    if values["gender"]:
        if values["gender"] not in GENDERS:
            parsed.errors["gender"] = "Select a gender, or leave it unselected"
        else:
            body["gender"] = values["gender"]
    try:
        request = SearchRequest.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "family_name"
            label = _LABELS.get(name, name)
            parsed.errors.setdefault(name, f"The {label} is too long or not valid")
        return parsed
    if parsed.errors:
        return parsed
    basis = search_basis(
        given_name=request.given_name,
        family_name=request.family_name,
        date_of_birth=request.date_of_birth,
        birth_year=request.birth_year,
        postcode=request.postcode,
        identifier=request.identifier,
    )
    if isinstance(basis, Refusal):
        parsed.errors[basis.field] = basis.hint
        return parsed
    parsed.request = request
    return parsed


def match_tags(result: SearchResult) -> list[str]:
    """Short tags saying how each criterion matched, e.g. "nickname", "typo in date of birth"."""
    return [
        _KINDS.get(kind, kind).format(_LABELS.get(name, name))
        for name, kind in result.matched.items()
    ]


def probability_words(probability: float) -> str:
    """The probability that a result is the child, in words a practitioner reads at a glance."""
    if probability >= 0.995:
        return "more than 99 in 100 likely"
    if probability < 0.005:
        return "less than 1 in 100 likely"
    return f"{round(probability * 100)} in 100 likely"


def too_many_advice(request: SearchRequest) -> str:
    """What to add when too many children match, in plain words."""
    given = request.model_dump(exclude_none=True)
    if "birth_year" in given:
        given["date_of_birth"] = None
        missing = ["the full date of birth"]
    else:
        missing = []
    missing += [words for name, words in _REFINE if name not in given]
    add = " or ".join(missing[:2]) if missing else "more details"
    return f"Too many matches: add {add}."
