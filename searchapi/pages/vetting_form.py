"""The vetting form of the admin pages: typed dates in, what `record_vetting` takes out.

Pure (no I/O). The rules of a good record stay in `db.access.vetting` (`change_problems`); this
module reads the form's own shape (real dates) and merges the services' refusals with its own,
so that the form shows every error at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from starlette.datastructures import FormData

from db.access import VettingChange, change_problems
from searchapi.pages.admin_form import sentence
from searchapi.pages.form_dates import DATE_HINT, parse_day, show_day
from searchapi.text_input import plain_text

# The fields top to bottom (the error summary lists them so), and how their errors name them.
VETTING_FIELDS: Final = (
    "identity_checked_by",
    "identity_checked_on",
    "dbs_checked_on",
    "training_completed_on",
)
_DATE_LABELS: Final = {
    "identity_checked_on": "the date of the identity check",
    "dbs_checked_on": "the date of the DBS check",
    "training_completed_on": "the date the training was completed",
}
# The services' refusal of an empty form is about no field: the form's first takes it.
_WHOLE_FORM: Final = "vetting"


@dataclass
class VettingForm:
    """What was typed (to show again), the change it makes, and every error by field."""

    values: dict[str, str]
    change: VettingChange
    errors: dict[str, str] = field(default_factory=dict)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return plain_text(value.strip()) if isinstance(value, str) else ""


def parse_vetting_form(form: FormData, *, today: date) -> VettingForm:
    """The change typed into the form (a blank field leaves that fact as it was), and the
    form's and the services' errors, in the form's order."""
    values = {name: _text(form, name) for name in VETTING_FIELDS}
    own: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, label in _DATE_LABELS.items():
        days[name] = None
        if values[name]:
            days[name] = parse_day(values[name])
            if days[name] is None:
                own[name] = f"Enter {label} as a real date. {DATE_HINT}"
    change = VettingChange(
        identity_checked_by=values["identity_checked_by"] or None,
        identity_checked_on=days["identity_checked_on"],
        dbs_checked_on=days["dbs_checked_on"],
        training_completed_on=days["training_completed_on"],
    )
    problems = change_problems(change, today=today)
    if own:
        # A date that could not be read is not "missing": only the form's own error is said.
        problems = {
            name: error
            for name, error in problems.items()
            if name not in own and name != _WHOLE_FORM
        }
    said = {
        (VETTING_FIELDS[0] if name == _WHOLE_FORM else name): sentence(error.message)
        for name, error in problems.items()
    }
    merged = {**said, **own}
    errors: dict[str, str] = {name: merged[name] for name in VETTING_FIELDS if name in merged}
    return VettingForm(values=values, change=change, errors=errors)


def form_values(current: Mapping[str, object]) -> dict[str, str]:
    """A user's recorded vetting as the form shows it (blank where nothing is recorded)."""
    values = {}
    for name in VETTING_FIELDS:
        value = current.get(name)
        values[name] = show_day(value) if isinstance(value, date) else str(value or "")
    return values
