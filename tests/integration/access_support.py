"""Shared helpers of the access and audit tests: unique authorities, accounts, keys, an app.

Audit rows can never be deleted and they reference users, so tests do not clean up accounts:
every name is unique instead, and no test depends on another's data.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import NewUser, Role, VettingChange, create_client, create_user
from db.access.credentials import current_code
from db.access.sessions import open_session
from db.access.users import get_user
from db.audit import AuditContext
from db.models import LocalAuthority
from searchapi.deps import settings_dependency
from searchapi.main import create_app

PASSWORD = "correct horse battery"
PIN = "2580"


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def fast_settings(settings: Settings, **changes: object) -> Settings:
    """Cheap argon2 (the cost is not under test) and no per-address limit, unless changed."""
    fast: dict[str, object] = {
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 8192,
        "argon2_parallelism": 1,
        "sign_in_rate_per_address": 1_000_000,
    }
    return settings.model_copy(update={**fast, **changes})


@dataclass(frozen=True)
class Account:
    """A user with the secrets a test needs to sign in."""

    username: str
    password: str
    pin: str
    totp_secret: str

    def code(self, at: datetime | None = None) -> str:
        """The one-time code at `at` (now by default)."""
        return current_code(self.totp_secret, at=at or datetime.now(UTC))

    def login_body(self, *, at: datetime | None = None, **changes: str) -> dict[str, str]:
        """A sign-in request with all three factors right, unless changed."""
        body = {
            "username": self.username,
            "password": self.password,
            "pin": self.pin,
            "code": self.code(at),
        }
        return {**body, **changes}


def vetted(*, checked_on: date | None = None) -> VettingChange:
    """Current vetting: identity, DBS check (`checked_on`, a week ago by default) and training."""
    day = checked_on or date.today() - timedelta(days=7)
    return VettingChange(
        identity_checked_by="Test HR Officer",
        identity_checked_on=day,
        dbs_checked_on=day,
        training_completed_on=day,
    )


def new_authority(engine: Engine) -> str:
    """A fresh local authority; its code.

    Codes "E7xxxxxxx" are never real (ONS uses E06-E10 for these) and never meet the load
    tests' own authorities (E089xxxxx), which those tests delete.
    """
    code = f"E7{secrets.randbelow(10**7):07d}"
    with Session(engine) as session, session.begin():
        if session.get(LocalAuthority, code) is None:
            session.add(LocalAuthority(code=code, name=f"Testshire {code}"))
    return code


def new_account(
    engine: Engine,
    settings: Settings,
    *,
    roles: Iterable[Role],
    authorities: Iterable[str] = (),
    child_protection: bool = False,
    archive_access: bool = False,
    expires_at: datetime | None = None,
    demo: bool = False,
    vetting: VettingChange | None = None,
) -> Account:
    """A user created through the service, as the CLI would, vetted (`vetted()`) unless a
    `vetting` is given."""
    username = unique("user")
    with Session(engine) as session, session.begin():
        enrolment = create_user(
            session=session,
            settings=settings,
            context=AuditContext.operator(),
            new=NewUser(
                username=username,
                roles=frozenset(roles),
                authorities=frozenset(authorities),
                organisation="Test Health Visiting Team",
                child_protection=child_protection,
                archive_access=archive_access,
                expires_at=expires_at,
                is_demo=demo,
                vetting=vetting or vetted(),
            ),
            password=PASSWORD,
            pin=PIN,
        )
    return Account(username, PASSWORD, PIN, enrolment.totp_secret)


def new_api_key(
    engine: Engine,
    *,
    authority: str,
    roles: Iterable[Role] = (Role.PRACTITIONER,),
    networks: Iterable[str] = (),
) -> str:
    """A CMS client's key (calling from the loopback unless `networks` are given)."""
    with Session(engine) as session, session.begin():
        issued = create_client(
            session=session,
            context=AuditContext.operator(),
            name=unique("cms"),
            roles=frozenset(roles),
            authority=authority,
            networks=list(networks),
        )
    return issued.key


def session_token(engine: Engine, username: str) -> str:
    """A live session of `username`, opened without the sign-in route (no one-time code used)."""
    with Session(engine) as session, session.begin():
        user = get_user(session=session, username=username)
        token, _ = open_session(
            session=session, user=user, client_address=None, now=datetime.now(UTC)
        )
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a session token or an API key."""
    return {"Authorization": f"Bearer {token}"}


def build_client(
    app_settings: Settings, *, address: str = "127.0.0.1"
) -> tuple[FastAPI, TestClient]:
    """The real app (real PostgreSQL) with `app_settings`, over HTTPS so Secure cookies flow."""
    app = create_app()
    app.dependency_overrides[settings_dependency] = lambda: app_settings
    client = TestClient(
        app, base_url="https://testserver", raise_server_exceptions=False, client=(address, 50000)
    )
    return app, client
