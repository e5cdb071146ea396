"""Request and response bodies of corrections, their history and the feeds' changes that wait."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from searchapi.text_input import OneLine, Reason
from searchapi.update_schemas import AddressRequest

EARLIEST_BIRTH: Final = date(1990, 1, 1)


def _required(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _plausible_birth(value: date) -> date:
    # The schema's own rule (ck_child_date_of_birth), and not in the future.
    if value > date.today():
        raise ValueError("is in the future")
    if value < EARLIEST_BIRTH:
        raise ValueError(f"is before {EARLIEST_BIRTH.isoformat()}")
    return value


# A child's name part as the schema takes it (cp_is_clean_text(..., 100)).
NamePart = Annotated[OneLine, Field(max_length=100), AfterValidator(_required)]
BirthDate = Annotated[date, AfterValidator(_plausible_birth)]
_NEEDS: dict[str, tuple[str, ...]] = {
    "name": ("given_names", "family_name"),
    "date_of_birth": ("date_of_birth",),
    "address": ("address",),
}


class CorrectionRequest(BaseModel):
    """A correction of one field, with the reason; only that field's values."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "field": "name",
                    "given_names": "Zoë",
                    "family_name": "O'Brien",
                    "reason": "Spelling confirmed with the birth certificate",
                },
                {
                    "field": "date_of_birth",
                    "date_of_birth": "2019-03-14",
                    "reason": "Day and month were swapped at registration",
                },
            ]
        },
    )

    field: Literal["name", "date_of_birth", "address"]
    given_names: NamePart | None = None
    family_name: NamePart | None = None
    date_of_birth: BirthDate | None = None
    address: AddressRequest | None = None
    reason: Reason = Field(examples=["Spelling confirmed with the birth certificate"])

    @model_validator(mode="after")
    def _values_of_the_field(self) -> Self:
        needed = _NEEDS[self.field]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a correction of {self.field} needs {' and '.join(missing)}")
        others = [
            name
            for names in _NEEDS.values()
            for name in names
            if name not in needed and getattr(self, name) is not None
        ]
        if others:
            raise ValueError(f"a correction of {self.field} takes no {', '.join(others)}")
        return self

    def value(self) -> dict[str, Any]:
        """The corrected value, as the history stores it."""
        if self.field == "name":
            return {"given_names": self.given_names, "family_name": self.family_name}
        if self.field == "date_of_birth":
            assert self.date_of_birth is not None
            return {"date_of_birth": self.date_of_birth.isoformat()}
        assert self.address is not None
        return {
            "lines": list(self.address.lines),
            "town": self.address.town,
            "postcode": self.address.postcode,
        }


class CorrectionView(BaseModel):
    """One entry of a record's history: the value before and after, who, when and why."""

    id: int
    field: str
    kind: str = Field(examples=["correction", "feed_confirmed"])
    previous: dict[str, Any]
    value: dict[str, Any]
    reason: str
    corrected_by: str
    organisation: str | None
    corrected_at: datetime
    source: str | None


class CorrectionResponse(BaseModel):
    """The correction made (the index follows within seconds)."""

    message: str
    correction: CorrectionView
    record_version: int
    request_id: str


class HistoryResponse(BaseModel):
    """A record's corrections, newest first."""

    identifier: str
    corrections: list[CorrectionView]
    request_id: str


class WaitingView(BaseModel):
    """A newer feed record's change to a corrected field, waiting for a decision."""

    id: int
    identifier: str
    child_name: str
    field: str
    current: dict[str, Any]
    proposed: dict[str, Any]
    source: str
    record_id: str
    as_of: date
    queued_at: datetime


class WaitingResponse(BaseModel):
    """The changes waiting for the reader's authorities, oldest first."""

    waiting: list[WaitingView]
    request_id: str


class DecisionRequest(BaseModel):
    """Confirm the feed's change (it is applied) or reject it (the correction stands)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirmed", "rejected"]
