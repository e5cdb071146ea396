"""Feeds benchmark: the four national feeds of demo children imported into an index of demo
children, linkage measured against each line's truth.

Usage: .venv/bin/python benchmarks/feeds.py [--children 1000000] [--feed-children 100000]
                                            [--new-children 2000] [--seed 7] [--keep-up]
                                            [--json PATH]

On a stack of its own (var/bench-feeds, ports 55446/59216, database contactpoint_bench_feeds,
alias children-bench-feeds): --children demo children are loaded afresh (an import changes the
population, so no run reuses another's) and indexed with a reindex, with the match
frequencies counted; `feeds.demo.write_demo_feeds` writes the feeds of --feed-children of them
(--new-children of those new births, not loaded), and `contactpoint feed import`'s
`import_feed` imports births, the school census, health and child benefit in that order, the
indexer draining the outbox after each. Then, against each line's truth (the demo identifier;
a new birth's child is the one its first record created):

- auto-link precision (of the records linked, the share linked to their own child) and recall
  (of the records whose child existed, the share linked to it);
- the review rate, the records held for a shield, and the children created for a child that
  existed (missed links: duplicates);
- wrong merges (records linked to another child), twins among them;
- records per second per source (reading, deciding and writing, one process).

Thresholds are the settings' (FEED_LINK_PROBABILITY, FEED_REVIEW_PROBABILITY,
FEED_HOLD_PROBABILITY), printed in the header.
"""

from __future__ import annotations

import os

for _key, _value in {
    "VAR_DIR": "var/bench-feeds",
    "PG_PORT": "55446",
    "ES_PORT": "59216",
    "ES_TRANSPORT_PORT": "59316",
    "PG_DATABASE": "contactpoint_bench_feeds",
    "INDEX_ALIAS": "children-bench-feeds",
    "ES_HEAP": "2g",
}.items():
    os.environ.setdefault(_key, _value)

import importlib  # noqa: E402
import sys  # noqa: E402

# This script is benchmarks/feeds.py: `feeds` must be the package, so the package is imported
# before the script's folder (which holds the benchmarks' helpers) is searched.
_HERE = sys.path.pop(0)
for _module in ("feeds", "feeds.demo", "feeds.importer", "feeds.linking"):
    importlib.import_module(_module)
sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import secrets  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from _header import es_heap, print_header, write_report  # noqa: E402
from _population import ensure_index, not_running, prepare  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from contactpoint.collector import collect_less_often  # noqa: E402
from contactpoint.demo_data import generate_children  # noqa: E402
from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.services import down  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from db.ranker import load_ranker  # noqa: E402
from feeds import Source, read_feed  # noqa: E402
from feeds.demo import FILES, write_demo_feeds  # noqa: E402
from feeds.importer import import_feed  # noqa: E402
from feeds.linking import Outcome, Thresholds  # noqa: E402
from indexer.retry import RetryPolicy  # noqa: E402
from indexer.sync import drain, retrying_writer  # noqa: E402

ORDER = (Source.BIRTHS, Source.SCHOOL_CENSUS, Source.HEALTH, Source.CHILD_BENEFIT)


def _truths(source: Source, path: Path) -> dict[int, str]:
    """The truth of each line."""
    return {
        parsed.line: parsed.record.truth
        for parsed in read_feed(source, path)
        if parsed.record is not None and parsed.record.truth is not None
    }


def _twins(children: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Each demo child's twins (same family name, date of birth and postcode)."""
    groups: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for child in children:
        key = (child["family_name"], child["date_of_birth"], child["address"]["postcode"])
        groups[key].add(child["identifier"])
    return {i: group - {i} for group in groups.values() for i in group if len(group) > 1}


def counts_by_source(counts: dict[Source, int]) -> dict[str, int]:
    return {source.value: n for source, n in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--feed-children", type=int, default=100_000)
    parser.add_argument("--new-children", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-up", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()
    if not 0 <= args.new_children <= args.feed_children <= args.children + args.new_children:
        raise SystemExit("need 0 <= --new-children <= --feed-children <= --children")
    settings = get_settings()
    thresholds = Thresholds(
        link=settings.feed_link_probability,
        review=settings.feed_review_probability,
        hold=settings.feed_hold_probability,
    )
    started = not_running(settings)
    run_id = secrets.token_hex(4)
    try:
        population = prepare(settings, children=args.children, seed=args.seed, rebuild=True)
        engine = population.engine
        es = make_client(settings, purpose="indexer")
        index, _ = ensure_index(settings, population, es)
        folder = Path(settings.var_dir) / "bench" / f"feeds-{run_id}"
        clock = time.perf_counter()
        counts = write_demo_feeds(
            out=folder,
            children=args.children,
            seed=args.seed,
            feed_children=args.feed_children,
            new_children=args.new_children,
            today=date.today(),
        )
        written_s = time.perf_counter() - clock
        header = print_header(
            "feeds.py",
            children=args.children,
            fields={
                **population.header_fields(),
                "servers": "+".join(started) + "-started" if started else "running",
                "run": run_id,
                "feed_children": args.feed_children,
                "new_children": args.new_children,
                "records": sum(counts.values()),
                "link": thresholds.link,
                "review": thresholds.review,
                "hold": thresholds.hold,
                "es_heap": es_heap(es),
            },
        )
        print(
            "feeds written in "
            f"{written_s:.0f} s: "
            + ", ".join(f"{source.value} {n}" for source, n in counts.items())
        )
        ranker = load_ranker(settings.match_model_path)
        ranker.refresh(sessionmaker(engine))
        writer = retrying_writer(RetryPolicy(attempts=5, max_wait_s=2.0))
        demo = list(generate_children(count=args.children, seed=args.seed))
        twins = _twins(demo)
        indexed = {child["identifier"] for child in demo}
        # The child each truth is now: its own identifier if indexed, else the one created.
        made: dict[str, str] = {}
        figures: dict[str, Any] = {}
        totals: Counter[str] = Counter()
        # As `contactpoint feed import` does (contactpoint.collector).
        collect_less_often()
        for source in ORDER:
            path = folder / FILES[source]
            truths = _truths(source, path)
            clock = time.perf_counter()
            result = import_feed(
                engine=engine,
                es=es,
                alias=settings.index_alias,
                source=source,
                path=path,
                model=ranker.model,
                thresholds=thresholds,
                batch_size=settings.feed_batch_size,
            )
            seconds = time.perf_counter() - clock
            while drain(
                engine=engine, client=es, alias=settings.index_alias, limit=500, writer=writer
            ):
                pass
            es.indices.refresh(index=settings.index_alias)
            tally: Counter[str] = Counter()
            for line, _, outcome, identifier in result.decisions:
                truth = truths.get(line)
                if truth is None:
                    continue
                expected = truth if truth in indexed else made.get(truth)
                tally[outcome.value] += 1
                if outcome is Outcome.LINKED:
                    if identifier == expected:
                        tally["linked_right"] += 1
                    else:
                        tally["linked_wrong"] += 1
                        tally["twin_merged"] += identifier in twins.get(truth, set())
                if expected is not None:
                    tally["existed"] += 1
                    tally["held_existed"] += outcome is Outcome.HELD
                    tally["duplicate_created"] += outcome is Outcome.CREATED
                elif outcome is Outcome.CREATED and identifier is not None:
                    made[truth] = identifier
            tally["records"] = len(result.decisions)
            tally["rejected"] = result.rejected_lines
            figures[source.value] = {**tally, "seconds": seconds}
            totals.update(tally)
            print(
                f"{source.value:14} {len(result.decisions):>7} records in {seconds:7.1f} s "
                f"({len(result.decisions) / seconds:6.0f}/s): {result.summary()}"
            )
        precision = totals["linked_right"] / max(totals["linked"], 1)
        recall = totals["linked_right"] / max(totals["existed"], 1)
        # Records held for a shield are a person's to decide: recall of the others too.
        recall_unheld = totals["linked_right"] / max(totals["existed"] - totals["held_existed"], 1)
        review_rate = totals["review"] / max(totals["records"], 1)
        seconds = sum(f["seconds"] for f in figures.values())
        per_100k = totals["linked_wrong"] / max(totals["records"], 1) * 100_000
        print(
            f"auto-link precision {precision:.4f}, recall {recall:.4f} "
            f"({totals['linked_right']} of {totals['existed']} records whose child existed; "
            f"{recall_unheld:.4f} of those not held for a shield); "
            f"review rate {review_rate:.4f} ({totals['review']}); held for a shield "
            f"{totals['held']}; duplicates created {totals['duplicate_created']}; wrong merges "
            f"{totals['linked_wrong']} ({per_100k:.1f} per 100,000 records), twins among them "
            f"{totals['twin_merged']}; {totals['records'] / seconds:.0f} records/s overall"
        )
        write_report(
            args.json,
            {
                "header": header,
                "run": run_id,
                "index": index,
                "records": counts_by_source(counts),
                "sources": figures,
                "precision": precision,
                "recall": recall,
                "recall_not_held": recall_unheld,
                "review_rate": review_rate,
                "wrong_merges": totals["linked_wrong"],
                "twins_merged": totals["twin_merged"],
                "held": totals["held"],
                "duplicates_created": totals["duplicate_created"],
                "records_per_second": totals["records"] / seconds,
            },
        )
    finally:
        if started and not args.keep_up:
            for line in down(settings, which=started):
                print(line)


if __name__ == "__main__":
    main()
