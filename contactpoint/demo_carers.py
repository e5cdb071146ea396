"""Carers of a demo household: parents, step-parents, grandparents, foster carers, guardians.

Most children live with both parents or with their mother; a separated father often keeps
parental responsibility and lives at another address.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from contactpoint.demo_names import Origin, Sex, family_name, family_name_for, given_names
from contactpoint.demo_places import LocalAuthority, address, mobile, phone, pick_la
from contactpoint.demo_services import pick_origin, slug

Json = dict[str, Any]

_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(slots=True)
class Family:
    """Makes the carers of one household."""

    rng: random.Random
    la: LocalAuthority
    origin: Origin
    surname: str

    def person(
        self,
        relationship: str,
        sex: Sex,
        *,
        surname: str | None = None,
        origin: Origin | None = None,
        pr: bool = True,
    ) -> Json:
        """One carer; `surname` defaults to the household's, `origin` to the family's."""
        rng = self.rng
        origin = origin or self.origin
        last = family_name_for(surname or self.surname, origin=origin, sex=sex)
        first = given_names(rng, origin=origin, sex=sex, child=False)
        carer: Json = {
            "name": f"{first} {last}",
            "relationship": relationship,
            "parental_responsibility": pr,
        }
        if rng.random() < 0.9:
            carer["phone"] = mobile(rng) if rng.random() < 0.85 else phone(rng, self.la.phone)
        if rng.random() < 0.55:
            local = f"{slug(first.split()[0])}.{slug(last)}".replace("-", "")
            carer["email"] = f"{local}{rng.randrange(100)}@{rng.choice(_EMAIL_DOMAINS)}"
        return carer

    def elsewhere(self, carer: Json) -> Json:
        """The carer lives apart (separated parents), usually in the same area."""
        la = self.la if self.rng.random() < 0.8 else pick_la(self.rng)
        carer["address"] = address(self.rng, la)
        return carer

    def carers(self) -> tuple[list[Json], str | None]:
        """The carers, and a family name the younger children take instead (or None)."""
        rng, r = self.rng, self.rng.random()
        maiden = None if rng.random() < 0.75 else family_name(rng, origin=self.origin)
        if r < 0.52:
            return [
                self.person("mother", "female", surname=maiden),
                self.person("father", "male"),
            ], None
        if r < 0.74:
            lone = [self.person("mother", "female", surname=maiden)]
            if rng.random() < 0.5:
                lone.append(self.elsewhere(self.person("father", "male", pr=rng.random() < 0.8)))
            return lone, None
        if r < 0.82:
            step = family_name(rng, origin=pick_origin(rng, self.la))
            partner = self.person("step_parent", "male", surname=step, pr=rng.random() < 0.15)
            mother = self.person("mother", "female", surname=step if rng.random() < 0.5 else None)
            return [mother, partner], step if rng.random() < 0.5 else None
        if r < 0.86:
            return [self.person("father", "male")], None
        if r < 0.90:
            pr = rng.random() < 0.6
            nan = [self.person("grandparent", "female", surname=maiden, pr=pr)]
            if rng.random() < 0.5:
                nan.append(self.person("grandparent", "male", surname=maiden, pr=pr))
            return nan, None
        if r < 0.93:
            origin = pick_origin(rng, self.la)
            fosters = family_name(rng, origin=origin)
            foster = [
                self.person("foster_carer", "female", surname=fosters, origin=origin, pr=False)
            ]
            if rng.random() < 0.6:
                foster.append(
                    self.person("foster_carer", "male", surname=fosters, origin=origin, pr=False)
                )
            return foster, None
        if r < 0.95:
            sex: Sex = "female" if rng.random() < 0.6 else "male"
            return [self.person("guardian", sex, surname=maiden)], None
        if r < 0.98:
            aunt = self.person("other_relative", "female", surname=maiden, pr=rng.random() < 0.5)
            return [aunt], None
        return [
            self.person("mother", "female", surname=maiden),
            self.person("mother", "female"),
        ], None
