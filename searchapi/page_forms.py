"""The pages' text fields checked with the limits of the API's own request models.

A reason the page accepts is one the API would accept: the limits are read from the models,
not copied.
"""

from __future__ import annotations

from dataclasses import dataclass

import annotated_types
from pydantic import BaseModel

from searchapi.record_schemas import (
    BREAK_GLASS_REASON_MAX,
    BREAK_GLASS_REASON_MIN,
    ConsentRequest,
    ReasonRequest,
    ShieldAccessRequest,
)


@dataclass(frozen=True)
class TextRule:
    """How long a text field must be, and what to say when it is not."""

    label: str
    minimum: int
    maximum: int

    def error(self, value: str) -> str | None:
        """The message tied to the field, or None when `value` (stripped) is right."""
        if len(value) < self.minimum:
            return f"Enter {self.label}, in at least {self.minimum} characters"
        if len(value) > self.maximum:
            label = self.label[0].upper() + self.label[1:]
            return f"{label} must be {self.maximum} characters or fewer"
        return None


def rule_of(model: type[BaseModel], name: str, label: str) -> TextRule:
    """The length rule of `model`'s field `name`."""
    minimum, maximum = 0, 10_000
    for constraint in model.model_fields[name].metadata:
        if isinstance(constraint, annotated_types.MinLen):
            minimum = constraint.min_length
        elif isinstance(constraint, annotated_types.MaxLen):
            maximum = constraint.max_length
    return TextRule(label=label, minimum=minimum, maximum=maximum)


REASON = rule_of(ReasonRequest, "reason", "the reason")
BREAK_GLASS_REASON = TextRule(
    label="the reason", minimum=BREAK_GLASS_REASON_MIN, maximum=BREAK_GLASS_REASON_MAX
)
GIVEN_BY = rule_of(ConsentRequest, "given_by", "who gave consent")
USERNAME = rule_of(ShieldAccessRequest, "username", "the username")
ACCESS_REASON = rule_of(ShieldAccessRequest, "reason", "the reason")
