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
