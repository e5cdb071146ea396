"""Organisations of the demo population: schools, GP practices and services with practitioners.

The catalogue is built from a fixed seed, not the file's seed: every demo file, whatever its
seed or size, names the same organisation the same way under the same code, so files can be
loaded side by side without one renaming another's schools.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from anyascii import anyascii

from contactpoint.demo_names import ORIGINS, Origin, family_name, family_name_for, given_name
from contactpoint.demo_places import (
    LOCAL_AUTHORITIES,
    MOBILE,
    ORIGIN_WEIGHTS,
    LocalAuthority,
    phone,
    postcode,
    street,
)

CATALOGUE_SEED = 20260901

Kind = Literal[
    "health_visiting",
    "social_care",
    "early_help",
    "youth_service",
    "sexual_health",
    "mental_health",
    "substance_misuse",
    "other",
]
SENSITIVE_KINDS: frozenset[str] = frozenset({"sexual_health", "mental_health", "substance_misuse"})

Json = dict[str, Any]

_SAINTS = ("Mary", "John", "Peter", "Paul", "Joseph", "Anne", "Andrew", "Michael", "Margaret")
_PLACE_STEMS = (
    "Oakwood", "Hillside", "Brookfield", "Meadowbank", "Greenfield", "Riverside", "Highfield",
    "Westfield", "Ashgrove", "Elmhurst", "Fairview", "Parkside", "Woodlands", "Beechwood",
    "Springwell", "Moorside", "Castleton", "Kingsmead", "Northgate", "Southfields", "Redhill",
    "Longmoor", "Ferndale", "Hollybank", "Millbrook", "Thornhill", "Rosehill", "Larkrise",
    "Oak", "Ash", "Elm", "Beech", "Willow", "Orchard", "Meadow", "Manor", "Grange", "Brook",
    "Springfield", "Castle", "Abbey", "Priory", "Mill", "Park", "Victoria", "Albert", "Windsor",
    "Richmond", "Holly", "Forest", "Heath", "Vale", "Cherry Tree", "Hawthorn", "Rowan",
)  # fmt: skip

# kind: (code prefix, domain, team names, job titles)
_SERVICE_KINDS: dict[Kind, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "health_visiting": (
        "HV", "nhs", ("North", "South", "East", "West", "Central"),
        ("Health visitor", "Community staff nurse", "Nursery nurse"),
    ),
    "social_care": (
        "SC", "gov", ("Assessment Team", "Children in Need Team", "Child Protection Team",
                      "Children in Care Team"),
        ("Social worker", "Senior social worker", "Team manager"),
    ),
    "early_help": (
        "EH", "gov", ("North", "South", "East", "West"),
        ("Early help practitioner", "Family support worker"),
    ),
    "youth_service": ("YS", "gov", ("Youth Service",), ("Youth worker", "Senior youth worker")),
    "sexual_health": (
        "SH", "nhs", ("Sexual Health Service", "Young People's Clinic"),
        ("Sexual health nurse", "Sexual health adviser"),
    ),
    "mental_health": (
        "MH", "nhs", ("CAMHS", "Mental Health Support Team"),
        ("CAMHS practitioner", "Clinical psychologist", "Mental health nurse"),
    ),
    "substance_misuse": (
        "SM", "gov", ("Young People's Drug and Alcohol Service",),
        ("Substance misuse worker", "Recovery worker"),
    ),
    "other": ("OT", "org", ("Young Carers Service",), ("Young carers support worker",)),
}  # fmt: skip
_TEAM_AREA_NAMES = {"health_visiting": "Health Visiting", "early_help": "Early Help"}


@dataclass(frozen=True, slots=True)
class Service:
    """A service organisation (with its `kind`) and the practitioners who work in it."""

    org: Json
    practitioners: tuple[Json, ...]


@dataclass(frozen=True, slots=True)
class Area:
    """One local authority's reusable objects: its own record, schools, GPs and services."""

    la: LocalAuthority
    local_authority: Json
    nurseries: tuple[Json, ...]
    primaries: tuple[Json, ...]
    secondaries: tuple[Json, ...]
    colleges: tuple[Json, ...]
    gp_practices: tuple[Json, ...]
    services: dict[Kind, tuple[Service, ...]]


def slug(text: str) -> str:
    """ASCII lower-case words joined by hyphens, for email addresses."""
    return re.sub(r"[^a-z0-9]+", "-", anyascii(text).lower()).strip("-")


def pick_origin(rng: random.Random, la: LocalAuthority) -> Origin:
    """A family origin, weighted by the kind of area."""
    return rng.choices(ORIGINS, weights=ORIGIN_WEIGHTS[la.profile])[0]


class _Builder:
    """Builds the catalogue; keeps codes, names and emails unique while it does."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.urns = iter(rng.sample(range(100_000, 150_000), 20_000))
        self.ods_numbers = iter(rng.sample(range(80_000, 100_000), 15_000))
        self.emails: set[str] = set()
        self.names: set[str] = set()

    def _unique_name(self, make: Callable[[], str]) -> str:
        for _ in range(50):
            name = make()
            if name not in self.names:
                self.names.add(name)
                return name
        raise RuntimeError("could not make a unique organisation name")

    def _org(self, la: LocalAuthority, code: str, name: str, domain: str) -> Json:
        town, districts = self.rng.choice(la.towns)
        return {
            "code": code,
            "name": name,
            "phone": phone(self.rng, la.phone),
            "email": f"office@{slug(name)}.{domain}",
            "address": {
                "lines": [street(self.rng)],
                "town": town,
                "postcode": postcode(self.rng, self.rng.choice(districts)),
            },
        }

    def school(self, la: LocalAuthority, phase: str) -> Json:
        rng = self.rng

        def make() -> str:
            stem = rng.choice(_PLACE_STEMS)
            saint = rng.choice(_SAINTS)
            town = rng.choice(la.towns)[0]
            options = {
                "nursery": (f"{stem} Nursery School", f"Little {stem} Day Nursery"),
                "primary": (
                    f"{stem} Primary School",
                    f"{stem} Community Primary School",
                    f"{stem} Primary Academy",
                    f"St {saint}'s Catholic Primary School",
                    f"St {saint}'s C of E Primary School",
                ),
                "secondary": (
                    f"{stem} High School",
                    f"{stem} Academy",
                    f"{stem} School",
                    f"St {saint}'s Catholic High School",
                ),
                "college": (f"{town} College", f"{town} Sixth Form College", f"{stem} College"),
            }[phase]
            return rng.choice(options)

        name = self._unique_name(make)
        return self._org(la, str(next(self.urns)), name, f"{la.slug}.example.sch.uk")

    def gp_practice(self, la: LocalAuthority) -> Json:
        rng = self.rng

        def make() -> str:
            stem = rng.choice(_PLACE_STEMS)
            return rng.choice(
                (
                    f"{stem} Medical Centre",
                    f"{stem} Surgery",
                    f"{stem} Health Centre",
                    f"The {stem} Practice",
                    f"Dr {family_name(rng, origin='british')} and Partners",
                )
            )

        code = f"{la.ods_letter}{next(self.ods_numbers)}"
        return self._org(la, code, self._unique_name(make), f"{la.slug}.example.nhs.uk")

    def practitioner(self, la: LocalAuthority, domain: str, titles: tuple[str, ...]) -> Json:
        rng = self.rng
        origin = pick_origin(rng, la)
        sex: Literal["male", "female"] = "female" if rng.random() < 0.75 else "male"
        first = given_name(rng, origin=origin, sex=sex, child=False)
        last = family_name_for(family_name(rng, origin=origin), origin=origin, sex=sex)
        local = f"{slug(first)}.{slug(last)}".replace("-", "")
        email, n = f"{local}@{domain}", 1
        while email in self.emails:  # the email identifies the practitioner: keep it unique
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        number = phone(rng, MOBILE if rng.random() < 0.4 else la.phone)
        return {
            "name": f"{first} {last}",
            "email": email,
            "phone": number,
            "job_title": rng.choice(titles),
        }

    def services(self, la: LocalAuthority) -> dict[Kind, tuple[Service, ...]]:
        out: dict[Kind, tuple[Service, ...]] = {}
        for kind, (prefix, tld, teams, titles) in _SERVICE_KINDS.items():
            domain = {
                "nhs": f"{la.slug}.example.nhs.uk",
                "gov": f"{la.slug}.example.gov.uk",
                "org": f"{la.slug}.example.org",
            }[tld]
            n_teams = max(1, min(len(teams), round(la.weight / 70)))
            staff = max(3, min(30, la.weight // (8 * n_teams)))
            services = []
            for i, team in enumerate(teams[:n_teams]):
                area_name = _TEAM_AREA_NAMES.get(kind)
                name = f"{la.name} {area_name} {team}" if area_name else f"{la.name} {team}"
                if kind == "social_care":
                    name = f"{la.name} Children's Social Care, {team}"
                org: Json = {
                    "kind": kind,
                    "code": f"{prefix}-{la.code}-{i + 1}",
                    "name": name,
                    "phone": phone(self.rng, la.phone),
                    "email": f"{slug(team)}@{domain}",
                }
                people = tuple(self.practitioner(la, domain, titles) for _ in range(staff))
                services.append(Service(org=org, practitioners=people))
            out[kind] = tuple(services)
        return out

    def area(self, index: int, la: LocalAuthority) -> Area:
        w = la.weight
        self.names = set()  # names are unique within an area; "St Mary's" recurs across England
        return Area(
            la=la,
            local_authority={
                "code": la.code,
                "name": la.name,
                "team_phone": f"{la.phone}{400 + index:03d}",
                "team_email": f"cp.team@{la.slug}.example.gov.uk",
            },
            nurseries=tuple(self.school(la, "nursery") for _ in range(max(2, w // 20))),
            primaries=tuple(self.school(la, "primary") for _ in range(max(6, w // 4))),
            secondaries=tuple(self.school(la, "secondary") for _ in range(max(3, w // 15))),
            colleges=tuple(self.school(la, "college") for _ in range(max(1, w // 60))),
            gp_practices=tuple(self.gp_practice(la) for _ in range(max(4, w // 6))),
            services=self.services(la),
        )


@cache
def catalogue() -> dict[str, Area]:
    """Every local authority's area, by ONS code; built once per process."""
    builder = _Builder(random.Random(CATALOGUE_SEED))
    return {la.code: builder.area(i, la) for i, la in enumerate(LOCAL_AUTHORITIES)}
