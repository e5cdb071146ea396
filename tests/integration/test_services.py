"""The project-local servers: started by the suite, healthy, secured, never as root."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import httpx
import pytest

from contactpoint.services import ServiceError, postgres, status
from contactpoint.services import elasticsearch as es_service
from contactpoint.settings import Settings


def _es_url(settings: Settings) -> str:
    return settings.effective_elasticsearch_url()


def _process_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


def test_both_servers_report_healthy(
    postgres_ready: None, elasticsearch_ready: None, settings: Settings
) -> None:
    lines = list(status(settings))
    assert [ok for _, ok in lines] == [True, True], lines
    assert "postgres: healthy" in lines[0][0]
    assert "elasticsearch: healthy" in lines[1][0]


def test_servers_do_not_run_as_root(
    postgres_ready: None, elasticsearch_ready: None, settings: Settings
) -> None:
    pg_pid = int((postgres.Paths.of(settings).data / "postmaster.pid").read_text().split()[0])
    es_pid = int(es_service.Paths.of(settings).pid.read_text().split()[0])
    assert _process_uid(pg_pid) != 0
    assert _process_uid(es_pid) != 0


def test_elasticsearch_refuses_anonymous_requests(
    elasticsearch_ready: None, settings: Settings
) -> None:
    response = httpx.get(f"{_es_url(settings)}/_cluster/health", timeout=10)
    assert response.status_code == 401


def test_search_user_can_read_but_not_create_indices(
    elasticsearch_ready: None, settings: Settings
) -> None:
    auth = settings.elasticsearch_credentials(purpose="api")["basic_auth"]
    created = httpx.put(f"{_es_url(settings)}/{settings.index_alias}-probe", auth=auth, timeout=10)
    assert created.status_code == 403
    other = httpx.get(f"{_es_url(settings)}/.security/_search", auth=auth, timeout=10)
    assert other.status_code == 403


def test_indexer_user_cannot_touch_indices_outside_its_pattern(
    elasticsearch_ready: None, settings: Settings
) -> None:
    auth = settings.elasticsearch_credentials(purpose="indexer")["basic_auth"]
    response = httpx.put(f"{_es_url(settings)}/unrelated-index", auth=auth, timeout=10)
    assert response.status_code == 403


def test_a_running_node_takes_up_the_roles_of_another_alias(
    elasticsearch_ready: None, settings: Settings
) -> None:
    # One node serves the demo's alias and a benchmark's: whichever started it, both may index.
    other = settings.model_copy(update={"index_alias": f"{settings.index_alias}-other"})
    es_service.up(other)
    auth = settings.elasticsearch_credentials(purpose="indexer")["basic_auth"]
    for alias in (other.index_alias, settings.index_alias):
        index = f"{_es_url(settings)}/{alias}-v1-probe"
        assert httpx.put(index, auth=auth, timeout=10).status_code == 200, alias
        assert httpx.delete(index, auth=auth, timeout=10).status_code == 200, alias


def test_a_new_alias_is_readable_by_the_api_as_soon_as_up_returns(
    elasticsearch_ready: None, settings: Settings
) -> None:
    # The indexer's "children-*" (of the default alias) already covers a new alias's indices,
    # so `up` must wait for the API's read of the new name too, or its first search is a 403.
    other = settings.model_copy(
        update={"index_alias": f"{settings.index_alias}-fresh-{secrets.token_hex(4)}"}
    )
    es_service.up(other)
    indexer = settings.elasticsearch_credentials(purpose="indexer")["basic_auth"]
    api = settings.elasticsearch_credentials(purpose="api")["basic_auth"]
    index = f"{other.index_alias}-v1"
    body = {"aliases": {other.index_alias: {}}}
    created = httpx.put(f"{_es_url(settings)}/{index}", json=body, auth=indexer, timeout=10)
    assert created.status_code == 200, created.text
    try:
        found = httpx.post(
            f"{_es_url(settings)}/{other.index_alias}/_search", json={}, auth=api, timeout=10
        )
        assert found.status_code == 200, found.text
    finally:
        httpx.delete(f"{_es_url(settings)}/{index}", auth=indexer, timeout=10)


def test_application_role_cannot_create_roles(postgres_ready: None, settings: Settings) -> None:
    import psycopg2

    conn = psycopg2.connect(settings.effective_database_url().replace("+psycopg2", ""))
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("CREATE ROLE intruder")
    finally:
        conn.close()


def test_postgres_up_fails_clearly_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        settings = Settings(var_dir=tmp_path / "var", pg_port=port)
        with pytest.raises(ServiceError, match=f"port 127.0.0.1:{port} is taken"):
            postgres.up(settings)


def test_find_jdk_explains_when_no_java_21_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "java-17"
    (old / "bin").mkdir(parents=True)
    (old / "bin" / "java").write_text("")
    (old / "release").write_text('JAVA_VERSION="17.0.15"\n')
    monkeypatch.delenv("ES_JAVA_HOME", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ServiceError, match="no JDK of Java 21 or newer") as info:
        es_service.find_jdk(Settings(), jvm_root=tmp_path)
    assert "java-17 (17)" in str(info.value)


def test_find_jdk_takes_a_java_21_or_newer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new = tmp_path / "jdk-25"
    (new / "bin").mkdir(parents=True)
    (new / "bin" / "java").write_text("")
    (new / "release").write_text('JAVA_VERSION="25.0.3"\n')
    monkeypatch.delenv("ES_JAVA_HOME", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert es_service.find_jdk(Settings(), jvm_root=tmp_path) == new


def test_download_needs_maven_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = Settings(var_dir=tmp_path / "var", downloads_dir=tmp_path / "downloads")
    with pytest.raises(ServiceError, match="Maven"):
        es_service._download(es_service.Paths.of(settings))


def test_a_write_to_a_missing_index_is_refused_and_creates_none(
    elasticsearch_ready: None, settings: Settings
) -> None:
    # A sync batch may still write to the index of a reindex that failed and deleted it.
    auth = settings.elasticsearch_credentials(purpose="indexer")["basic_auth"]
    index = f"{_es_url(settings)}/{settings.index_alias}-v1-deleted"
    written = httpx.put(f"{index}/_doc/1", json={"identifier": "1"}, auth=auth, timeout=10)
    assert written.status_code == 404, written.text
    assert written.json()["error"]["type"] == "index_not_found_exception"
    assert httpx.head(index, auth=auth, timeout=10).status_code == 404
