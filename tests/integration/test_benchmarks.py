"""Every benchmark script, run small twice on the real servers: the second run's figures come
from work that run did (not from data, indices or caches an earlier run left), and each prints
one header line naming what it ran on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
SCRIPTS = (
    "audit_retention.py",
    "clauses.py",
    "feeds.py",
    "freshness.py",
    "lifecycle.py",
    "linkage.py",
    "load.py",
    "matching_score.py",
    "node_loss.py",
    "notify.py",
    "reindex.py",
    "scale.py",
    "search.py",
    "soak.py",
    "updates.py",
)
CHILDREN = 200
# FEBRL data set 1 holds 500 originals, 466 of them with a given name, a family name and a
# readable date of birth; the linkage benchmark loads those and the distractors.
LINKAGE_ORIGINALS = 466
LINKAGE_DISTRACTORS = 2000
# Databases and aliases of the tests' own on the test stack.
PLACES = {
    "clauses.py": ("contactpoint_benchtest_clauses", "children-benchtest-clauses"),
    "feeds.py": ("contactpoint_benchtest_feeds", "children-benchtest-feeds"),
    "freshness.py": ("contactpoint_benchtest_fresh", "children-benchtest-fresh"),
    "lifecycle.py": ("contactpoint_benchtest_life", "children-benchtest-life"),
    "linkage.py": ("contactpoint_benchtest_linkage", "children-benchtest-linkage"),
    "load.py": ("contactpoint_benchtest_load", "children-benchtest-load"),
    "node_loss.py": ("contactpoint_benchtest_nodeloss", "children-benchtest-nodeloss"),
    "notify.py": ("contactpoint_benchtest_notify", "children-benchtest-notify"),
    "reindex.py": ("contactpoint_benchtest_reindex", "children-benchtest-reindex"),
    "scale.py": ("contactpoint_benchtest_scale", "children-benchtest-scale"),
    "search.py": ("contactpoint_benchtest_search", "children-benchtest-search"),
    "soak.py": ("contactpoint_benchtest_soak", "children-benchtest-soak"),
    "updates.py": ("contactpoint_benchtest_updates", "children-benchtest-updates"),
}


@dataclass(frozen=True)
class Run:
    """What a script printed and the report it wrote (--json)."""

    stdout: str
    report: dict[str, Any]

    @property
    def header(self) -> dict[str, Any]:
        fields: dict[str, Any] = self.report["header"]
        return fields


def _run(script: str, tmp_path: Path, *args: str, children: int = CHILDREN) -> Run:
    report = tmp_path / f"{script}-{len(list(tmp_path.iterdir()))}.json"
    env = dict(os.environ)
    if script in PLACES:
        env["PG_DATABASE"], env["INDEX_ALIAS"] = PLACES[script]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--json", str(report)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = Run(stdout=done.stdout, report=json.loads(report.read_text()))
    headers = [line for line in done.stdout.splitlines() if line.startswith("# ")]
    assert len(headers) == 1, done.stdout
    assert headers[0].startswith(f"# {script} commit={run.header['commit']} ")
    assert f" children={children} " in headers[0]
    assert f" data={run.header['data']} " in headers[0]
    return run


def test_every_benchmark_script_is_run_twice_here() -> None:
    scripts = sorted(path.name for path in BENCHMARKS.glob("*.py") if not path.name.startswith("_"))
    assert scripts == sorted(SCRIPTS)


def test_load_benchmark_inserts_every_child_on_every_run(
    postgres_ready: None, tmp_path: Path
) -> None:
    first = _run("load.py", tmp_path, "--children", str(CHILDREN), "--runs", "1")
    second = _run("load.py", tmp_path, "--children", str(CHILDREN), "--runs", "2")

    assert second.header["demo_file"] == "reused"
    for run in (*first.report["runs"], *second.report["runs"]):
        assert (run["inserted"], run["updated"], run["unchanged"]) == (CHILDREN, 0, 0)
        assert run["rejected"] == 0


def test_reindex_benchmark_builds_a_new_index_on_every_run(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--rebuild", "--no-warm-up")
    first = _run("reindex.py", tmp_path, *args, "--runs", "1")
    second = _run("reindex.py", tmp_path, "--children", str(CHILDREN), "--runs", "2")

    assert (first.header["data"], second.header["data"]) == ("built", "reused")
    assert (first.report["warm_up"], second.header["warm_up"]) == (None, "one-untimed-reindex")
    earlier = {run["index"] for run in first.report["runs"]} | {second.report["warm_up"]}
    for run in second.report["runs"]:
        assert run["index"] not in earlier
        assert run["index"] not in run["existed_before"]
        assert run["documents"] == CHILDREN
    assert second.report["warm_up"] in second.report["runs"][0]["existed_before"]
    assert len({run["index"] for run in second.report["runs"]}) == 2


def test_freshness_second_run_polls_only_markers_it_wrote(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--updates", "20", "--rate", "20")
    first = _run("freshness.py", tmp_path, *args, "--rebuild")
    second = _run("freshness.py", tmp_path, *args)

    assert (first.header["data"], second.header["data"]) == ("built", "reused")
    assert first.report["run"] != second.report["run"]
    written = second.report["written"]
    assert len(written) == 20
    assert all(second.report["run"] in marker for marker in written)
    assert set(written).isdisjoint(first.report["written"])
    assert second.report["present_before"] == 0
    assert second.report["polled"]
    assert set(second.report["polled"]) <= set(written)
    assert sorted(second.report["seen"]) == sorted(written)
    assert len(second.report["delays_s"]) == 20


def test_search_second_run_times_only_searches_it_sent(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--queries", "1", "--warm", "5", "--workers", "1")
    first = _run("search.py", tmp_path, *args, "--rebuild")
    second = _run("search.py", tmp_path, *args)

    assert (first.header["data"], second.header["data"]) == ("built", "reused")
    assert first.header["index"] == "built"
    # The index is reused only when the same committed code built it.
    clean = not str(second.header["commit"]).endswith("-dirty")
    assert second.header["index"] == ("reused" if clean else "built")
    assert second.header["servers"] == "running"
    assert first.header["query_seed"] != second.header["query_seed"]
    report = second.report
    sent = report["header"]["warm"] + report["header"]["queries"]
    assert report["api_sent"] == report["direct_sent"] == sent
    assert report["audited"] == sent
    assert report["es_queries"] >= 2 * sent
    targets = {query["target"] for query in report["queries"]}
    assert targets.isdisjoint(report["warm_targets"])
    # Each timed query once per path, at one of the concurrencies.
    assert report["recall"]["overall"][2] == len(report["queries"])
    assert sum(round_["queries"] for round_ in report["latency_ms"].values()) == len(
        report["queries"]
    )


def test_match_scoring_benchmark_scores_every_query_afresh_on_every_run(tmp_path: Path) -> None:
    args = ("--children", str(CHILDREN), "--queries", "20", "--candidates", "50")
    first = _run("matching_score.py", tmp_path, *args)
    second = _run("matching_score.py", tmp_path, *args)

    for run in (first, second):
        assert run.header["data"] == "built"
        assert {mode: len(values) for mode, values in run.report["timings_ms"].items()} == {
            "records, warm caches": 20,
            "records, cold caches": 20,
            "documents, cold caches": 20,
        }
        assert all(value > 0 for values in run.report["timings_ms"].values() for value in values)
    # The same seed gives the same work, scored again: the same children are found first.
    assert second.report["found_first"] == first.report["found_first"]


def test_linkage_second_run_searches_the_same_duplicates_afresh(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--datasets", "1", "--distractors", str(LINKAGE_DISTRACTORS), "--queries", "60")
    children = LINKAGE_ORIGINALS + LINKAGE_DISTRACTORS
    first = _run("linkage.py", tmp_path, *args, "--workers", "1", "--rebuild", children=children)
    second = _run("linkage.py", tmp_path, *args, "--workers", "1", children=children)

    assert (first.header["data"], second.header["data"]) == ("built", "reused")
    assert first.header["index"] == "built"
    clean = not str(second.header["commit"]).endswith("-dirty")
    assert second.header["index"] == ("reused" if clean else "built")
    assert first.header["population"] == second.header["population"]
    assert first.report["run"] != second.report["run"]
    assert sum(second.report["left_out"].values()) == 500 - LINKAGE_ORIGINALS
    # The same seed samples the same 60 duplicates; this run's account sent and was audited
    # for every one of them.
    queried = [query["duplicate"] for query in second.report["queries"]]
    assert queried == [query["duplicate"] for query in first.report["queries"]]
    assert len(set(queried)) == 60
    assert all(name.startswith("febrl1:rec-") and "-dup-" in name for name in queried)
    refused = second.report["figures"]["overall"]["refused"]
    assert (second.report["audited"], second.report["audited_refused"]) == (60 - refused, refused)
    overall = second.report["figures"]["overall"]
    assert overall["queries"] == second.report["figures"]["febrl1"]["queries"] == 60
    assert overall["api_at_1"] <= overall["api_at_10"]
    assert overall["es_order_at_1"] <= overall["es_order_at_10"] <= overall["retrieval_at_200"]
    for query in second.report["queries"]:
        assert query["api_status"] in ("ok", "refused", "too_many_matches")
        assert query["api"] is None or len(query["api"]) <= 10
        assert query["retrieval_rank"] is None or 1 <= query["retrieval_rank"] <= 200
    by_kind = {row["kind"]: row for row in second.report["misses"]}
    assert sum(row["queries"] for row in by_kind.values()) >= 60
    for row in by_kind.values():
        assert row["api_missed_at_10"] <= row["api_missed_at_1"] <= row["queries"]


def test_feeds_benchmark_loads_and_imports_afresh_on_every_run(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--feed-children", "40", "--new-children", "4")
    first = _run("feeds.py", tmp_path, *args)
    second = _run("feeds.py", tmp_path, *args)

    # An import changes the population: every run loads and indexes it afresh.
    assert first.header["data"] == second.header["data"] == "built"
    assert first.report["run"] != second.report["run"]
    # The same seed writes the same feeds, and the same records are imported and decided again.
    assert first.report["records"] == second.report["records"]
    for run in (first, second):
        sources = run.report["sources"]
        assert set(sources) == {"births", "school-census", "health", "child-benefit"}
        assert all(figures["rejected"] == 0 for figures in sources.values())
        assert {name: figures["records"] for name, figures in sources.items()} == (
            run.report["records"]
        )
        # Every record of a feed is decided; births bring the 4 new children.
        assert sources["births"]["created"] >= 4
        assert run.report["wrong_merges"] == 0


def test_updates_second_run_times_only_writes_it_sent(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--updates", "30", "--concurrency", "4", "--workers", "1")
    first = _run("updates.py", tmp_path, *args, "--rebuild")
    second = _run("updates.py", tmp_path, *args)

    assert (first.header["data"], second.header["data"]) == ("built", "reused")
    assert first.report["run"] != second.report["run"]
    for run in (first, second):
        assert run.report["failures"] == []
        assert run.report["writes"] == 30
        assert run.report["searchable"] == 30


def test_notify_second_run_hears_of_every_change_it_made_through_an_outage(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    # A child is used once: one current involvement, of a practitioner no other child used has.
    # About one child in ten is such, so two runs of 16 children need more than 200.
    children = 600
    args = ("--children", str(children), "--notices", "10", "--outage-notices", "5")
    args += ("--outage-seconds", "3", "--rate", "0", "--workers", "1")
    first = _run("notify.py", tmp_path, *args, "--rebuild", children=children)
    second = _run("notify.py", tmp_path, *args, children=children)

    assert (first.header["data"], second.header["data"]) == ("built", "reused")
    assert first.report["run"] != second.report["run"]
    for run in (first, second):
        assert run.report["failures"] == []
        assert run.report["changes"] == 10
        for channel in ("inbox", "email", "webhook"):
            assert (run.report[channel]["expected"], run.report[channel]["delivered"]) == (10, 10)
        assert run.report["bad_signatures"] == 0
        outage = run.report["outage"]
        assert outage["changes"] == 5
        assert outage["arrived_while_down"] == {"email": 0, "webhook": 0}
        for channel in ("email", "webhook"):
            assert (outage[channel]["expected"], outage[channel]["delivered"]) == (5, 5)
            assert outage["last_after_restart_s"][channel] is not None
        assert (outage["lost"], outage["dead"]) == (0, 0)
        assert "change → e-mail: 10 of 10 delivered" in run.stdout
        assert "change → webhook: 10 of 10 delivered" in run.stdout
        assert "outage: 0 lost, 0 dead letters" in run.stdout


def test_lifecycle_benchmark_archives_and_destroys_a_population_of_its_own_on_every_run(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--batch", "64")
    first = _run("lifecycle.py", tmp_path, *args)
    second = _run("lifecycle.py", tmp_path, *args)

    # The job destroys the population: every run loads and indexes it afresh.
    assert first.header["data"] == second.header["data"] == "built"
    assert first.report["run"] != second.report["run"]
    for run in (first, second):
        assert run.report["archived"] > 0
        # Every child (the demo's own archived ones too) is destroyed six years on.
        destroyed = run.report["destroyed"] + run.report["destroyed_in_archive_run"]
        assert destroyed == CHILDREN
        assert (run.report["children_left"], run.report["documents_left"]) == (0, 0)
        assert run.report["audit_rows_forgotten"] > 0
        assert run.report["verify_ok"] is True


def test_audit_retention_benchmark_builds_drops_and_verifies_an_audit_of_its_own_every_run(
    postgres_ready: None, tmp_path: Path
) -> None:
    args = ("--rows", "3000", "--years", "9", "--retention", "7")
    first = _run("audit_retention.py", tmp_path, *args, children=0)
    second = _run("audit_retention.py", tmp_path, *args, children=0)

    assert first.header["data"] == second.header["data"] == "built"
    assert first.report["schema"] != second.report["schema"]
    for run in (first, second):
        report = run.report
        assert report["sealed"] == report["inserted"] == 3000
        assert report["refused"] == []
        # Nine years evenly spread, seven kept: about two years' rows go, in whole months.
        assert 18 <= report["months_dropped"] <= 26
        assert 500 < report["rows_dropped"] < 1000
        assert report["verify_ok"] is True
        assert report["verify_sealed_rows"] + report["verify_dropped_rows"] == 3000
        assert report["verify_dropped_rows"] == report["rows_dropped"]


def test_soak_second_run_counts_only_the_requests_it_sent(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--minutes", "0.3", "--concurrency", "4")
    first = _run("soak.py", tmp_path, *args, "--workers", "1", "--rebuild")
    second = _run("soak.py", tmp_path, *args, "--workers", "1")

    assert (first.header["data"], second.header["data"]) == ("built", "reused")
    assert first.report["run"] != second.report["run"]
    for run in (first, second):
        report = run.report
        assert report["errors"] == 0, report["error_samples"]
        kinds = report["kinds"]
        assert report["requests"] == sum(kind["requests"] for kind in kinds.values())
        assert all(kinds[kind]["requests"] > 0 for kind in ("search", "view", "update"))
        # Each of the four accounts signs in at most once a minute: at most 4 in 18 s.
        assert 0 < kinds["sign_in"]["requests"] <= 4
        assert sum(minute["requests"] for minute in report["minutes"]) == report["requests"]
        assert all(report["memory_kib"][key] > 0 for key in report["memory_kib"])
        assert report["pg_connections"]["max"] >= report["pg_connections"]["start"] >= 1


def test_node_loss_kills_a_node_under_searches_the_indexer_and_a_reindex_and_loses_nothing(
    postgres_ready: None, tmp_path: Path
) -> None:
    """The kill tests: a node of a three-node cluster (the script's own) killed with SIGKILL
    during a search load at concurrency 8, during the indexer's sync and during a reindex's
    build, then started again each time."""
    children = 2000
    common = ("--children", str(children), "--es-heap", "384m")
    first = _run("node_loss.py", tmp_path, *common, "--seconds", "9", children=children)
    second = _run("node_loss.py", tmp_path, *common, "--seconds", "6", children=children)

    assert (first.header["data"], second.header["data"]) == ("built", "reused")
    for run in (first, second):
        search, sync, rebuilt = (run.report[key] for key in ("search", "sync", "reindex"))
        # No search failed, none found a shielded child by its postcode, before, during and
        # after the loss.
        assert search["searches"] > 0 and search["failed"] == 0, search["failure_samples"]
        assert search["leaks"] == 0, search["leak_samples"]
        assert all(search["latency_s"][phase] is not None for phase in ("before", "during"))
        assert search["loss"]["node"] and search["loss"]["green_s"] >= 0
        # Every committed change reached the index, at its last version.
        assert sync["changes"] > 0 and sync["lost"] == 0, sync["lost_samples"]
        assert sync["loss"]["node"]
        # The build lost a node holding its index: it completed (built with a replica), and
        # the alias moved whole; the reindex after the node's return completed too.
        assert rebuilt["killed_during_build"], rebuilt["not_killed"]
        assert rebuilt["alias_kept_or_moved_whole"]
        assert rebuilt["completed"], rebuilt["error"]
        assert rebuilt["second_reindex_complete"]
        assert rebuilt["second_reindex_documents"] == children


def test_clauses_times_each_variant_of_the_same_requests(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--queries", "1", "--rounds", "2")
    first = _run("clauses.py", tmp_path, *args)
    second = _run("clauses.py", tmp_path, *args)

    # The second run searches the index the first built (the live one, holding every child).
    assert (first.header["index"], second.header["index"]) == ("built", "live")
    assert second.header["data"] == "reused"
    for run in (first, second):
        variants = run.report["variants"]
        assert set(variants) == {"full", "no_year", "no_outward", "neither"}
        assert variants["full"]["clauses_left_out"] == 0
        assert variants["no_year"]["queries_changed"] > 0
        assert variants["no_outward"]["queries_changed"] > 0
        assert variants["neither"]["clauses_left_out"] == (
            variants["no_year"]["clauses_left_out"] + variants["no_outward"]["clauses_left_out"]
        )
        # The full request finds most of the children it looks for, even at 200 children.
        assert variants["full"]["recall_at_10"] > 0.5
        for name, figures in variants.items():
            assert 0 <= figures["took_ms"]["p50"] <= figures["took_ms"]["p99"], name
            assert f"{name:<11} took ms" in run.stdout


def test_scale_runs_the_whole_path_afresh_on_every_run(
    postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> None:
    args = ("--children", str(CHILDREN), "--queries", "3", "--warm", "10")
    args += ("--updates", "10", "--rate", "50")
    first = _run("scale.py", tmp_path, *args)
    second = _run("scale.py", tmp_path, *args)

    # Loaded afresh each time; the demo file of this size and seed is written once.
    assert (first.header["data"], second.header["data"]) == ("built", "built")
    assert second.header["demo_file"] == "reused"
    for run in (first, second):
        stages = run.report["stages"]
        assert stages["load"]["children_per_s"] > 0
        assert stages["reindex"]["documents"] == CHILDREN
        assert stages["search"]["recall"]["overall"][2] > 0
        assert {"c1", "c8"} <= set(stages["search"]["latency_ms"])
        assert stages["freshness"]["seen"] == stages["freshness"]["updates"] == 10
        assert stages["sizes"]["index_documents"] == CHILDREN
        assert stages["sizes"]["database_bytes"] > 0
        assert "demo data:" in run.stdout and "sizes: index" in run.stdout
