"""The deployment files agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from contactpoint.settings import ELASTICSEARCH_VERSION, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_uses_the_pinned_elasticsearch_release() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    tags = set(re.findall(r"elasticsearch/elasticsearch:([\w.]+)", compose))
    assert tags == {ELASTICSEARCH_VERSION}


def test_docker_compose_uses_postgresql_15() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"image: postgres:15\b", compose)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme
    assert ci.strip().splitlines()[-1] == "make test"


def test_the_image_copies_every_package_that_pyproject_installs() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    (include,) = re.findall(r"^include = \[(.*)\]$", pyproject, flags=re.MULTILINE)
    packages = {name.strip().strip('"').rstrip("*") for name in include.split(",")}
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.MULTILINE))
    assert packages == copied


def test_every_process_serve_starts_beside_the_api_is_a_compose_service() -> None:
    """`serve --with-indexer` starts helpers as `contactpoint <group> <command>`; a deployment
    with containers runs each as a service of its own."""
    cli = (ROOT / "contactpoint" / "cli.py").read_text()
    beside = set(re.findall(r'_start_child\("([\w-]+)", "([\w-]+)"', cli))
    compose = (ROOT / "docker-compose.yml").read_text()
    services = set(re.findall(r'command: \["contactpoint", "([\w-]+)", "([\w-]+)"\]', compose))
    assert beside >= {("indexer", "run"), ("lifecycle", "schedule")}
    assert beside <= services


def test_docker_compose_runs_a_cluster_of_three_nodes_that_the_apps_all_know() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    nodes = sorted(name for name, service in services.items() if "node.name" in str(service))
    assert nodes == ["es01", "es02", "es03"]
    volumes = set()
    for name in nodes:
        environment = services[name]["environment"]
        assert environment["node.name"] == name
        assert environment["discovery.seed_hosts"].split(",") == nodes
        assert environment["xpack.security.enabled"] == "true"
        # A cluster with security needs TLS between its nodes (each with its own certificate).
        assert environment["xpack.security.transport.ssl.enabled"] == "true"
        assert environment["xpack.security.transport.ssl.key"] == f"certs/{name}/{name}.key"
        volumes.update(v.split(":")[0] for v in services[name]["volumes"] if "/data" in v)
    assert len(volumes) == 3
    urls = Settings(
        elasticsearch_url=services["api"]["environment"]["ELASTICSEARCH_URL"]
    ).effective_elasticsearch_urls()
    assert urls == [f"http://{name}:9200" for name in nodes]
    assert Settings(elasticsearch_url=",".join(urls)).effective_index_replicas() == 1
