"""The pages' text fields checked with the limits of the API's own request models.

A reason the page accepts is one the API would accept: the limits are read from the models,
not copied, and reasons are judged by the one rule of `searchapi.text_input`.
"""

from __future__ import annotations

from dataclasses import dataclass

import annotated_types
from pydantic import BaseModel
from starlette.datastructures import FormData

from db.normalise import REASON_MAX_LENGTH, REASON_MIN_WORD_CHARACTERS, reason_error
from searchapi.record_schemas import ConsentRequest, ShieldAccessRequest
from searchapi.text_input import plain_text


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


@dataclass(frozen=True)
class ReasonRule(TextRule):
    """A reason: counted in letters and digits, by the rule the API's `Reason` type applies."""

    def error(self, value: str) -> str | None:
        """The message tied to the field, or None when `value` holds enough words."""
        return reason_error(value, label=self.label)


def rule_of(model: type[BaseModel], name: str, label: str) -> TextRule:
    """The length rule of `model`'s field `name`."""
    minimum, maximum = 0, 10_000
    for constraint in model.model_fields[name].metadata:
        if isinstance(constraint, annotated_types.MinLen):
            minimum = constraint.min_length
        elif isinstance(constraint, annotated_types.MaxLen):
            maximum = constraint.max_length
    return TextRule(label=label, minimum=minimum, maximum=maximum)


# Every reason field of every page: break glass, shield, named access, consent override.
REASON = ReasonRule(
    label="the reason", minimum=REASON_MIN_WORD_CHARACTERS, maximum=REASON_MAX_LENGTH
)
BREAK_GLASS_REASON = REASON
GIVEN_BY = rule_of(ConsentRequest, "given_by", "who gave consent")
USERNAME = rule_of(ShieldAccessRequest, "username", "the username")
ACCESS_REASON = REASON


def field(form: FormData, name: str) -> str:
    """A text field of the form, stripped ('' when absent or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def text_field(form: FormData, name: str) -> str:
    """A free-text field (a reason, a name) on one line: line breaks and runs of spaces become
    one space, other control characters (which the database refuses) are dropped."""
    return plain_text(field(form, name))
