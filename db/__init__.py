"""PostgreSQL: the models, migrations, sessions and the bulk loader of ContactPoint.

Migrations: `db.migrate.upgrade` (imported from there, so that loading never imports Alembic).
"""

from db.load import LoadResult, Rejection, ValidLine, load_file, validate_line
from db.session import get_engine, make_engine, session_scope

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
