"""PostgreSQL: the models, migrations, sessions, access, audit and bulk load of ContactPoint.

Import what you need from its modules (`db.models`, `db.session`, `db.load`, ...): this file
imports nothing, so that the API, which imports `db.models`, never loads the loader (nor rich).
Migrations: `db.migrate.upgrade` (imported from there, so that loading never imports Alembic).
"""
