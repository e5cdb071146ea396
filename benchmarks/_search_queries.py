"""Queries of the search benchmark (demo children with typical corruptions), timing and tables.

The kinds (`KINDS`), each a query for one drawn child: a family name typo, a nickname, a family
name spelt another way that sounds alike, day and month swapped, the outward postcode and birth
year only, no given name; a typo anywhere in the given name, a digit of the date of birth wrong,
a character of the postcode wrong, one part of a double-barrelled name, a family name typo with
day and month swapped; and the hardest: the family name replaced by another of the population
(given name, date of birth and postcode as recorded), given and family name exchanged with one
more error (`benchmarks/_corruptions.py`), two postcode digits transposed, the birth year one off;
and a child who moved, looked for by names, full date of birth and the postcode it lived at before.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import urllib3
from _corruptions import (
    any_typo,
    dob_digit,
    exchanged_names,
    postcode_typo,
    replaced_family_name,
    transposed_postcode,
    typo,
    year_off,
)
from sqlalchemy import Engine, create_engine, pool, text

from contactpoint.settings import Settings
from mappings.normalise import fold, nickname_groups, phonetic_keys
from mappings.query_builder import Criteria
from searchapi.search_schemas import SearchRequest

KINDS = (
    "typo",
    "nickname",
    "phonetic",
    "swapped_dob",
    "outward_only",
    "missing_given",
    # Harder: errors anywhere in a word, in the other fields, and two at once.
    "given_typo",
    "dob_digit",
    "postcode_typo",
    "barrel_part",
    "two_errors",
    # Hardest: another family name, names in each other's place, a postcode or a year wrong.
    "family_replaced",
    "names_exchanged",
    "postcode_transposed",
    "year_off",
    # A moved child found by an old postcode (names and full date of birth as recorded).
    "moved",
)


@dataclass(frozen=True)
class BenchQuery:
    kind: str
    target: str
    body: dict[str, Any]

    @property
    def criteria(self) -> Criteria:
        """The criteria the API makes of the body (with the fields it requires to match)."""
        return SearchRequest.model_validate(self.body).criteria()


def build_queries(
    engine: Engine, *, per_kind: int, seed: int, exclude: frozenset[str] = frozenset()
) -> list[BenchQuery]:
    """`per_kind` queries per corruption, from unshielded active demo children drawn by `seed`
    (the same seed draws the same children and corruptions), none of them in `exclude`."""
    rng = random.Random(seed)
    with engine.connect() as connection:
        # Drawn by a hash of the seed, not random(): the same draw whatever the scan order.
        rows = connection.execute(
            text(
                "SELECT identifier, given_names, family_name, date_of_birth, postcode,"
                " (SELECT p.postcode FROM previous_address p WHERE p.child_id = c.id"
                " ORDER BY p.position LIMIT 1) AS previous_postcode FROM child c"
                " WHERE status = 'active' AND NOT EXISTS (SELECT 1 FROM shield s"
                " WHERE s.child_id = c.id AND s.removed_at IS NULL)"
                " ORDER BY md5(c.identifier || :salt), c.identifier LIMIT :n"
            ),
            {"n": per_kind * 20 + len(exclude), "salt": str(seed)},
        ).all()
        rows = [row for row in rows if row.identifier not in exclude]
        # Ordered: a family name drawn from them is the same whatever the scan order.
        families = list(
            connection.execute(
                text("SELECT DISTINCT family_name FROM child ORDER BY family_name")
            ).scalars()
        )
    by_key: dict[str, list[str]] = {}
    for name in families:
        if name.isalpha():
            for key in phonetic_keys(fold(name)):
                by_key.setdefault(key, []).append(name)
    # Nicknames: any other spelling that shares a nickname group with the first given name.
    givens = {fold(r.given_names.split()[0]) for r in rows}
    nick_of = {
        name: other
        for name in givens
        for other in sorted(givens)
        if other != name
        and nickname_groups(other) & nickname_groups(name)
        and other[:2] != name[:2]
    }
    queries: list[BenchQuery] = []
    counts = dict.fromkeys(KINDS, 0)
    for row in rows:
        first = row.given_names.split()[0]
        base = {
            "given_name": first,
            "family_name": row.family_name,
            "date_of_birth": row.date_of_birth.isoformat(),
        }
        candidates: dict[str, dict[str, Any]] = {}
        if len(row.family_name) >= 4:
            candidates["typo"] = {**base, "family_name": typo(rng, row.family_name)}
        if fold(first) in nick_of:
            candidates["nickname"] = {**base, "given_name": nick_of[fold(first)]}
        sounds = [
            other
            for key in phonetic_keys(fold(row.family_name))
            for other in by_key.get(key, [])
            if fold(other) != fold(row.family_name)
        ]
        if sounds:
            candidates["phonetic"] = {**base, "family_name": rng.choice(sounds)}
        dob: date = row.date_of_birth
        if dob.day <= 12 and dob.day != dob.month:
            swapped = date(dob.year, dob.day, dob.month).isoformat()
            candidates["swapped_dob"] = {**base, "date_of_birth": swapped}
        candidates["outward_only"] = {
            "given_name": first,
            "family_name": row.family_name,
            "postcode": row.postcode.split()[0],
            "birth_year": dob.year,
        }
        candidates["missing_given"] = {
            "family_name": row.family_name,
            "date_of_birth": dob.isoformat(),
            "postcode": row.postcode,
        }
        if len(first) >= 4:
            candidates["given_typo"] = {**base, "given_name": any_typo(rng, first.lower())}
        wrong_day = dob_digit(rng, dob)
        if wrong_day is not None and wrong_day != dob:
            candidates["dob_digit"] = {**base, "date_of_birth": wrong_day.isoformat()}
        candidates["postcode_typo"] = {
            "given_name": first,
            "family_name": row.family_name,
            "postcode": postcode_typo(rng, row.postcode),
        }
        parts = [part for part in row.family_name.replace("-", " ").split() if len(part) > 1]
        if len(parts) > 1:
            candidates["barrel_part"] = {**base, "family_name": rng.choice(parts)}
        if len(row.family_name) >= 4 and "swapped_dob" in candidates:
            candidates["two_errors"] = {
                **candidates["swapped_dob"],
                "family_name": any_typo(rng, row.family_name),
            }
        other_family = replaced_family_name(rng, row.family_name, families)
        if other_family is not None:
            candidates["family_replaced"] = {
                **base,
                "family_name": other_family,
                "postcode": row.postcode,
            }
        candidates["names_exchanged"] = exchanged_names(
            rng,
            given_name=first,
            family_name=row.family_name,
            date_of_birth=dob,
            postcode=row.postcode,
        )
        transposed = transposed_postcode(rng, row.postcode)
        if transposed is not None:
            candidates["postcode_transposed"] = {**base, "postcode": transposed}
        candidates["year_off"] = {
            **base,
            "date_of_birth": year_off(rng, dob).isoformat(),
            "postcode": row.postcode,
        }
        # No draw from `rng`: the other kinds' queries stay those they were before this one.
        if row.previous_postcode is not None and row.previous_postcode != row.postcode:
            candidates["moved"] = {**base, "postcode": row.previous_postcode}
        for kind, body in candidates.items():
            if counts[kind] < per_kind:
                counts[kind] += 1
                queries.append(BenchQuery(kind, row.identifier, {**body, "limit": 10}))
    rng.shuffle(queries)
    return queries


Runner = Callable[[urllib3.PoolManager, BenchQuery], list[str]]


def run_concurrent(
    queries: Sequence[BenchQuery], run: Runner, headers: dict[str, str], concurrency: int
) -> tuple[list[list[str]], list[float]]:
    """Each query's result identifiers and latency (s), `concurrency` at a time."""
    # urllib3, as under the Elasticsearch client: both paths are timed with the same HTTP stack.
    clients = [
        urllib3.PoolManager(headers=headers, maxsize=1, timeout=30) for _ in range(concurrency)
    ]

    def one(index: int) -> tuple[list[str], float]:
        client = clients[index % concurrency]
        started = time.perf_counter()
        found = run(client, queries[index])
        return found, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=concurrency) as pool_:
        outcomes = list(pool_.map(one, range(len(queries))))
    for client in clients:
        client.clear()
    return [found for found, _ in outcomes], [elapsed for _, elapsed in outcomes]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def latency_figures(times: list[float]) -> dict[str, float]:
    """p50, p95 and p99 in ms, as the tables print them."""
    return {f"p{round(q * 100)}": _pct(times, q) for q in (0.5, 0.95, 0.99)}


def latency_table(rows: list[tuple[int, list[float], list[float]]], label: str = "") -> str:
    lines = [f"{label or 'latency ms':<16} {'API p50/p95/p99':>22} {'ES p50/p95/p99':>22} ratio"]
    for concurrency, api, es in rows:
        a = [_pct(api, q) for q in (0.5, 0.95, 0.99)]
        e = [_pct(es, q) for q in (0.5, 0.95, 0.99)]
        ratio = statistics.median(api) / statistics.median(es)
        lines.append(
            f"c={concurrency:<14} {a[0]:6.1f}/{a[1]:6.1f}/{a[2]:6.1f}   "
            f"{e[0]:6.1f}/{e[1]:6.1f}/{e[2]:6.1f}   {ratio:4.2f}x"
        )
    return "\n".join(lines)


def recall(
    queries: Sequence[BenchQuery], results: Sequence[list[str]]
) -> dict[str, tuple[float, float, int]]:
    """Per corruption kind and overall: recall at rank 1, at rank 10, and the query count."""
    figures: dict[str, tuple[float, float, int]] = {}
    for kind in (*KINDS, "overall"):
        pairs = [
            (q, r) for q, r in zip(queries, results, strict=True) if kind in (q.kind, "overall")
        ]
        if pairs:
            at1 = sum(bool(r) and r[0] == q.target for q, r in pairs) / len(pairs)
            at10 = sum(q.target in r[:10] for q, r in pairs) / len(pairs)
            figures[kind] = (at1, at10, len(pairs))
    return figures


def recall_table(found: dict[str, list[list[str]]], queries: Sequence[BenchQuery]) -> str:
    lines = []
    for engine_name, results in found.items():
        lines.append(f"{engine_name}: recall@1 / recall@10 (n)")
        for kind, (at1, at10, count) in recall(queries, results).items():
            lines.append(f"  {kind:<19} {at1:5.3f} / {at10:5.3f}  ({count})")
    return "\n".join(lines)


# Candidates: a family name alike in trigrams or Double Metaphone, or (for a query whose family
# name is missing or wrong) the exact date of birth and postcode.
_PG_QUERY = """
SELECT identifier FROM child
WHERE (:family <> '' AND (lower(family_name) % :family
                          OR dmetaphone(family_name) = dmetaphone(:family)))
   OR (date_of_birth = CAST(:dob AS date) AND postcode = :postcode)
ORDER BY similarity(lower(family_name), :family) + similarity(lower(given_names), :given)
  + CASE WHEN date_of_birth = CAST(:dob AS date) THEN 1.0
         WHEN date_of_birth = CAST(:swapped AS date) THEN 0.7
         WHEN extract(year FROM date_of_birth) = :year THEN 0.3 ELSE 0 END
  + CASE WHEN postcode = :postcode THEN 1.0
         WHEN split_part(postcode, ' ', 1) = :outward THEN 0.5 ELSE 0 END DESC
LIMIT 10
"""


def _pg_params(query: BenchQuery) -> dict[str, Any]:
    body = query.body
    dob = body.get("date_of_birth")
    swapped = None
    if dob:
        d = date.fromisoformat(dob)
        swapped = date(d.year, d.day, d.month).isoformat() if d.day <= 12 else None
    postcode = body.get("postcode") or ""
    return {
        "family": fold(body.get("family_name") or ""),
        "given": fold(body.get("given_name") or ""),
        "dob": dob,
        "swapped": swapped,
        "year": int(dob[:4]) if dob else body.get("birth_year"),
        "postcode": postcode,
        "outward": postcode.split()[0] if postcode else "",
    }


def pg_baseline(
    settings: Settings, queries: Sequence[BenchQuery], *, warm: Sequence[BenchQuery] = ()
) -> tuple[list[list[str]], list[float]]:
    """The same queries as trigram similarity + double metaphone in PostgreSQL, timed after
    the `warm` queries (which are not timed)."""
    password = settings.local_secrets()["postgres"]["contactpoint_admin"]
    admin_url = (
        f"postgresql+psycopg2://contactpoint_admin:{password}@{settings.pg_host}:"
        f"{settings.pg_port}/{settings.pg_database}"
    )
    admin = create_engine(admin_url, poolclass=pool.NullPool)
    with admin.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch"))
    admin.dispose()
    owner = create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
    with owner.begin() as connection:
        connection.execute(
            text(
                "CREATE INDEX IF NOT EXISTS bench_child_family_trgm ON child"
                " USING gin (lower(family_name) gin_trgm_ops)"
            )
        )
        connection.execute(
            text(
                "CREATE INDEX IF NOT EXISTS bench_child_family_dm ON child"
                " (dmetaphone(family_name))"
            )
        )
        connection.execute(
            text(
                "CREATE INDEX IF NOT EXISTS bench_child_dob_postcode ON child"
                " (date_of_birth, postcode)"
            )
        )
        # Kept from an earlier run, the GIN index holds children loaded since in its pending
        # list until a vacuum: merged now, every run searches the same index.
        connection.execute(text("SELECT gin_clean_pending_list('bench_child_family_trgm')"))
        connection.execute(text("ANALYZE child"))
    found: list[list[str]] = []
    times: list[float] = []
    with owner.connect() as connection:
        for query in warm:
            connection.execute(text(_PG_QUERY), _pg_params(query)).scalars().all()
        for query in queries:
            params = _pg_params(query)
            started = time.perf_counter()
            rows = connection.execute(text(_PG_QUERY), params).scalars().all()
            times.append(time.perf_counter() - started)
            found.append(list(rows))
    owner.dispose()
    return found, times
