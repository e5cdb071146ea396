"""Request and response bodies of `POST /v1/search`."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from db.errors import InvalidInput
from db.normalise import has_control_characters
from mappings.query_builder import Criteria
from searchapi.minimum_criteria import Refusal, search_basis

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
            anchor=basis.anchor,
        )


class FieldMatch(BaseModel):
    """How one field compared in the match model: the level and the weight it earned (log2 of
    m / u: positive for evidence that this is the child, negative against)."""

    level: str = Field(examples=["nickname"])
    weight: float = Field(examples=[2.04])


Strength = Literal["strong", "possible", "weak"]


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
    # Whether the child is shielded: withheld location tells everyone else as much already, so
    # the managers and named practitioners who see the location are told too.
    shielded: bool
    probability: float = Field(
        ge=0.0,
        le=1.0,
        description=(
            "The probability that this is the child sought, from the match model (of results "
            "given 0.9, about nine in ten are the child); the results share it, since one child "
            "is sought"
        ),
    )
    strength: Strength = Field(
        description="strong from a probability of 0.9, possible from 0.5, weak below"
    )
    match_weight: float = Field(
        description="log2 of the posterior odds: the prior plus every field's weight"
    )
    matched: dict[str, MatchKind] = Field(
        description="Per criterion, how Elasticsearch matched it when retrieving the child",
        examples=[{"given_name": "nickname"}],
    )
    comparisons: dict[str, FieldMatch] = Field(
        description=(
            "Per field of the match model (given_names, family_name, date_of_birth, postcode, "
            "gender) that both sides have: the level it agreed at and its weight"
        ),
        examples=[{"given_names": {"level": "nickname", "weight": 2.04}}],
    )


class SearchResponse(BaseModel):
    """Best first; empty with `too_many_matches` when the children beyond `limit` together have
    a probability of at least 0.2 of being the child sought (the list would too likely miss
    it)."""

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
                            "shielded": False,
                            "probability": 0.9731,
                            "strength": "strong",
                            "match_weight": 5.19,
                            "matched": {
                                "given_name": "nickname",
                                "family_name": "phonetic",
                                "date_of_birth": "swapped",
                            },
                            "comparisons": {
                                "given_names": {"level": "nickname", "weight": 2.04},
                                "family_name": {"level": "phonetic", "weight": 3.57},
                                "date_of_birth": {"level": "day_month_swapped", "weight": 8.75},
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
