"""Helpers of the browser tests: the app under uvicorn, users, axe-core and screenshots.

The `browser`, `page` and `base_url` fixtures built on these are in conftest.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import Page

from contactpoint.settings import Settings
from db.access import Role
from searchapi.deps import settings_dependency
from searchapi.main import create_app
from tests.integration.access_support import (
    Account,
    fast_settings,
    new_account,
    new_authority,
    session_token,
)
from tests.integration.search_support import Population

ROOT = Path(__file__).parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"


def serve(settings: Settings) -> Iterator[str]:
    """Run the real app with `settings` (cheap argon2, no Secure cookie); yield its address."""
    app_settings = fast_settings(settings, session_cookie_secure=False)
    app = create_app()
    app.dependency_overrides[settings_dependency] = lambda: app_settings
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def new_user(pop: Population, *roles: Role, authorities: tuple[str, ...] = ()) -> Account:
    """A new user with `roles` (of a fresh authority unless `authorities` are given)."""
    codes = authorities or (new_authority(pop.engine),)
    settings = fast_settings(pop.settings)
    return new_account(pop.engine, settings, roles=roles, authorities=codes)


def sign_in_by_cookie(page: Page, pop: Population, account: Account) -> None:
    """A session cookie opened without the form (the form is tested on its own)."""
    token = session_token(pop.engine, account.username)
    page.goto("/sign-in")
    url = page.url
    page.context.add_cookies([{"name": "cp_session", "value": token, "url": url}])


def assert_no_axe_violations(page: Page) -> None:
    """axe-core finds nothing to report on the page as it is now."""
    # Evaluated rather than added as a <script>: the pages' policy refuses inline scripts.
    page.evaluate(AXE.read_text())
    violations: list[dict[str, Any]] = page.evaluate("async () => (await axe.run()).violations")
    summary = [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in violations]
    assert summary == [], summary


def screenshot(page: Page, name: str, *, focus: str | None = None) -> None:
    """A full-page screenshot, and a small one of the viewport (scrolled to `focus`)."""
    (SCREENSHOTS / "small").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if focus is not None:
        page.locator(focus).evaluate("element => element.scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "small" / f"{name}.png"))


def fill_sign_in(page: Page, account: Account, **changes: str) -> None:
    """Sign in through the form with all three factors right, unless changed."""
    values = {**account.login_body(), **changes}
    page.goto("/sign-in")
    page.get_by_label("Username").fill(values["username"])
    page.get_by_label("Password").fill(values["password"])
    page.get_by_label("PIN").fill(values["pin"])
    page.get_by_label("Security code").fill(values["code"])
    page.get_by_role("button", name="Sign in").click()


def tab_to(page: Page, target: Any, *, presses: int = 40) -> None:
    """Move the focus to `target` (a locator) with the Tab key alone, as a keyboard user would."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")
