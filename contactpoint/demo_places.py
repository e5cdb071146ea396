"""Places for the demo population: local authorities, their towns and postcodes, addresses, phones.

Phone numbers come only from Ofcom's ranges reserved for drama (07700 900xxx, 0113 496 0xxx,
020 7946 0xxx, 01632 960xxx, ...), so no generated number can ring a real person.
"""

from __future__ import annotations

import random
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

Profile = Literal["london", "diverse", "city", "shire"]

INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
MOBILE = "07700 900"
_FICTIONAL = "01632 960"


@dataclass(frozen=True, slots=True)
class LocalAuthority:
    """An English local authority with the towns (and their postcode districts) it covers."""

    code: str
    name: str
    slug: str
    weight: int  # roughly its child population in thousands
    profile: Profile
    phone: str  # a drama-range prefix; three digits complete a number
    ods_letter: str
    towns: tuple[tuple[str, tuple[str, ...]], ...]


def _districts(spec: str) -> tuple[str, ...]:
    """`"LS1-LS3 LS25"` → `("LS1", "LS2", "LS3", "LS25")`."""
    out: list[str] = []
    for part in spec.split():
        first, _, last = part.partition("-")
        if not last:
            out.append(first)
            continue
        match = re.fullmatch(r"([A-Z]+)(\d+)", first)
        end = re.fullmatch(r"[A-Z]+(\d+)", last)
        assert match is not None and end is not None, part
        out.extend(f"{match[1]}{n}" for n in range(int(match[2]), int(end[1]) + 1))
    return tuple(out)


def _town_name(keyword: str) -> str:
    """Town names are keyword arguments below: `Clacton_on_Sea` → `Clacton-on-Sea`."""
    return _TOWN_SPELLING.get(keyword, keyword.replace("_", " "))


_TOWN_SPELLING = {"Kings_Lynn": "King's Lynn", "Clacton_on_Sea": "Clacton-on-Sea"}


def _la(
    code: str, name: str, weight: int, profile: Profile, phone: str, ods: str, **towns: str
) -> LocalAuthority:
    slug = re.sub(r"[^a-z]+", "-", name.lower()).strip("-")
    return LocalAuthority(
        code=code,
        name=name,
        slug=slug,
        weight=weight,
        profile=profile,
        phone=phone,
        ods_letter=ods,
        towns=tuple((_town_name(t), _districts(spec)) for t, spec in towns.items()),
    )


_LONDON = "020 7946 0"

LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = (
    _la("E08000025", "Birmingham", 290, "diverse", "0121 496 0", "M",
        Birmingham="B1-B38 B42 B44 B45"),
    _la("E08000035", "Leeds", 180, "city", "0113 496 0", "B",
        Leeds="LS1-LS20 LS25-LS27", Otley="LS21", Wetherby="LS22 LS23", Pudsey="LS28"),
    _la("E08000003", "Manchester", 130, "diverse", "0161 496 0", "P",
        Manchester="M1-M4 M8 M9 M11-M16 M18-M23 M40"),
    _la("E08000012", "Liverpool", 105, "city", "0151 496 0", "N",
        Liverpool="L1-L19 L24 L25 L27"),
    _la("E08000019", "Sheffield", 120, "city", "0114 496 0", "C",
        Sheffield="S1-S14 S17 S20 S35"),
    _la("E08000032", "Bradford", 140, "diverse", _FICTIONAL, "B",
        Bradford="BD1-BD10 BD12-BD15", Keighley="BD20-BD22", Shipley="BD18",
        Bingley="BD16", Ilkley="LS29"),
    _la("E08000021", "Newcastle upon Tyne", 60, "city", "0191 498 0", "A",
        Newcastle_upon_Tyne="NE1-NE7 NE12 NE13 NE15"),
    _la("E08000024", "Sunderland", 55, "city", "0191 498 0", "A",
        Sunderland="SR1-SR6", Washington="NE37 NE38"),
    _la("E08000004", "Oldham", 60, "diverse", "0161 496 0", "P", Oldham="OL1 OL2 OL4 OL8 OL9"),
    _la("E08000026", "Coventry", 80, "city", _FICTIONAL, "M", Coventry="CV1-CV6"),
    _la("E08000031", "Wolverhampton", 65, "diverse", _FICTIONAL, "M",
        Wolverhampton="WV1-WV4 WV6 WV10 WV11"),
    _la("E06000023", "Bristol", 95, "city", "0117 496 0", "L", Bristol="BS1-BS16 BS34"),
    _la("E06000016", "Leicester", 85, "diverse", "0116 496 0", "C", Leicester="LE1-LE5"),
    _la("E06000018", "Nottingham", 70, "city", "0115 496 0", "C", Nottingham="NG1-NG11"),
    _la("E06000032", "Luton", 55, "diverse", _FICTIONAL, "E", Luton="LU1-LU4"),
    _la("E06000043", "Brighton and Hove", 55, "city", _FICTIONAL, "H",
        Brighton="BN1 BN2", Hove="BN3"),
    _la("E06000026", "Plymouth", 52, "city", _FICTIONAL, "L", Plymouth="PL1-PL7"),
    _la("E06000010", "Kingston upon Hull", 60, "city", _FICTIONAL, "B", Hull="HU1-HU9"),
    _la("E06000045", "Southampton", 52, "city", _FICTIONAL, "J", Southampton="SO14-SO19"),
    _la("E06000014", "York", 37, "shire", _FICTIONAL, "B",
        York="YO1 YO10 YO23 YO24 YO26 YO30-YO32"),
    _la("E06000052", "Cornwall", 105, "shire", _FICTIONAL, "L",
        Truro="TR1", Penzance="TR18", Falmouth="TR11", Camborne="TR14", Redruth="TR15",
        St_Austell="PL25", Newquay="TR7", Bodmin="PL31"),
    _la("E06000063", "Cumberland", 50, "shire", _FICTIONAL, "A",
        Carlisle="CA1-CA3", Workington="CA14", Whitehaven="CA28"),
    _la("E10000016", "Kent", 350, "shire", _FICTIONAL, "G",
        Maidstone="ME14-ME17", Canterbury="CT1 CT2", Ashford="TN23-TN25", Dartford="DA1 DA2",
        Gravesend="DA11 DA12", Margate="CT9", Folkestone="CT19 CT20",
        Tunbridge_Wells="TN1 TN2 TN4", Sevenoaks="TN13", Dover="CT16 CT17"),
    _la("E10000012", "Essex", 330, "shire", _FICTIONAL, "F",
        Chelmsford="CM1 CM2", Colchester="CO1-CO4", Basildon="SS13-SS16", Harlow="CM17-CM20",
        Brentwood="CM14 CM15", Braintree="CM7", Clacton_on_Sea="CO15 CO16"),
    _la("E10000014", "Hampshire", 280, "shire", _FICTIONAL, "J",
        Winchester="SO22 SO23", Basingstoke="RG21-RG24", Eastleigh="SO50",
        Fareham="PO14-PO16", Andover="SP10 SP11", Aldershot="GU11 GU12", Havant="PO9"),
    _la("E10000017", "Lancashire", 270, "shire", _FICTIONAL, "P",
        Preston="PR1 PR2", Burnley="BB10-BB12", Lancaster="LA1", Chorley="PR6 PR7",
        Morecambe="LA3 LA4", Accrington="BB5", Skelmersdale="WN8"),
    _la("E10000020", "Norfolk", 170, "shire", _FICTIONAL, "D",
        Norwich="NR1-NR7", Kings_Lynn="PE30", Great_Yarmouth="NR30 NR31", Thetford="IP24"),
    _la("E10000008", "Devon", 150, "shire", _FICTIONAL, "L",
        Exeter="EX1-EX4", Barnstaple="EX31 EX32", Newton_Abbot="TQ12", Exmouth="EX8",
        Tiverton="EX16"),
    _la("E10000015", "Hertfordshire", 280, "shire", _FICTIONAL, "E",
        St_Albans="AL1-AL4", Watford="WD17-WD19 WD24 WD25", Stevenage="SG1 SG2",
        Hemel_Hempstead="HP1-HP3", Hitchin="SG4 SG5"),
    _la("E09000008", "Croydon", 95, "london", _LONDON, "H",
        Croydon="CR0", South_Croydon="CR2", Thornton_Heath="CR7", Purley="CR8",
        Coulsdon="CR5", London="SE19 SE25"),
    _la("E09000030", "Tower Hamlets", 70, "london", _LONDON, "F", London="E1-E3 E14"),
    _la("E09000025", "Newham", 85, "london", _LONDON, "F", London="E6 E7 E12 E13 E15 E16"),
    _la("E09000003", "Barnet", 95, "london", _LONDON, "E",
        London="N2 N3 N11 N12 N20 NW4 NW7 NW9 NW11", Barnet="EN4 EN5", Edgware="HA8"),
    _la("E09000022", "Lambeth", 55, "london", _LONDON, "G",
        London="SW2 SW4 SW8 SW9 SE11 SE27"),
    _la("E09000009", "Ealing", 80, "london", _LONDON, "E",
        London="W3 W5 W7 W13", Southall="UB1 UB2", Greenford="UB6", Northolt="UB5"),
)  # fmt: skip

LA_CUM_WEIGHTS: tuple[int, ...] = tuple(
    sum(la.weight for la in LOCAL_AUTHORITIES[: i + 1]) for i in range(len(LOCAL_AUTHORITIES))
)

# Share of households by family origin, per kind of area (the weights need not sum to one).
ORIGIN_WEIGHTS: dict[Profile, tuple[float, ...]] = {
    # british, irish, welsh, south_asian, west_african, polish, romanian, european, turkish, chinese
    "london": (0.52, 0.02, 0.005, 0.20, 0.12, 0.03, 0.04, 0.04, 0.02, 0.015),
    "diverse": (0.58, 0.015, 0.005, 0.28, 0.04, 0.03, 0.02, 0.01, 0.005, 0.01),
    "city": (0.80, 0.02, 0.01, 0.07, 0.03, 0.03, 0.015, 0.01, 0.005, 0.01),
    "shire": (0.90, 0.015, 0.01, 0.025, 0.01, 0.02, 0.01, 0.007, 0.002, 0.004),
}

STREET_STEMS = (
    "Mill", "Church", "Station", "Park", "Victoria", "Queen's", "King's", "Albert", "Manor",
    "Chapel", "School", "High", "Green", "Orchard", "Meadow", "Oak", "Ash", "Elm", "Beech",
    "Willow", "Cedar", "Holly", "Rose", "Windsor", "York", "Richmond", "Grange", "Springfield",
    "Highfield", "Westfield", "Brook", "Bridge", "Castle", "Abbey", "Priory", "Cross",
    "Market", "North", "South", "East", "West", "New", "Old", "Hill", "Vale", "Moor",
    "Heath", "Forest", "Wood", "Lime", "Maple", "Hawthorn", "Rowan", "Cherry", "Sycamore",
    "Beaconsfield", "Alexandra", "Clarence", "Stanley", "Cromwell", "Nelson", "Wellington",
    "Salisbury", "Cavendish", "Balmoral", "Sandringham", "Kingsway", "Fairfield", "Riverside",
    "Canal", "Wharf", "Lark", "Kestrel", "Heron", "Swallow", "St Mary's", "St John's",
    "St Andrew's", "Coronation", "Jubilee", "Mayfield", "Ashfield", "Greenway", "Woodland",
    "Fern", "Lavender", "Primrose", "Bluebell", "Foxglove", "Thornton", "Ridgeway", "Dale",
)  # fmt: skip
STREET_SUFFIXES = (
    "Road", "Road", "Road", "Street", "Street", "Lane", "Lane", "Close", "Avenue", "Avenue",
    "Drive", "Way", "Crescent", "Grove", "Gardens", "Place", "Terrace", "Court", "Walk",
    "Rise", "View", "Mews", "Row", "Square",
)  # fmt: skip
BUILDING_SUFFIXES = ("House", "Court", "Lodge", "Point", "Tower", "Heights", "Mansions")


def pick_la(rng: random.Random) -> LocalAuthority:
    """A local authority, weighted by its child population."""
    r = rng.random() * LA_CUM_WEIGHTS[-1]
    return LOCAL_AUTHORITIES[bisect_right(LA_CUM_WEIGHTS, r, 0, len(LA_CUM_WEIGHTS) - 1)]


def phone(rng: random.Random, prefix: str) -> str:
    """A number in the drama range `prefix` (three digits complete it)."""
    return f"{prefix}{rng.randrange(1000):03d}"


def mobile(rng: random.Random) -> str:
    """A drama-range mobile number, sometimes written in international form."""
    number = phone(rng, MOBILE)
    return "+44 " + number[1:] if rng.random() < 0.05 else number


def postcode(rng: random.Random, outward: str) -> str:
    """A full postcode in `outward`: digit and two letters from the allowed inward letters."""
    letters = INWARD_LETTERS
    return f"{outward} {rng.randrange(1, 10)}{rng.choice(letters)}{rng.choice(letters)}"


def street(rng: random.Random) -> str:
    """A street name such as `Mill Lane`."""
    return f"{rng.choice(STREET_STEMS)} {rng.choice(STREET_SUFFIXES)}"


def address(rng: random.Random, la: LocalAuthority) -> dict[str, object]:
    """A home address in one of `la`'s towns: a house, or sometimes a flat."""
    town, districts = rng.choice(la.towns)
    # Most houses have small numbers; a few streets run into the hundreds.
    number = min(int(rng.paretovariate(1.1)), 400) if rng.random() < 0.8 else rng.randrange(1, 300)
    r = rng.random()
    if r < 0.10:
        lines = [f"Flat {rng.randrange(1, 40)}", f"{number} {street(rng)}"]
    elif r < 0.16:
        building = f"{rng.choice(STREET_STEMS)} {rng.choice(BUILDING_SUFFIXES)}"
        lines = [f"Flat {rng.randrange(1, 120)}, {building}", street(rng)]
    elif r < 0.18 and la.profile == "shire":
        lines = [f"{rng.choice(STREET_STEMS)} Cottage", street(rng)]
    else:
        lines = [f"{number} {street(rng)}"]
    return {"lines": lines, "town": town, "postcode": postcode(rng, rng.choice(districts))}


def demo_districts() -> list[tuple[str, str]]:
    """Each demo postcode district and the authority it lies in (the demo's own ONSPD)."""
    return [
        (district, authority.code)
        for authority in LOCAL_AUTHORITIES
        for _, districts in authority.towns
        for district in districts
    ]
