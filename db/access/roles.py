"""The roles a user or a CMS client can hold."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    """What a person is vetted to do; permissions are granted per role in `searchapi.access`."""

    PRACTITIONER = "practitioner"
    LA_MANAGER = "la_manager"
    ADMIN = "admin"
    AUDITOR = "auditor"


# Roles a CMS client may be given: machines act for practitioners or authority teams only.
CLIENT_ROLES: Final = frozenset({Role.PRACTITIONER, Role.LA_MANAGER})
# Roles whose holders act within their local authorities, so need at least one.
AUTHORITY_ROLES: Final = frozenset({Role.LA_MANAGER})


def roles_from(values: Iterable[str]) -> frozenset[Role]:
    """The known roles among `values`; an unknown name grants nothing (deny by default)."""
    known = {role.value for role in Role}
    return frozenset(Role(value) for value in values if value in known)
