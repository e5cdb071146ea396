"""Read children from PostgreSQL as the document builder's input records.

A child's other names and previous postcodes come in the same statement (an index lookup per
child on their (child_id, position) keys), never a query per child.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, text

from mappings.document import IndexedChild

_SELECT = """
SELECT c.id, c.identifier, c.given_names, c.family_name, c.gender, c.date_of_birth,
       c.address_lines, c.town, c.postcode, c.status, c.record_version,
       EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id AND s.removed_at IS NULL)
         AS shielded,
       c.local_authority_code, la.name AS local_authority_name,
       es.name AS education_setting_name, gp.name AS gp_practice_name,
       ARRAY(SELECT o.family_name FROM other_name o WHERE o.child_id = c.id
             ORDER BY o.position) AS other_family_names,
       ARRAY(SELECT p.postcode FROM previous_address p WHERE p.child_id = c.id
             ORDER BY p.position) AS previous_postcodes
FROM child c
LEFT JOIN local_authority la ON la.code = c.local_authority_code
LEFT JOIN organisation es ON es.id = c.education_setting_id
LEFT JOIN organisation gp ON gp.id = c.gp_practice_id
"""


def _record(row: Any) -> IndexedChild:
    return IndexedChild(
        identifier=row.identifier,
        given_names=row.given_names,
        family_name=row.family_name,
        gender=row.gender,
        date_of_birth=row.date_of_birth,
        address_lines=tuple(row.address_lines),
        town=row.town,
        postcode=row.postcode,
        status=row.status,
        record_version=row.record_version,
        shielded=row.shielded,
        local_authority_code=row.local_authority_code,
        local_authority_name=row.local_authority_name,
        education_setting_name=row.education_setting_name,
        gp_practice_name=row.gp_practice_name,
        other_family_names=tuple(row.other_family_names),
        previous_postcodes=tuple(row.previous_postcodes),
    )


def children_by_id(*, connection: Connection, child_ids: Sequence[int]) -> dict[int, IndexedChild]:
    """The current records of some children; a deleted child is simply absent."""
    if not child_ids:
        return {}
    rows = connection.execute(text(_SELECT + " WHERE c.id = ANY(:ids)"), {"ids": list(child_ids)})
    return {row.id: _record(row) for row in rows}


def iter_all_children(*, connection: Connection, batch_size: int) -> Iterator[IndexedChild]:
    """Every child, streamed through a server-side cursor (never the whole table in memory).

    Run it inside a REPEATABLE READ transaction to read one consistent snapshot.
    """
    result = connection.execution_options(stream_results=True, yield_per=batch_size).execute(
        text(_SELECT)
    )
    for row in result:
        yield _record(row)


def count_children(*, connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM child")).scalar_one())
