"""The subject access PDF is drawn from the report's data alone: the committed sample's data
renders, so does a shielded child's report with its location withheld, and the same data gives
the same file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from lifecycle.report_pdf import render_pdf
from lifecycle.subject_access import WITHHELD, WITHHELD_ORGANISATION

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "subject-access-sample.json"


def _sample() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(SAMPLE.read_text())
    return report


def test_the_samples_data_renders_the_same_pdf_twice() -> None:
    first, second = render_pdf(_sample()), render_pdf(_sample())
    assert first.startswith(b"%PDF-") and first == second


def test_a_shielded_report_with_its_location_withheld_renders() -> None:
    report = copy.deepcopy(_sample())
    record = report["record"]
    record["address"] = {"withheld": WITHHELD}
    record["previous_addresses"] = {"withheld": WITHHELD}
    record["education_setting"] = record["gp_practice"] = {"withheld": WITHHELD}
    for carer in record["carers"]:
        carer |= {"phone": None, "email": None, "contact_withheld": True}
    report["shield"] = {"shielded": True, "since": "2026-01-05"}
    report["report"]["location_included"] = False
    report["recipients"] = [
        {"date": "2026-12-01", "organisation": WITHHELD_ORGANISATION, "what": "viewed", "times": 2}
    ]
    report["involvements"].append(
        {"service": "A sensitive service", "sensitive": True, "ended": True}
    )
    assert render_pdf(report).startswith(b"%PDF-")


def test_an_empty_record_renders_with_nothing_recorded() -> None:
    report = copy.deepcopy(_sample())
    report["record"]["carers"] = []
    report["involvements"] = report["sources"] = report["corrections"] = []
    report["recipients"] = report["source_identifiers"] = []
    report["report"]["local_authority"] = None
    assert render_pdf(report).startswith(b"%PDF-")
