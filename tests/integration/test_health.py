"""/healthz reports both servers, through the real application."""

from __future__ import annotations

from fastapi.testclient import TestClient

from searchapi.main import create_app


def test_healthz_reports_postgres_and_elasticsearch_up(
    migrated_database: str, elasticsearch_ready: None
) -> None:
    with TestClient(create_app()) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["postgres"]["status"] == "up"
    assert body["postgres"]["version"].startswith("15")
    assert body["elasticsearch"]["status"] == "up"
