"""The linking decision, rule by rule, with the shipped match model and reads handed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from feeds import FeedAddress, FeedRecord, IdentifierKind, Source, read_feed
from feeds.demo import nhs_number, pupil_number, write_demo_feeds
from feeds.linking import Outcome, Recent, Thresholds, Tier, decide, match_record
from feeds.records import LINKING_IDENTIFIERS
from feeds.sources import CSV_ROWS
from mappings import build_child_document
from matching import load_default_model

MODEL = load_default_model().for_population(1_000_000)
THRESHOLDS = Thresholds(link=0.99, review=0.2, hold=0.01)
RECORD = FeedRecord(
    source=Source.SCHOOL_CENSUS,
    record_id="107992/P800012326001",
    version=20261001,
    as_of=date(2026, 10, 1),
    given_names="Amelia",
    family_name="Hartley",
    date_of_birth=date(2019, 3, 14),
    gender="female",
    address=FeedAddress(lines=("12 Mill Lane",), town="Leeds", postcode="LS6 2AB"),
    identifiers=((IdentifierKind.UPN, "P800012326001"),),
)


def _document(
    identifier: str, given: str, family: str = "Hartley", *, shielded: bool = False, **more: Any
) -> dict[str, Any]:
    from mappings import IndexedChild

    child = IndexedChild(
        identifier=identifier,
        given_names=given,
        family_name=family,
        gender=more.get("gender", "female"),
        date_of_birth=more.get("date_of_birth", date(2019, 3, 14)),
        address_lines=("12 Mill Lane",),
        town="Leeds",
        postcode=more.get("postcode", "LS6 2AB"),
        local_authority_code="E08000035",
        local_authority_name="Leeds",
        status="active",
        shielded=shielded,
        record_version=1,
    )
    return build_child_document(child)


@dataclass
class Reads:
    hits: list[Mapping[str, Any]] = field(default_factory=list)
    previous: str | None = None
    holders: set[str] = field(default_factory=set)
    held: dict[str, set[tuple[IdentifierKind, str]]] = field(default_factory=dict)
    made: list[Recent] = field(default_factory=list)

    def previous_child(self, record: FeedRecord) -> str | None:
        return self.previous

    def children_with(self, identifiers: Iterable[tuple[IdentifierKind, str]]) -> set[str]:
        assert {kind for kind, _ in identifiers} <= LINKING_IDENTIFIERS
        return self.holders

    def held_identifiers(
        self, children: Iterable[str], kinds: Iterable[IdentifierKind]
    ) -> dict[str, set[tuple[IdentifierKind, str]]]:
        wanted = set(children)
        return {child: values for child, values in self.held.items() if child in wanted}

    # The broad pass's own hits, when they differ from the blocking pass's (`hits`).
    broad: list[Mapping[str, Any]] | None = None
    tiers: list[Tier] = field(default_factory=list)

    def search(self, body: dict[str, Any], *, tier: Tier) -> list[Mapping[str, Any]]:
        # The system's retrieval: no access filter, whatever the shield; only the merged-away
        # records (their survivors are the children) are left out.
        assert body["query"]["bool"]["filter"] == [
            {"bool": {"must_not": [{"term": {"status": "merged"}}]}}
        ]
        self.tiers.append(tier)
        if tier is Tier.BROAD and self.broad is not None:
            return self.broad
        return self.hits

    def recent(self, record: FeedRecord) -> Sequence[Recent]:
        return self.made


def _decide(reads: Reads, record: FeedRecord = RECORD) -> Any:
    return decide(
        record, lookups=reads, model=MODEL, thresholds=THRESHOLDS, can_create=lambda r: True
    )


def test_an_earlier_version_of_the_record_decides_first() -> None:
    decision = _decide(Reads(previous="9000000001", holders={"9000000002"}))
    assert (decision.outcome, decision.identifier) == (Outcome.LINKED, "9000000001")


def test_a_upn_on_one_child_links_at_once_and_on_two_goes_to_review() -> None:
    assert _decide(Reads(holders={"9000000002"})).identifier == "9000000002"
    decision = _decide(Reads(holders={"9000000002", "9000000003"}))
    assert decision.outcome is Outcome.REVIEW and "more than one child" in decision.reason


def test_the_same_child_by_the_match_engine_is_linked() -> None:
    decision = _decide(Reads(hits=[_document("9434765919", "Amelia Jane")]))
    assert (decision.outcome, decision.identifier) == (Outcome.LINKED, "9434765919")
    assert decision.probability is not None and decision.probability >= 0.99


def test_nobody_like_it_creates_a_child() -> None:
    other = _document("9434765919", "Oscar", "Nowak", date_of_birth=date(2012, 1, 2))
    assert _decide(Reads(hits=[other])).outcome is Outcome.CREATED
    assert _decide(Reads()).outcome is Outcome.CREATED
    too_little = decide(
        RECORD, lookups=Reads(), model=MODEL, thresholds=THRESHOLDS, can_create=lambda r: False
    )
    assert too_little.outcome is Outcome.REVIEW


def test_a_twin_is_never_linked_to_the_other_twin() -> None:
    # The same family name, date of birth and address; another given name.
    decision = _decide(Reads(hits=[_document("9434765919", "Ruby")]))
    assert decision.outcome is Outcome.REVIEW and "twin" in decision.reason
    # With both twins in the index, the record's own twin wins.
    both = _decide(Reads(hits=[_document("9434765919", "Ruby"), _document("9434765927", "Amelia")]))
    assert (both.outcome, both.identifier) == (Outcome.LINKED, "9434765927")


def test_a_date_of_birth_that_disagrees_is_never_linked_however_likely_the_rest() -> None:
    # The same names and postcode: the model alone would link these at 0.998 and more.
    for born in (date(2017, 8, 2), date(2019, 7, 2)):
        decision = _decide(Reads(hits=[_document("9434765919", "Amelia Jane", date_of_birth=born)]))
        assert decision.outcome is Outcome.REVIEW and "dates of birth" in decision.reason
        assert decision.probability is not None and decision.probability >= 0.99
    # A slip of the date still links: the year one out, a digit wrong.
    for born in (date(2018, 3, 14), date(2019, 3, 15), date(2019, 3, 24)):
        decision = _decide(Reads(hits=[_document("9434765919", "Amelia Jane", date_of_birth=born)]))
        assert decision.outcome is Outcome.LINKED, born


def test_a_candidate_with_another_nhs_number_is_another_child() -> None:
    record = replace(
        RECORD,
        source=Source.HEALTH,
        record_id="9434765013",
        identifiers=((IdentifierKind.NHS_NUMBER, "9434765013"),),
    )
    reads = Reads(
        hits=[_document("9434765919", "Amelia")],
        held={"9434765919": {(IdentifierKind.NHS_NUMBER, "9434765021")}},
    )
    assert _decide(reads, record).outcome is Outcome.CREATED
    # The same NHS number held: no conflict (and it would have linked by identifier first).
    reads.held = {"9434765919": {(IdentifierKind.NHS_NUMBER, "9434765013")}}
    assert _decide(reads, record).outcome is Outcome.LINKED


def test_a_record_that_may_be_a_shielded_child_is_held_for_its_authority() -> None:
    decision = _decide(Reads(hits=[_document("9434765919", "Amelia", shielded=True)]))
    assert (decision.outcome, decision.authority) == (Outcome.HELD, "E08000035")
    # Even far less likely than a link: a low probability is enough to hold.
    elsewhere = _document(
        "9434765919", "Amelia", shielded=True, postcode="ZE1 0AA", date_of_birth=date(2019, 4, 13)
    )
    held = _decide(Reads(hits=[elsewhere]))
    assert held.outcome is Outcome.HELD and held.probability is not None


def test_a_link_on_the_blocking_candidates_needs_no_broad_search() -> None:
    reads = Reads(hits=[_document("9434765919", "Amelia Jane")])
    decision = _decide(reads)
    assert (decision.outcome, decision.identifier) == (Outcome.LINKED, "9434765919")
    assert reads.tiers == [Tier.BLOCKING]


def test_anything_but_a_link_is_decided_again_on_the_broad_candidates_too() -> None:
    # Nothing like it among the blocking candidates: the broad ones find the child.
    reads = Reads(broad=[_document("9434765919", "Amelia Jane")])
    decision = _decide(reads)
    assert (decision.outcome, decision.identifier) == (Outcome.LINKED, "9434765919")
    assert reads.tiers == [Tier.BLOCKING, Tier.BROAD]
    # A shielded child the blocking pass missed holds a record it would have created.
    shielded = _document(
        "9434765927", "Amelia", shielded=True, postcode="ZE1 0AA", date_of_birth=date(2019, 4, 13)
    )
    held = _decide(Reads(broad=[shielded]))
    assert (held.outcome, held.authority) == (Outcome.HELD, "E08000035")
    # A twin among the blocking candidates alone: review, on both passes' candidates.
    twin = Reads(hits=[_document("9434765919", "Ruby")], broad=[])
    assert _decide(twin).outcome is Outcome.REVIEW and twin.tiers == [Tier.BLOCKING, Tier.BROAD]


def test_a_record_with_too_little_to_block_on_goes_to_the_broad_search_at_once() -> None:
    reads = Reads(broad=[])
    record = replace(RECORD, given_names="", family_name="", address=None)
    _decide(reads, record)
    assert reads.tiers == [Tier.BROAD]


def test_a_child_this_run_made_is_a_candidate_before_the_index_holds_it() -> None:
    made = Recent(identifier="9434765919", record=match_record(RECORD))
    decision = _decide(Reads(made=[made]), replace(RECORD, record_id="other/1"))
    assert (decision.outcome, decision.identifier) == (Outcome.LINKED, "9434765919")


def test_the_same_record_and_candidates_give_the_same_decision() -> None:
    hits = [_document(f"94347659{n:02d}", "Amelia") for n in (19, 27, 35)]
    decisions = {_decide(Reads(hits=list(order))) for order in (hits, hits[::-1])}
    assert len(decisions) == 1


@pytest.mark.parametrize(
    ("link", "review", "hold"), [(0.5, 0.6, 0.1), (0.99, 0.2, 0.3), (1.2, 0.2, 0.1)]
)
def test_thresholds_out_of_order_are_refused(link: float, review: float, hold: float) -> None:
    with pytest.raises(ValueError, match="thresholds"):
        Thresholds(link=link, review=review, hold=hold)


def test_demo_feeds_are_the_same_every_time_read_whole_and_keep_twins_together(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    counts = write_demo_feeds(
        out=first,
        children=3000,
        seed=5,
        feed_children=300,
        new_children=10,
        today=date(2026, 12, 2),
    )
    write_demo_feeds(
        out=second,
        children=3000,
        seed=5,
        feed_children=300,
        new_children=10,
        today=date(2026, 12, 2),
    )
    for name in ("births.csv", "school-census.csv", "child-benefit.csv", "health.jsonl"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert counts[Source.BIRTHS] == counts[Source.HEALTH] >= 300
    for source, name in (
        (Source.BIRTHS, "births.csv"),
        (Source.SCHOOL_CENSUS, "school-census.csv"),
        (Source.CHILD_BENEFIT, "child-benefit.csv"),
        (Source.HEALTH, "health.jsonl"),
    ):
        parsed = list(read_feed(source, first / name, today=date(2026, 12, 2)))
        assert [p.rejections for p in parsed if p.rejections] == []
        assert all(p.record is not None and p.record.truth for p in parsed)
    header = (first / "births.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == CSV_ROWS[Source.BIRTHS].columns
    # Identifiers are the child's in every run, and valid.
    assert nhs_number("9342852491") == nhs_number("9342852491") != "9342852491"
    assert pupil_number("9342852491", date(2012, 1, 1))[0].isalpha()


def test_a_record_whose_identifiers_are_on_two_children_is_held_if_one_may_be_shielded() -> None:
    reads = Reads(
        holders={"9434765919", "9434765927"},
        hits=[_document("9434765919", "Amelia", shielded=True)],
    )
    decision = _decide(reads)
    assert (decision.outcome, decision.authority) == (Outcome.HELD, "E08000035")


def test_demo_children_have_distinct_nhs_numbers_and_valid_distinct_pupil_numbers() -> None:
    from stdnum.gb import upn

    from contactpoint.demo_data import generate_children

    identifiers = [child["identifier"] for child in generate_children(count=20_000, seed=7)]
    assert len({nhs_number(i) for i in identifiers}) == len(identifiers)
    pupils = [pupil_number(i, date(2015, 1, 1)) for i in identifiers]
    assert len(set(pupils)) == len(identifiers) and all(upn.is_valid(p) for p in pupils)
