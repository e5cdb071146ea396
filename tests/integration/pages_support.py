"""Helpers of the pages' tests without a browser: a user, a browser session, a form post.

The `app_and_client` and `pages` fixtures that these drive are in conftest.py.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import text

from db.access import Role
from tests.integration.access_support import fast_settings, new_account, session_token
from tests.integration.search_support import Kid, Population

HTML = {"Accept": "text/html,application/xhtml+xml"}


def form_token(page: str) -> str:
    """The CSRF token of the page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def new_username(
    pop: Population,
    *roles: Role,
    authorities: tuple[str, ...] = (),
    child_protection: bool = False,
) -> str:
    """A new user with `roles` in the population's database; its username."""
    account = new_account(
        pop.engine,
        fast_settings(pop.settings),
        roles=roles,
        authorities=authorities,
        child_protection=child_protection,
    )
    return account.username


def sign_in(client: TestClient, pop: Population, username: str) -> str:
    """Open `username`'s browser session; the form token of its pages."""
    client.cookies.clear()
    client.cookies.set("cp_session", session_token(pop.engine, username))
    page = client.get("/search", headers=HTML)
    assert page.status_code == 200, page.text
    return form_token(page.text)


def post_form(client: TestClient, path: str, token: str | None, **fields: str) -> Any:
    """Post a form as a browser would, with the form token unless it is None."""
    data = {**fields, **({"csrf_token": token} if token is not None else {})}
    return client.post(path, data=data, headers=HTML, follow_redirects=False)


def search_form(client: TestClient, token: str, **fields: str) -> Any:
    """Search as a browser would: the form's post, then the results page it is sent to
    (POST/redirect/GET); a refused search is the post's own answer."""
    posted = post_form(client, "/search", token, **fields)
    if posted.status_code != 303:
        return posted
    location = posted.headers["location"]
    assert location.startswith("/search?results="), location
    return client.get(location.split("#")[0], headers=HTML, follow_redirects=False)


_SENSITIVE = """
SELECT c.identifier, i.id, o.name FROM involvement i JOIN child c ON c.id = i.child_id
JOIN organisation o ON o.id = i.organisation_id
WHERE o.kind IN ('sexual_health', 'mental_health', 'substance_misuse')
  AND i.consent_recorded_at IS NULL AND i.override_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM involvement j JOIN organisation p ON p.id = j.organisation_id
                  WHERE j.child_id = c.id AND j.id <> i.id AND p.name = o.name)
ORDER BY i.id OFFSET :offset LIMIT 1
"""


def sensitive_involvement(pop: Population, offset: int) -> tuple[Kid, int, str]:
    """A sensitive involvement without consent: the child, its id and the service's name (HTML)."""
    with pop.engine.connect() as connection:
        row = connection.execute(text(_SENSITIVE), {"offset": offset}).one()
    kid = next(kid for kid in pop.kids if kid.identifier == row.identifier)
    return kid, row.id, str(escape(row.name))  # as the page writes it
