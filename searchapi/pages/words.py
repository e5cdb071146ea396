"""The pages' words: for the stored values (one vocabulary, so that no page shows
`step_parent`) and for counts ("1 account", never "1 accounts").

A value the vocabulary does not know (a free-text kind, say) is shown with its underscores and
hyphens as spaces.
"""

from __future__ import annotations

import re
from typing import Final

LABELS: Final[dict[str, str]] = {
    # Carers' relationships to the child.
    "mother": "mother",
    "father": "father",
    "step_parent": "step-parent",
    "grandparent": "grandparent",
    "foster_carer": "foster carer",
    "guardian": "guardian",
    "other_relative": "other relative",
    "other": "other",
    # The kinds of service.
    "education": "education",
    "gp_practice": "GP practice",
    "health_visiting": "health visiting",
    "social_care": "social care",
    "youth_service": "youth service",
    "early_help": "early help",
    "sexual_health": "sexual health",
    "mental_health": "mental health",
    "substance_misuse": "substance misuse",
    # The national feeds and the details they set.
    "births": "births (General Register Office)",
    "school-census": "school census",
    "child-benefit": "child benefit",
    "health": "health demographics (NHS)",
    "name": "name",
    "date_of_birth": "date of birth",
    "gender": "gender",
    "address": "address",
    "education_setting": "school",
    "status": "record status",
    "date_of_death": "date of death",
}

# The parts of a record that the audit says were shown or withheld (`record_view`'s names).
RECORD_PARTS: Final[dict[str, str]] = {
    "names": "names",
    "gender": "gender",
    "date_of_birth": "date of birth",
    "carers": "carers",
    "involvements": "services",
    "address": "address",
    "previous_addresses": "previous addresses",
    "carers.address": "carers' addresses",
    "education_setting": "school",
    "gp_practice": "GP practice",
    "carers.phone": "carers' phones",
    "carers.email": "carers' e-mails",
    "involvements.service": "services' names",
    "involvements.phone": "services' phones",
    "involvements.email": "services' e-mails",
}
_ONE_SERVICE: Final = re.compile(r"involvements\[(\d+)\]")


def record_part(name: str) -> str:
    """The words for a part of a record named in the audit: "involvements[7]" is the sensitive
    service of involvement 7, whose details were withheld."""
    if found := _ONE_SERVICE.fullmatch(name):
        return f"sensitive service (involvement {found.group(1)})"
    return RECORD_PARTS.get(name) or label(name)


def label(value: str | None, *, start: bool = False) -> str:
    """The words for a stored value; `start` capitalises them to begin a sentence or a cell."""
    if not value:
        return ""
    words = LABELS.get(value) or value.replace("_", " ").replace("-", " ")
    return words[:1].upper() + words[1:] if start else words


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """The count and its noun, agreeing: "1 account", "2 accounts", "3 children"."""
    noun = singular if count == 1 else plural_form or f"{singular}s"
    return f"{count:,} {noun}"
