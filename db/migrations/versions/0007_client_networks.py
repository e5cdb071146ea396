"""The networks each CMS client may call from.

Revision ID: 0007
Revises: 0006

ContactPoint is reachable only from secure networks: a client's key used from anywhere else
is refused. Clients registered before this revision keep working from the loopback only, as
a new client does when no network is given; an administrator names their networks.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Kept as text (what every client library reads and writes as a list of strings); the
    # CHECK's cast to cidr[] refuses anything that is not a network, whichever program writes.
    op.execute(
        "ALTER TABLE api_client ADD COLUMN networks text[] NOT NULL "
        "DEFAULT ARRAY['127.0.0.0/8', '::1/128']"
    )
    op.execute(
        "ALTER TABLE api_client ADD CONSTRAINT ck_api_client_networks "
        "CHECK (cardinality(networks) BETWEEN 1 AND 50 AND networks::cidr[] IS NOT NULL)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE api_client DROP COLUMN networks")
