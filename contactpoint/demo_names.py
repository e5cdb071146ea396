"""Name tables for the demo population: UK frequencies from Faker, plus names of other origins.

Faker is read once (its provider classes, never a `Faker()` instance): per-child Faker calls are
far too slow for a million children. Picking a name is one `bisect` over cumulative weights.
"""

from __future__ import annotations

import random
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from types import ModuleType
from typing import Literal, get_args

from faker.providers.person import (
    de_DE,
    en_GB,
    en_IE,
    en_IN,
    en_NG,
    en_NZ,
    en_PK,
    es_ES,
    fr_FR,
    ga_IE,
    ig_NG,
    it_IT,
    pl_PL,
    pt_PT,
    ro_RO,
    tr_TR,
    tw_GH,
    yo_NG,
)

from contactpoint import demo_name_lists as lists

Sex = Literal["male", "female"]
Origin = Literal[
    "british",
    "irish",
    "welsh",
    "south_asian",
    "west_african",
    "polish",
    "romanian",
    "european",
    "turkish",
    "chinese",
]
ORIGINS: tuple[Origin, ...] = get_args(Origin)

# A name is Latin letters in words joined by a space, hyphen or apostrophe: this drops Faker's
# abbreviations ("Hans-J."), stray symbols and non-Latin scripts.
_NAME_RE = re.compile(r"[^\W\d_]+(?:[ '\-][^\W\d_]+)*")


@dataclass(frozen=True, slots=True)
class Weighted:
    """Names with cumulative weights; `pick` is one bisect."""

    names: tuple[str, ...]
    cum: tuple[float, ...]

    def pick(self, rng: random.Random) -> str:
        """One name, drawn with its weight."""
        return self.names[bisect_right(self.cum, rng.random() * self.cum[-1], 0, len(self.cum) - 1)]


def _clean(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for raw in names:
        name = unicodedata.normalize("NFC", raw.replace("\u2019", "'")).strip()
        latin = all(not c.isalpha() or "LATIN" in unicodedata.name(c, "") for c in name)
        if latin and _NAME_RE.fullmatch(name):
            out.append(name)
    return out


def _zipf(names: Sequence[str], share: float, *, offset: float = 10.0) -> dict[str, float]:
    """Zipf-Mandelbrot weights for a list in frequency order, scaled to `share` in total."""
    raw = [1.0 / (rank + offset) for rank in range(len(names))]
    total = sum(raw)
    weights: dict[str, float] = {}
    for name, w in zip(names, raw, strict=True):
        weights[name] = weights.get(name, 0.0) + share * w / total
    return weights


def _uniform(names: Sequence[str], share: float) -> dict[str, float]:
    """Equal weights for an unordered (alphabetical) list: a long tail of rare names."""
    unique = list(dict.fromkeys(_clean(names)))
    return {name: share / len(unique) for name in unique}


def _add(*parts: dict[str, float]) -> dict[str, float]:
    """Weights of several sources summed per name (a name in two lists is more common)."""
    total: dict[str, float] = {}
    for part in parts:
        for name, w in part.items():
            total[name] = total.get(name, 0.0) + w
    return total


def _table(weights: dict[str, float]) -> Weighted:
    names = tuple(weights)
    return Weighted(names=names, cum=tuple(accumulate(weights[n] for n in names)))


@dataclass(frozen=True, slots=True)
class OriginNames:
    """The given-name tables (children and adults, by sex) and family names of one origin."""

    child_male: Weighted
    child_female: Weighted
    adult_male: Weighted
    adult_female: Weighted
    family: Weighted


def _origin(
    *,
    male: dict[str, float],
    female: dict[str, float],
    family: dict[str, float],
    child_male: dict[str, float] | None = None,
    child_female: dict[str, float] | None = None,
) -> OriginNames:
    return OriginNames(
        child_male=_table(_add(male, child_male or {})),
        child_female=_table(_add(female, child_female or {})),
        adult_male=_table(male),
        adult_female=_table(female),
        family=_table(family),
    )


def _british() -> OriginNames:
    gb = en_GB.Provider
    # Faker's en_GB weights are percentages of the population for its top 500 family names
    # (about 40% in all); the rest of the population carries rarer names, here a long tail
    # from the New Zealand and Irish lists (names of British and Irish origin).
    top = {name: float(w) for name, w in gb.last_names.items()}
    total = sum(top.values())
    tail = [
        name
        for name in [*en_NZ.Provider.last_names, *en_IE.Provider.last_names]
        if name not in top and "'" not in name  # O'Brien and friends are weighted in `top`
    ]
    extra = {name: w * total for name, w in lists.BRITISH_EXTRA_FAMILY.items()}
    return _origin(
        # Faker's given names are in ONS frequency order, but of adults: children also get
        # recent ONS top names, so a 2026 population has its Olivias and Arthurs.
        male=_zipf(_clean(gb.first_names_male), 1.0),
        female=_zipf(_clean(gb.first_names_female), 1.0),
        child_male=_zipf(lists.RECENT_MALE, 2.0, offset=30.0),
        child_female=_zipf(lists.RECENT_FEMALE, 2.0, offset=30.0),
        family=_add(top, _uniform(tail, 0.8 * total), extra),
    )


@cache
def name_tables() -> dict[Origin, OriginNames]:
    """Every origin's tables, built once per process."""
    return {
        "british": _british(),
        "irish": _origin(
            male=_add(_zipf(lists.IRISH_MALE, 0.6), _uniform(ga_IE.Provider.first_names_male, 0.4)),
            female=_add(
                _zipf(lists.IRISH_FEMALE, 0.6), _uniform(ga_IE.Provider.first_names_female, 0.4)
            ),
            family=_add(_zipf(lists.IRISH_FAMILY, 0.7), _uniform(en_IE.Provider.last_names, 0.3)),
        ),
        "welsh": _origin(
            male=_zipf(lists.WELSH_MALE, 1.0),
            female=_zipf(lists.WELSH_FEMALE, 1.0),
            family=_zipf(lists.WELSH_FAMILY, 1.0),
        ),
        "south_asian": _origin(
            male=_add(
                _zipf(lists.SOUTH_ASIAN_MALE, 0.7, offset=3.0),
                _uniform([*en_IN.Provider.first_names_male, *en_PK.Provider.first_names], 0.3),
            ),
            female=_add(
                _zipf(lists.SOUTH_ASIAN_FEMALE, 0.7),
                _uniform(en_IN.Provider.first_names_female, 0.3),
            ),
            family=_add(
                _zipf(lists.SOUTH_ASIAN_FAMILY, 0.75, offset=6.0),
                _uniform(en_IN.Provider.last_names, 0.25),
            ),
        ),
        "west_african": _origin(
            male=_uniform(_all(_WEST_AFRICAN, "first_names_male"), 1.0),
            female=_uniform(_all(_WEST_AFRICAN, "first_names_female"), 1.0),
            family=_uniform(_all(_WEST_AFRICAN, "last_names"), 1.0),
        ),
        "polish": _origin(
            male=_uniform(pl_PL.Provider.first_names_male, 1.0),
            female=_uniform(pl_PL.Provider.first_names_female, 1.0),
            family=_add(
                _zipf(_clean(pl_PL.Provider.male_last_names), 0.8),
                _uniform(pl_PL.Provider.unisex_last_names, 0.2),
            ),
        ),
        "romanian": _origin(
            male=_uniform(ro_RO.Provider.first_names_male, 1.0),
            female=_uniform(ro_RO.Provider.first_names_female, 1.0),
            family=_uniform(ro_RO.Provider.last_names, 1.0),
        ),
        "european": _origin(
            male=_add(
                _zipf(lists.ACCENTED_MALE, 0.3),
                _uniform(_all(_EUROPEAN, "first_names_male"), 0.7),
            ),
            female=_add(
                _zipf(lists.ACCENTED_FEMALE, 0.3),
                _uniform(_all(_EUROPEAN, "first_names_female"), 0.7),
            ),
            family=_add(
                _zipf(lists.ACCENTED_FAMILY, 0.3), _uniform(_all(_EUROPEAN, "last_names"), 0.7)
            ),
        ),
        "turkish": _origin(
            male=_uniform(tr_TR.Provider.first_names_male, 1.0),
            female=_uniform(tr_TR.Provider.first_names_female, 1.0),
            family=_uniform(tr_TR.Provider.last_names, 1.0),
        ),
        "chinese": _origin(
            male=_zipf(lists.CHINESE_MALE, 1.0),
            female=_zipf(lists.CHINESE_FEMALE, 1.0),
            family=_zipf(lists.CHINESE_FAMILY, 1.0, offset=3.0),
        ),
    }


_WEST_AFRICAN = (yo_NG, ig_NG, en_NG, tw_GH)
_EUROPEAN = (fr_FR, es_ES, de_DE, pt_PT, it_IT)


def _all(modules: Iterable[ModuleType], attribute: str) -> list[str]:
    """One list attribute of several Faker person providers, concatenated."""
    out: list[str] = []
    for module in modules:
        out.extend(getattr(module.Provider, attribute))
    return out


# Polish family names agree with sex: Kowalski (m), Kowalska (f).
_POLISH_FEMININE = re.compile(r"(sk|ck|dzk)i(?=$|[- ])")


def family_name_for(name: str, *, origin: Origin, sex: Sex) -> str:
    """The form of a family name a person of `sex` carries (Polish -ski/-ska)."""
    if origin == "polish" and sex == "female":
        return _POLISH_FEMININE.sub(r"\1a", name)
    return name


# A small share of British parents choose an accented spelling: it is the child's real name.
_ACCENTED_SPELLING = {
    "Zoe": "Zoë",
    "Chloe": "Chloé",
    "Renee": "Renée",
    "Noel": "Noël",
    "Andre": "André",
    "Jose": "José",
    "Sean": "Seán",
    "Aine": "Áine",
    "Ciaran": "Ciarán",
    "Eloise": "Éloïse",
    "Leah": "Léa",
    "Ines": "Inès",
}


def given_name(rng: random.Random, *, origin: Origin, sex: Sex, child: bool) -> str:
    """One given name of `origin` for a child or an adult."""
    tables = name_tables()[origin]
    if child:
        table = tables.child_male if sex == "male" else tables.child_female
    else:
        table = tables.adult_male if sex == "male" else tables.adult_female
    name = table.pick(rng)
    if rng.random() < 0.04:
        name = _ACCENTED_SPELLING.get(name, name)
    return name


def family_name(rng: random.Random, *, origin: Origin) -> str:
    """One family name of `origin`, sometimes hyphenated or double-barrelled."""
    tables = name_tables()
    name = tables[origin].family.pick(rng)
    r = rng.random()
    if r < 0.035:
        other = tables["british" if rng.random() < 0.7 else origin].family.pick(rng)
        if other != name:
            return f"{name}-{other}"
    elif r < 0.04:
        return rng.choice(lists.DOUBLE_BARRELLED)
    return name


def given_names(rng: random.Random, *, origin: Origin, sex: Sex, child: bool) -> str:
    """One to three distinct given names, the way they are written on a record."""
    r = rng.random()
    count = (1 if r < 0.55 else 2 if r < 0.95 else 3) if child else (1 if r < 0.9 else 2)
    names = [given_name(rng, origin=origin, sex=sex, child=child)]
    for _ in range(8 * count):
        if len(names) == count:
            break
        name = given_name(rng, origin=origin, sex=sex, child=child)
        if name not in names:
            names.append(name)
    return " ".join(names)
