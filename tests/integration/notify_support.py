"""Helpers of the notification tests: a CMS client that writes, a practitioner already working
with a child, and a user who is that practitioner (the same e-mail address)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import NewUser, Role, create_client, create_user
from db.audit import AuditContext
from db.models import Organisation
from tests.integration.access_support import (
    PASSWORD,
    PIN,
    bearer,
    fast_settings,
    unique,
    vetted,
)

_WORKING = """
SELECT c.identifier, c.local_authority_code AS authority, p.email, p.id AS practitioner_id
FROM involvement i JOIN child c ON c.id = i.child_id
JOIN practitioner p ON p.id = i.practitioner_id
JOIN organisation o ON o.id = i.organisation_id
WHERE i.end_date IS NULL AND c.status = 'active' AND NOT i.sensitive AND NOT o.sensitive
  AND o.kind NOT IN ('sexual_health', 'mental_health', 'substance_misuse')
  AND c.local_authority_code IS NOT NULL
  AND (EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id AND s.removed_at IS NULL)) = :shielded
  AND (SELECT count(*) FROM involvement j WHERE j.child_id = c.id AND j.end_date IS NULL) = 1
ORDER BY i.id OFFSET :offset LIMIT 1
"""


@dataclass(frozen=True)
class Working:
    """A child, and the one practitioner with a current involvement with them."""

    identifier: str
    authority: str
    email: str
    practitioner_id: int


def working_practitioner(engine: Engine, *, offset: int, shielded: bool = False) -> Working:
    """A child with exactly one current involvement (a practitioner's)."""
    with engine.connect() as connection:
        row = connection.execute(text(_WORKING), {"offset": offset, "shielded": shielded}).one()
    return Working(row.identifier, row.authority, row.email, row.practitioner_id)


def user_with_email(
    engine: Engine,
    settings: Settings,
    *,
    email: str | None,
    roles: frozenset[Role] = frozenset({Role.PRACTITIONER}),
    authorities: frozenset[str] = frozenset(),
) -> str:
    """A new user who is the practitioner with `email` (taken from an account of an earlier
    run on the same database, whose demo practitioners are the same); their username."""
    username = unique("user")
    with Session(engine) as session, session.begin():
        if email is not None:
            session.execute(
                text("UPDATE app_user SET email = NULL WHERE email = :email"),
                {"email": email.lower()},
            )
        create_user(
            session=session,
            settings=fast_settings(settings),
            context=AuditContext.operator(),
            new=NewUser(
                username=username,
                roles=roles,
                authorities=authorities,
                organisation="Test Health Visiting Team",
                email=email,
                vetting=vetted(),
            ),
            password=PASSWORD,
            pin=PIN,
        )
    return username


def new_organisation(engine: Engine, kind: str = "health_visiting") -> str:
    """A fresh organisation of `kind`, as KIND:CODE."""
    code = uuid.uuid4().hex[:10].upper()
    with Session(engine) as session, session.begin():
        session.add(Organisation(kind=kind, code=code, name=f"Test {kind} {code}", phone=None))
    return f"{kind}:{code}"


class Writer:
    """A CMS client of a new organisation, acting for a practitioner of `authority`."""

    def __init__(self, engine: Engine, settings: Settings, *, authority: str) -> None:
        self.engine = engine
        self.organisation = new_organisation(engine)
        with Session(engine) as session, session.begin():
            self.name = unique("cms")
            issued = create_client(
                session=session,
                context=AuditContext.operator(),
                name=self.name,
                roles=frozenset({Role.PRACTITIONER}),
                authority=authority,
                organisation=self.organisation,
            )
        self.key = issued.key
        self.username = user_with_email(
            engine, settings, email=None, authorities=frozenset({authority})
        )

    def headers(self, **extra: str) -> dict[str, str]:
        """The client's credentials, acting for its user."""
        return {**bearer(self.key), "X-On-Behalf-Of": self.username, **extra}

    def etag(self, client: TestClient, identifier: str) -> str:
        """The record's current ETag."""
        answer = client.get(f"/v1/children/{identifier}", headers=self.headers())
        assert answer.status_code == 200, answer.text
        return answer.headers["ETag"]

    def start(self, client: TestClient, identifier: str, **body: Any) -> Any:
        """Start an involvement with a new practitioner (the body's fields added)."""
        practitioner = {
            "name": "Nia Adeyemi",
            "email": f"{uuid.uuid4().hex[:10]}@service.example.nhs.uk",
            "phone": "0113 496 0999",
            "job_title": "Family support worker",
        }
        return client.post(
            f"/v1/children/{identifier}/involvements",
            json={"practitioner": practitioner, **body},
            headers=self.headers(**{"If-Match": self.etag(client, identifier)}),
        )

    def patch(self, client: TestClient, identifier: str, involvement: int, **body: Any) -> Any:
        """Change one of its involvements."""
        return client.patch(
            f"/v1/children/{identifier}/involvements/{involvement}",
            json=body,
            headers=self.headers(**{"If-Match": self.etag(client, identifier)}),
        )


def notices_of(engine: Engine, practitioner_id: int) -> list[Any]:
    """The practitioner's notices, oldest first, with their deliveries' channels."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT n.id, n.kind, n.details, n.read_at, c.identifier,"
                    " ARRAY(SELECT d.channel || ':' || d.target FROM notification_delivery d"
                    "       WHERE d.notification_id = n.id) AS deliveries"
                    " FROM notification n JOIN child c ON c.id = n.child_id"
                    " WHERE n.practitioner_id = :id ORDER BY n.created_at"
                ),
                {"id": practitioner_id},
            )
        )


def practitioner_id(engine: Engine, email: str) -> int:
    """The practitioner with this e-mail address."""
    from db.models import Practitioner

    with Session(engine) as session:
        found = session.scalar(select(Practitioner.id).where(Practitioner.email == email))
    assert found is not None
    return int(found)
