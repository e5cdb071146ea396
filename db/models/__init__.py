"""The SQLAlchemy models of the ContactPoint schema."""

from db.models.base import Base
from db.models.children import Carer, Child
from db.models.involvements import Involvement, Shield
from db.models.organisations import LocalAuthority, Organisation, Practitioner

__all__ = [
    "Base",
    "Carer",
    "Child",
    "Involvement",
    "LocalAuthority",
    "Organisation",
    "Practitioner",
    "Shield",
]
