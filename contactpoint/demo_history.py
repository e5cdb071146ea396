"""The history of demo children: some moved house (a previous postcode), a few changed name.

Drawn from a random stream of its own (seeded from the file's seed), so that adding history
left every other value of the demo file as it was.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from contactpoint.demo_households import REF, iso
from contactpoint.demo_names import Origin, family_name
from contactpoint.demo_places import address, pick_la

__all__ = ["HistoryDraw", "add_history"]

Json = dict[str, Any]
_YEAR = 365
# About one household in ten moved in the last six years; one child in fifty is known by
# another family name (adoption, a carer's new family).
MOVED_SHARE = 0.10
RENAMED_SHARE = 0.02
_SAME_AUTHORITY_MOVES = 0.6
_ORIGINS: tuple[Origin, ...] = ("british", "irish", "welsh", "european")


# Most families move into a home another family left, and stay near: the old postcode is
# mostly one where another demo child lives now (as in a real register, where an old postcode
# is somebody's current one), otherwise a home nobody in the file has.
_OLD_HOME_TAKEN = 0.7
_RECENT_HOMES = 2_000


class HistoryDraw:
    """The history stream of one demo file: call `add_history` once per household, in order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"contactpoint-demo-history-{seed}")
        # The homes of the households drawn so far (the last few thousand), to move out of.
        self.homes: list[Json] = []


def _previous_home(draw: HistoryDraw, home: Json, authority_code: str | None) -> Json:
    """An older home: often one another family lives in now, else a new one in the same
    authority or anywhere; never the household's own postcode."""
    rng = draw.rng
    if draw.homes and rng.random() < _OLD_HOME_TAKEN:
        taken = rng.choice(draw.homes)
        if taken["postcode"] != home["postcode"]:
            return taken
    for _ in range(10):
        la = pick_la(rng)
        if authority_code is not None and rng.random() < _SAME_AUTHORITY_MOVES:
            # Redraw until the same authority, a few times; else anywhere will do.
            for _ in range(20):
                if la.code == authority_code:
                    break
                la = pick_la(rng)
        old = address(rng, la)
        if old["postcode"] != home["postcode"]:
            return old
    return address(rng, pick_la(rng))


def add_history(draw: HistoryDraw, children: list[Json]) -> None:
    """Give the household's children a previous address (siblings move together: those born
    before the move) and, now and then, one child a former family name."""
    rng = draw.rng
    if children and rng.random() < MOVED_SHARE:
        home = children[0]["address"]
        authority = children[0].get("local_authority") or {}
        old = _previous_home(draw, home, authority.get("code"))
        moved = REF - rng.randrange(30, 6 * _YEAR)
        lived = rng.randrange(_YEAR, 8 * _YEAR)
        for child in children:
            born = date.fromisoformat(child["date_of_birth"]).toordinal()
            if born >= moved:
                continue
            child["previous_addresses"] = [
                {
                    "postcode": old["postcode"],
                    "town": old["town"],
                    "from": iso(max(born, moved - lived)),
                    "to": iso(moved - 1),
                }
            ]
    if children:
        if len(draw.homes) < _RECENT_HOMES:
            draw.homes.append(children[0]["address"])
        else:
            draw.homes[rng.randrange(_RECENT_HOMES)] = children[0]["address"]
    for child in children:
        if rng.random() < RENAMED_SHARE:
            former = family_name(rng, origin=rng.choice(_ORIGINS))
            if former != child["family_name"]:
                child["other_names"] = [{"family_name": former, "kind": "former"}]
