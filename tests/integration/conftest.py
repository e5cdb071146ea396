"""Fixtures shared by the integration tests (the servers' own fixtures are in tests/conftest.py).

Module-scoped fixtures defined here are still set up once per test module that uses them and
torn down at its end: each module loads the population afresh, because other modules empty the
child tables. A module that needs another population defines its own fixture of the same name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from contactpoint.settings import Settings
from tests.integration.access_support import build_client, fast_settings
from tests.integration.browser_support import CHROMIUM, CHROMIUM_ARGS, serve
from tests.integration.search_support import CHILDREN, SEED, Population, build_population


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """The settings of the app under test."""
    return fast_settings(settings)


@pytest.fixture
def api(engine: Engine, fast: Settings) -> Iterator[TestClient]:
    """A client of the real app; its lifespan connects to the test stack."""
    _, client = build_client(fast)
    with client:
        yield client


@pytest.fixture(scope="module")
def population(
    engine: Engine, elasticsearch_ready: None, settings: Settings, tmp_path_factory: Any
) -> Iterator[Population]:
    """20,000 demo children in PostgreSQL and behind the alias, loaded afresh for each module."""
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=CHILDREN,
        seed=SEED,
    )


@pytest.fixture(scope="module")
def app_client(population: Population) -> Iterator[TestClient]:
    """A client of the real app over the module's population, shared by the module's tests."""
    _, client = build_client(fast_settings(population.settings))
    with client:
        yield client


@pytest.fixture(scope="module")
def app_and_client(population: Population) -> Iterator[tuple[FastAPI, TestClient]]:
    """The real app over the module's population and its client, for the pages' tests."""
    app, client = build_client(fast_settings(population.settings))
    with client:
        yield app, client


@pytest.fixture
def pages(app_and_client: tuple[FastAPI, TestClient]) -> Iterator[TestClient]:
    """The app as a browser sees it; each test signs in afresh."""
    _, client = app_and_client
    client.cookies.clear()
    yield client
    client.cookies.clear()


@pytest.fixture(scope="module")
def base_url(population: Population) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port (plain HTTP: no Secure cookie)."""
    yield from serve(population.settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, one per module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the app at `base_url`."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1000, "height": 800})
    tab = context.new_page()
    yield tab
    context.close()
