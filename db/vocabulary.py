"""The closed lists of the import format, shared by the models, the validation and the loader."""

from __future__ import annotations

from typing import Final, Literal, get_args

Gender = Literal["male", "female", "other", "unknown"]
ChildStatus = Literal["active", "archived"]
Relationship = Literal[
    "mother",
    "father",
    "step_parent",
    "grandparent",
    "foster_carer",
    "guardian",
    "other_relative",
    "other",
]
OrganisationKind = Literal[
    "education",
    "gp_practice",
    "health_visiting",
    "social_care",
    "youth_service",
    "early_help",
    "sexual_health",
    "mental_health",
    "substance_misuse",
    "other",
]

GENDERS: Final[tuple[str, ...]] = get_args(Gender)
CHILD_STATUSES: Final[tuple[str, ...]] = get_args(ChildStatus)
RELATIONSHIPS: Final[tuple[str, ...]] = get_args(Relationship)
ORGANISATION_KINDS: Final[tuple[str, ...]] = get_args(OrganisationKind)
# Involvements with these services are sensitive unless the line says otherwise.
SENSITIVE_KINDS: Final[frozenset[str]] = frozenset(
    {"sexual_health", "mental_health", "substance_misuse"}
)

# Why an archived record may be opened (docs/archive-access.md): the limited purposes for which
# the ContactPoint regulations (SI 2007/2182) and the Department's statements allowed archived
# information to be read. The values are stored in the audit; the words are the pages'.
ARCHIVE_REASONS: Final[dict[str, str]] = {
    "serious_case_review": "A serious case review (child safeguarding practice review)",
    "child_death_review": "A review or investigation of a child's death",
    "section_47_enquiry": "A child protection enquiry (section 47 of the Children Act 1989)",
    "legal_proceedings": "Legal proceedings: a court order, or the rules of court",
    "complaint_investigation": "The investigation of a complaint, or an inquiry",
    "subject_access_request": "A request by the person the record is about (subject access)",
}
