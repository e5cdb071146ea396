"""The deployment files agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

from contactpoint.settings import ELASTICSEARCH_VERSION

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
