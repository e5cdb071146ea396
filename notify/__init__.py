"""Notifications' delivery: the e-mails and signed webhooks of the notices in PostgreSQL.

The notices and their deliveries are written by `db.notifications` in the transaction of the
change; this package sends them (`contactpoint notify run`) and reports on the queue.
"""

from notify.channels import email_message, webhook_body
from notify.deliver import PassResult, deliver_due, deliverer_thread, run_deliverer
from notify.queue import QueueStatus, queue_status, retry_dead
from notify.signing import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    verify,
)

__all__ = [
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "PassResult",
    "QueueStatus",
    "deliver_due",
    "deliverer_thread",
    "email_message",
    "queue_status",
    "retry_dead",
    "run_deliverer",
    "signature",
    "verify",
    "webhook_body",
]
