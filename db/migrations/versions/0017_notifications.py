"""Notifications: the outbox of notices, their deliveries, users' e-mail and CMS webhooks.

Revision ID: 0017
Revises: 0016

- `app_user.email`: optional, unique, lower-cased. A user is the practitioner (of an
  involvement) with the same e-mail address: that is whose notices the inbox shows.
- `notification`: one notice to one recipient (a practitioner, or an authority's team for the
  "moved in" notices), written in the same transaction as the change it tells of; a row with
  neither recipient is the event as the child's webhook subscribers hear of it. `details`
  holds what the inbox shows (service, practitioner, contacts), never case information.
- `notification_delivery`: each e-mail or webhook POST of a notice, claimed by the deliverer
  with FOR UPDATE SKIP LOCKED, retried with backoff, `dead` after the last attempt.
- `api_client.webhook_url` / `webhook_secret` and `webhook_subscription`: a CMS client's
  signed webhook and the children it subscribed to.
- The audit's events gain `inbox_read`, `child_subscribed`, `child_unsubscribed` and
  `client_webhook_set`.
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_OLD_EVENTS = (
    "'sign_in', 'sign_out', 'access_denied', 'search', 'view', 'shield_applied', "
    "'shield_removed', 'consent_override', 'contact_brokered', 'user_created', "
    "'user_suspended', 'user_reinstated', 'user_reset', 'client_created', 'client_revoked', "
    "'audit_read', 'audit_exported', 'misuse_report', 'load', 'reindex', "
    "'shield_access_granted', 'shield_access_revoked', 'consent_recorded', "
    "'break_glass_reviewed', 'request_refused', 'feed_review_viewed', 'feed_review_decided', "
    "'children_merged', 'children_unmerged', 'shield_list_read', "
    "'shield_requested', 'shield_request_decided', 'contact_requested', "
    "'involvement_started', 'involvement_changed', 'address_changed'"
)
_NEW_EVENTS = (
    f"{_OLD_EVENTS}, 'inbox_read', 'child_subscribed', 'child_unsubscribed', 'client_webhook_set'"
)

_STATEMENTS = [
    "ALTER TABLE app_user ADD COLUMN email text",
    "ALTER TABLE app_user ADD CONSTRAINT uq_app_user_email UNIQUE (email)",
    r"""
    ALTER TABLE app_user ADD CONSTRAINT ck_app_user_email CHECK (
      email = lower(email) AND email ~ '^[^@\s]{1,200}@[^@\s]{1,200}$'
    )
    """,
    "ALTER TABLE api_client ADD COLUMN webhook_url text",
    "ALTER TABLE api_client ADD COLUMN webhook_secret text",
    r"""
    ALTER TABLE api_client ADD CONSTRAINT ck_api_client_webhook CHECK (
      num_nonnulls(webhook_url, webhook_secret) IN (0, 2)
      AND (webhook_url IS NULL
           OR (webhook_url ~ '^https?://[^\s]+$' AND length(webhook_url) <= 2000))
      AND (webhook_secret IS NULL OR length(webhook_secret) >= 32)
    )
    """,
    """
    CREATE TABLE webhook_subscription (
      client_id bigint NOT NULL,
      child_id bigint NOT NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT pk_webhook_subscription PRIMARY KEY (client_id, child_id),
      CONSTRAINT fk_webhook_subscription_client_id FOREIGN KEY (client_id)
        REFERENCES api_client (id) ON DELETE CASCADE,
      CONSTRAINT fk_webhook_subscription_child_id FOREIGN KEY (child_id)
        REFERENCES child (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX ix_webhook_subscription_child_id ON webhook_subscription (child_id)",
    """
    CREATE TABLE notification (
      id uuid NOT NULL,
      kind text NOT NULL,
      child_id bigint NOT NULL,
      practitioner_id bigint,
      team_authority_code text,
      details jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      read_at timestamptz,
      CONSTRAINT pk_notification PRIMARY KEY (id),
      CONSTRAINT fk_notification_child_id FOREIGN KEY (child_id)
        REFERENCES child (id) ON DELETE CASCADE,
      CONSTRAINT fk_notification_practitioner_id FOREIGN KEY (practitioner_id)
        REFERENCES practitioner (id),
      CONSTRAINT fk_notification_team_authority_code FOREIGN KEY (team_authority_code)
        REFERENCES local_authority (code),
      CONSTRAINT ck_notification_kind CHECK (
        kind IN ('involvement_started', 'lead_professional_changed', 'child_moved_in')
      ),
      CONSTRAINT ck_notification_details CHECK (jsonb_typeof(details) = 'object'),
      CONSTRAINT ck_notification_read_at CHECK (read_at IS NULL OR read_at >= created_at)
    )
    """,
    "CREATE INDEX ix_notification_practitioner_id ON notification (practitioner_id, created_at)",
    """
    CREATE INDEX ix_notification_team_authority_code
      ON notification (team_authority_code, created_at)
    """,
    "CREATE INDEX ix_notification_child_id ON notification (child_id)",
    """
    CREATE TABLE notification_delivery (
      id bigint GENERATED ALWAYS AS IDENTITY,
      notification_id uuid NOT NULL,
      channel text NOT NULL,
      target text NOT NULL,
      client_id bigint,
      state text NOT NULL DEFAULT 'pending',
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT pk_notification_delivery PRIMARY KEY (id),
      CONSTRAINT fk_notification_delivery_notification_id FOREIGN KEY (notification_id)
        REFERENCES notification (id) ON DELETE CASCADE,
      CONSTRAINT fk_notification_delivery_client_id FOREIGN KEY (client_id)
        REFERENCES api_client (id) ON DELETE CASCADE,
      CONSTRAINT ck_notification_delivery_channel CHECK (channel IN ('email', 'webhook')),
      CONSTRAINT ck_notification_delivery_state CHECK (state IN ('pending', 'delivered', 'dead')),
      CONSTRAINT ck_notification_delivery_client CHECK (
        (channel = 'webhook') = (client_id IS NOT NULL)
      ),
      CONSTRAINT ck_notification_delivery_attempts CHECK (attempts >= 0),
      CONSTRAINT ck_notification_delivery_delivered CHECK (
        (state = 'delivered') = (delivered_at IS NOT NULL)
      )
    )
    """,
    """
    CREATE INDEX ix_notification_delivery_due ON notification_delivery (next_attempt_at)
      WHERE state = 'pending'
    """,
    """
    CREATE INDEX ix_notification_delivery_notification_id
      ON notification_delivery (notification_id)
    """,
    "CREATE INDEX ix_notification_delivery_state ON notification_delivery (state)",
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE notification_delivery")
    op.execute("DROP TABLE notification")
    op.execute("DROP TABLE webhook_subscription")
    op.execute("ALTER TABLE api_client DROP COLUMN webhook_secret")
    op.execute("ALTER TABLE api_client DROP COLUMN webhook_url")
    op.execute("ALTER TABLE app_user DROP COLUMN email")
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
