"""Households of the demo population: siblings share an address, carers, a GP and usually a name."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from contactpoint.demo_carers import Family
from contactpoint.demo_names import Origin, Sex, family_name, family_name_for, given_names
from contactpoint.demo_places import address, pick_la
from contactpoint.demo_services import SENSITIVE_KINDS, Area, Kind, Service, pick_origin

Json = dict[str, Any]

# Ages are taken on this date, and no date in the file is later: a file must not depend on the
# day it was made. The start of the 2026/27 school year; every child is 0-17 on that day.
REFERENCE_DATE = date(2026, 9, 1)
REF = REFERENCE_DATE.toordinal()
EARLIEST_BIRTH = date(REFERENCE_DATE.year - 18, 9, 2).toordinal()
_YEAR = 365

_SHIELD_REASONS = (
    "Family living in a refuge after domestic abuse",
    "Court order restricting disclosure of the child's address",
    "Risk of abduction",
    "Adoptive placement",
    "Police protection arrangements",
)
_OVERRIDE_REASON = "Child protection enquiry (Children Act 1989, section 47)"


def iso(day: int) -> str:
    """A date ordinal as `YYYY-MM-DD`."""
    return date.fromordinal(day).isoformat()


def stamp(rng: random.Random, day: int) -> str:
    """A working-hours timestamp on the date ordinal `day`, in UTC."""
    return f"{iso(day)}T{rng.randrange(8, 18):02d}:{rng.randrange(60):02d}:00Z"


def age_on_reference(dob: date) -> int:
    """Whole years of age on REFERENCE_DATE."""
    before_birthday = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (dob.month, dob.day)
    return REFERENCE_DATE.year - dob.year - before_birthday


def _birthdays(rng: random.Random, count: int) -> list[int]:
    """Date ordinals of siblings: one to six years apart, now and then twins; eldest first."""
    days = [rng.randrange(EARLIEST_BIRTH, REF + 1)]
    for _ in range(count - 1):
        if rng.random() < 0.02:
            days.append(days[-1])
            continue
        for _ in range(6):
            gap = rng.randrange(330, 6 * _YEAR)
            day = min(days) - gap if rng.random() < 0.5 else max(days) + gap
            if EARLIEST_BIRTH <= day <= REF:
                days.append(day)
                break
    return sorted(days)


def _involvement(
    rng: random.Random,
    service: Service,
    start: int,
    end: int | None,
    *,
    lead: bool,
    assessed: float,
) -> Json:
    item: Json = {"service": service.org}
    if rng.random() < 0.9:
        item["practitioner"] = rng.choice(service.practitioners)
    item["start_date"] = iso(start)
    if end is not None:
        item["end_date"] = iso(end)
    if lead:
        item["lead_professional"] = True
    if rng.random() < assessed:
        item["assessment_completed"] = True
    return item


@dataclass(frozen=True, slots=True)
class _FamilyService:
    """Social care or early help works with the whole family: one worker for all siblings."""

    service: Service
    practitioner: Json
    start: int
    end: int | None


def _family_service(rng: random.Random, area: Area, kind: Kind) -> _FamilyService:
    service = rng.choice(area.services[kind])
    start = REF - rng.randrange(7, 4 * _YEAR)
    end = min(REF, start + rng.randrange(30, 2 * _YEAR)) if rng.random() < 0.25 else None
    return _FamilyService(service, rng.choice(service.practitioners), start, end)


# kind: (youngest age, chance at that age, extra chance per year older)
_OWN_SERVICES: tuple[tuple[Kind, int, float, float], ...] = (
    ("youth_service", 11, 0.05, 0.005),
    ("mental_health", 8, 0.025, 0.004),
    ("sexual_health", 14, 0.03, 0.01),
    ("substance_misuse", 13, 0.008, 0.002),
    ("other", 8, 0.01, 0.0),
)
_SIZES = (1, 2, 3, 4, 5, 6)
_SIZE_CUM = (0.42, 0.78, 0.93, 0.98, 0.995, 1.0)


@dataclass(slots=True)
class _Household:
    rng: random.Random
    area: Area
    origin: Origin
    surname: str
    younger_surname: str | None
    home: Json
    carers: list[Json]
    gp: Json | None
    family_services: list[_FamilyService]
    shield: tuple[str, str, int] | None
    schools: dict[str, Json]
    first_names: set[str]

    def school(self, age: int) -> Json | None:
        """Siblings in the same phase go to the same school."""
        rng = self.rng
        if age < 2 or (age < 4 and rng.random() < 0.45):
            return None
        phase = "nursery" if age < 4 else "primary" if age < 11 else "secondary"
        if age >= 16 and rng.random() < 0.6:
            phase = "college"
        if phase not in self.schools:
            self.schools[phase] = rng.choice(
                {
                    "nursery": self.area.nurseries,
                    "primary": self.area.primaries,
                    "secondary": self.area.secondaries,
                    "college": self.area.colleges,
                }[phase]
            )
        return self.schools[phase]

    def involvements(self, birth: int, age: int, name: str) -> list[Json]:
        """Family services first (social care leads), then the child's own services."""
        rng, items, lead_taken = self.rng, [], False
        for fs in self.family_services:
            start = max(fs.start, birth + rng.randrange(1, 30))
            if start > (fs.end if fs.end is not None else REF):
                continue
            lead = fs.end is None and not lead_taken
            lead_taken = lead_taken or lead
            item: Json = {
                "service": fs.service.org,
                "practitioner": fs.practitioner,
                "start_date": iso(start),
            }
            if fs.end is not None:
                item["end_date"] = iso(fs.end)
            if lead:
                item["lead_professional"] = True
            if rng.random() < 0.8:
                item["assessment_completed"] = True
            items.append(item)
        if age < 5 and rng.random() < 0.4:
            service = rng.choice(self.area.services["health_visiting"])
            start = min(REF, birth + rng.randrange(10, 15))
            items.append(_involvement(rng, service, start, None, lead=False, assessed=0.5))
        for kind, min_age, chance, per_year in _OWN_SERVICES:
            if age < min_age or rng.random() >= chance + per_year * (age - min_age):
                continue
            service = rng.choice(self.area.services[kind])
            start = rng.randrange(max(birth + min_age * _YEAR, REF - 3 * _YEAR), REF + 1)
            end = rng.randrange(start, REF + 1) if rng.random() < 0.3 else None
            lead = kind == "youth_service" and end is None and not lead_taken
            lead = lead and rng.random() < 0.2
            lead_taken = lead_taken or lead
            item = _involvement(rng, service, start, end, lead=lead, assessed=0.3)
            if kind in SENSITIVE_KINDS:
                self._consent(item, start, end if end is not None else REF, age, name)
            items.append(item)
        return items

    def _consent(self, item: Json, start: int, last: int, age: int, name: str) -> None:
        """Consent to show the sensitive service, or else now and then a protection override."""
        rng = self.rng
        recorded_by = item["practitioner"]["name"] if "practitioner" in item else None
        if rng.random() < 0.6:
            # Young people of 13 or more usually consent for themselves (Gillick competence).
            responsible = [c for c in self.carers if c["parental_responsibility"]]
            given_by = name if age >= 13 or not responsible else responsible[0]["name"]
            item["consent"] = {
                "given_by": given_by,
                "recorded_by": recorded_by or item["service"]["name"],
                "recorded_at": stamp(rng, rng.randrange(start, last + 1)),
            }
            return
        protection = [fs for fs in self.family_services if fs.service.org["kind"] == "social_care"]
        if protection and protection[0].end is None and rng.random() < 0.3:
            item["override"] = {
                "by": protection[0].practitioner["name"],
                "reason": _OVERRIDE_REASON,
                "at": stamp(rng, rng.randrange(start, last + 1)),
            }

    def child(self, identifier: str, birth: int, youngest: bool) -> Json:
        rng = self.rng
        dob = date.fromordinal(birth)
        age = age_on_reference(dob)
        r = rng.random()
        sex: Sex = "male" if rng.random() < 0.512 else "female"
        gender = "other" if age >= 12 and r < 0.002 else "unknown" if age == 0 and r < 0.01 else sex
        name_origin = self.origin
        if self.origin != "british" and rng.random() < 0.25:
            name_origin = "british"  # many second-generation children have English names
        elif self.origin == "british" and rng.random() < 0.03:
            name_origin = rng.choice(("irish", "welsh", "european"))
        given = given_names(rng, origin=name_origin, sex=sex, child=True)
        for _ in range(5):  # parents rarely give two children the same first name
            if given.split()[0] not in self.first_names:
                break
            given = given_names(rng, origin=name_origin, sex=sex, child=True)
        self.first_names.add(given.split()[0])
        surname = self.younger_surname if youngest and self.younger_surname else self.surname
        family = family_name_for(surname, origin=self.origin, sex=sex)
        child: Json = {
            "identifier": identifier,
            "given_names": given,
            "family_name": family,
            "gender": gender,
            "date_of_birth": dob.isoformat(),
            "address": self.home,
            "local_authority": self.area.local_authority,
        }
        if rng.random() < 0.01:
            child["status"] = "archived"
        child["carers"] = self.carers
        school = self.school(age)
        if school is not None:
            child["education_setting"] = school
        if self.gp is not None:
            child["gp_practice"] = self.gp
        involvements = self.involvements(birth, age, f"{given.split()[0]} {family}")
        if involvements:
            child["involvements"] = involvements
        if self.shield is not None:
            applied_by, reason, day = self.shield
            child["shield"] = {
                "applied_by": applied_by,
                "reason": reason,
                "applied_at": stamp(rng, max(day, birth)),
            }
        return child


def household(rng: random.Random, areas: dict[str, Area], next_id: Callable[[], str]) -> list[Json]:
    """The children of one household, eldest first."""
    la = pick_la(rng)
    area = areas[la.code]
    origin = pick_origin(rng, la)
    surname = family_name(rng, origin=origin)
    carers, younger_surname = Family(rng, la, origin, surname).carers()
    home = address(rng, la)
    size = _SIZES[bisect_right(_SIZE_CUM, rng.random())]
    births = _birthdays(rng, size)
    gp = rng.choice(area.gp_practices) if rng.random() < 0.96 else None
    r = rng.random()
    family_services = (
        [_family_service(rng, area, "social_care")]
        if r < 0.03
        else [_family_service(rng, area, "early_help")]
        if r < 0.07
        else []
    )
    shield = None
    if rng.random() < 0.025:
        manager = rng.choice(area.services["social_care"][0].practitioners)["name"]
        applied_by = f"{manager}, {la.name} Children's Services"
        shield = (applied_by, rng.choice(_SHIELD_REASONS), REF - rng.randrange(1, 5 * _YEAR))
    state = _Household(
        rng,
        area,
        origin,
        surname,
        younger_surname,
        home,
        carers,
        gp,
        family_services,
        shield,
        {},
        set(),
    )
    last = len(births) - 1
    return [state.child(next_id(), b, i == last and last > 0) for i, b in enumerate(births)]
