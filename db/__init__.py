"""PostgreSQL: the models, migrations, sessions and the bulk loader of ContactPoint.

Migrations: `db.migrate.upgrade` (imported from there, so that loading never imports Alembic).
"""

from db.load_result import LoadResult
from db.loader import load_file
from db.session import get_engine, make_engine, session_scope
from db.validation import Rejection, ValidLine, validate_line

__all__ = [
    "LoadResult",
    "Rejection",
    "ValidLine",
    "get_engine",
    "load_file",
    "make_engine",
    "session_scope",
    "validate_line",
]
