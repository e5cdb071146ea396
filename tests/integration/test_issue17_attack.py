"""Attacks on issue 17's features that found defects: each test failed before its fix.

Archived children of their own (fresh authorities) in the suite's population database.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from db.access import Role
from tests.integration.search_support import Population
from tests.integration.test_archive_access import _child, _open, _user

pytestmark = pytest.mark.integration


def test_an_archived_childs_subject_access_report_lists_who_opened_it_from_the_archive(
    app_client: TestClient, population: Population
) -> None:
    child = _child(population)
    archivist, headers = _user(
        population, Role.LA_MANAGER, authorities=(child.authority,), archive_access=True
    )
    opened = _open(app_client, headers, child.identifier, reason="subject_access_request")
    assert opened.status_code == 200, opened.text

    report = app_client.get(f"/v1/children/{child.identifier}/subject-access", headers=headers)

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["record"]["status"] == "archived"
    assert [row["what"] for row in body["recipients"]] == ["opened the archived record"]
    pdf = app_client.get(f"/v1/children/{child.identifier}/subject-access.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_an_archived_childs_report_needs_the_archive_capability(
    app_client: TestClient, population: Population
) -> None:
    child = _child(population)
    _, headers = _user(population, Role.LA_MANAGER, authorities=(child.authority,))

    report = app_client.get(f"/v1/children/{child.identifier}/subject-access", headers=headers)

    assert report.status_code == 409, report.text
    assert child.family_name not in report.text
