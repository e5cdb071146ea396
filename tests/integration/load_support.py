"""Helpers of the load tests (no tests here): synthetic import lines and table clean-up."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, pool, text

from contactpoint.settings import Settings
from db.normalise import nhs_check_digit

LOADED_TABLES = (
    "break_glass_review, shield_access, shield, involvement, carer, other_name, previous_address, "
    "child_correction, correction_confirmation, "
    "child_field_source, feed_review, feed_record, child_source_identifier, child_merge, "
    "shield_request, contact_request, "
    "notification_delivery, notification, webhook_subscription, "
    "child_extension, child, practitioner"
)
_SERVICE_KINDS = ("health_visiting", "social_care", "youth_service", "early_help", "mental_health")
_RELATIONSHIPS = ("mother", "father", "grandparent", "step_parent", "foster_carer", "guardian")
_GIVEN = ("Amelia", "Oliver", "Zoë", "Noah", "Isla", "Muhammad", "Ava", "Leo", "Freya", "Arlo")
_FAMILY = ("Smith", "O'Brien", "Jones", "Patel", "Nowak", "Taylor-Brown", "Khan", "Williams")
_TOWNS = (("Leeds", "LS"), ("Bristol", "BS"), ("Manchester", "M"), ("Norwich", "NR"))


def identifier(n: int) -> str:
    """The n-th valid NHS-style number (those whose check digit would be 10 are skipped)."""
    base = 400_000_000 + n * 7
    while True:
        digits = f"{base:09d}"
        check = nhs_check_digit(digits)
        if check is not None:
            return f"{digits}{check}"
        base += 1


def _postcode(rng: random.Random, area: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return (
        f"{area}{rng.randint(1, 20)} {rng.randint(0, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    )


def child_line(n: int, *, seed: int = 0, today: date | None = None) -> dict[str, Any]:
    """A valid, demo-like import line for child number n (same n and seed, same line)."""
    rng = random.Random(n * 7919 + seed)
    today = today or date.today()
    town, area = rng.choice(_TOWNS)
    la = 1 + n % 150
    family = rng.choice(_FAMILY)
    school = 100_000 + rng.randrange(20_000)
    line: dict[str, Any] = {
        "identifier": identifier(n),
        "given_names": f"{rng.choice(_GIVEN)} {rng.choice(_GIVEN)}",
        "family_name": family,
        "gender": rng.choice(("male", "female", "other", "unknown")),
        "date_of_birth": (today - timedelta(days=rng.randint(0, 17 * 365))).isoformat(),
        "address": {
            "lines": [f"{rng.randint(1, 300)} Mill Lane"],
            "town": town,
            "postcode": _postcode(rng, area),
        },
        "local_authority": {
            "code": f"E089{la:05d}",
            "name": f"Authority {la}",
            "team_phone": "0113 222 4401",
            "team_email": f"cp.team@la{la}.example.gov.uk",
        },
        "carers": [
            {
                "name": f"{rng.choice(_GIVEN)} {family}",
                "relationship": rng.choice(_RELATIONSHIPS),
                "parental_responsibility": True,
                "phone": f"07700 9{rng.randrange(100_000):05d}",
            }
            for _ in range(rng.randint(1, 2))
        ],
        "education_setting": {"code": str(school), "name": f"School {school}"},
        "gp_practice": {"code": f"B{rng.randrange(6_000):05d}", "name": "Medical Centre"},
        "involvements": [],
    }
    for position in range(rng.randint(0, 3)):
        kind = rng.choice(_SERVICE_KINDS)
        team = rng.randrange(300)
        worker = rng.randrange(5_000)
        line["involvements"].append(
            {
                "service": {"kind": kind, "code": f"{kind[:3].upper()}-{team}", "name": kind},
                "practitioner": {
                    "name": f"Worker {worker}",
                    "email": f"worker{worker}.{kind}@example.nhs.uk",
                    "job_title": "Practitioner",
                },
                "start_date": (today - timedelta(days=rng.randint(0, 365))).isoformat(),
                "lead_professional": position == 0,
            }
        )
    return line


def write_lines(path: Path, lines: Iterable[dict[str, Any] | str]) -> Path:
    """Write JSON Lines (a str is written as it is, to make bad lines)."""
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def truncate_tables(settings: Settings) -> None:
    """Empty the tables the loader writes (as the schema owner: the app role may not TRUNCATE).

    Local authorities are shared with other tests' users and clients: only this module's
    (E089xxxxx, see child_line) are deleted.
    """
    engine = create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {LOADED_TABLES}"))
        # Other tests' CMS clients name organisations: unlinked, then the organisations go.
        conn.execute(text("UPDATE api_client SET organisation_id = NULL"))
        conn.execute(text("DELETE FROM organisation"))
        conn.execute(text("DELETE FROM local_authority WHERE code LIKE 'E089%'"))
    engine.dispose()
