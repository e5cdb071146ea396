"""Request and response bodies of `POST /v1/search`."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from db.errors import InvalidInput
from db.normalise import has_control_characters
from searchapi.minimum_criteria import Refusal, search_basis
from searchapi.query_builder import Criteria

MAX_LIMIT = 50

Gender = Literal["male", "female", "other", "unknown"]
MatchKind = Literal[
    "exact",
    "folded",
    "any_order",
    "partial",
    "nickname",
    "phonetic",
    "typo",
    "swapped",
    "outward",
    "year_only",
    "former",
    "previous",
]


class SearchRequest(BaseModel):
    """What the searcher knows, spelt as heard; enough of it by `searchapi.minimum_criteria`
    (a family name and one more thing, a given name with the full date of birth and a full
    postcode, or an identifier)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"given_name": "Bill", "family_name": "Tomson", "date_of_birth": "2016-04-03"},
                {"family_name": "O'Brien-Smith", "birth_year": 2014, "postcode": "LS6"},
            ]
        },
    )

    given_name: str | None = Field(default=None, max_length=100, examples=["Siobhan"])
    family_name: str | None = Field(default=None, max_length=100, examples=["Thompson"])
    date_of_birth: date | None = Field(default=None, examples=["2016-03-04"])
    birth_year: int | None = Field(default=None, ge=1900, le=2100, examples=[2016])
    gender: Gender | None = None
    postcode: str | None = Field(default=None, max_length=10, examples=["LS6 2AB", "LS6"])
    address: str | None = Field(default=None, max_length=200, examples=["12 Mill Lane, Leeds"])
    identifier: str | None = Field(default=None, max_length=20, examples=["9202466335"])
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)

    @field_validator("given_name", "family_name", "postcode", "address", "identifier")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if has_control_characters(value):
            raise ValueError("must not contain control characters")
        return value.strip() or None

    def criteria(self) -> Criteria:
        """The criteria, once the minimum-criteria rule holds (422 naming what to add)."""
        if self.date_of_birth is not None and self.birth_year is not None:
            raise InvalidInput("Give date_of_birth or birth_year, not both.")
        basis = search_basis(
            given_name=self.given_name,
            family_name=self.family_name,
            date_of_birth=self.date_of_birth,
            birth_year=self.birth_year,
            postcode=self.postcode,
            identifier=self.identifier,
        )
        if isinstance(basis, Refusal):
            raise InvalidInput(basis.message)
        return Criteria(
            given_name=self.given_name,
            family_name=self.family_name,
            date_of_birth=self.date_of_birth,
            birth_year=self.birth_year,
            gender=self.gender,
            postcode=self.postcode,
            address=self.address,
            identifier=self.identifier,
            required=basis.required,
        )


class SearchResult(BaseModel):
    """One child; `town` and `postcode_outward` are null when its location is withheld."""

    identifier: str
    given_names: str
    family_name: str
    gender: str
    date_of_birth: date
    local_authority: str | None
    town: str | None
    postcode_outward: str | None
    location_withheld: bool
    score: float = Field(ge=0.0, le=1.0, description="1 when every criterion matched exactly")
    matched: dict[str, MatchKind] = Field(
        description="Per criterion, how it matched", examples=[{"given_name": "nickname"}]
    )


class SearchResponse(BaseModel):
    """Best first; empty with `too_many_matches` when more children match well than `limit`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "identifier": "9202466335",
                            "given_names": "William",
                            "family_name": "Thompson",
                            "gender": "male",
                            "date_of_birth": "2016-03-04",
                            "local_authority": "Leeds",
                            "town": "Leeds",
                            "postcode_outward": "LS6",
                            "location_withheld": False,
                            "score": 0.87,
                            "matched": {
                                "given_name": "nickname",
                                "family_name": "phonetic",
                                "date_of_birth": "swapped",
                            },
                        }
                    ],
                    "too_many_matches": False,
                    "message": None,
                    "request_id": "5f0c2e9b8d3a4c1e9f7a6b5c4d3e2f10",
                }
            ]
        }
    )

    results: list[SearchResult]
    too_many_matches: bool
    message: str | None = Field(default=None, description="What to add when there are too many")
    request_id: str
