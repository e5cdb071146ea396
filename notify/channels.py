"""The two ways a notice leaves ContactPoint, both saying as little as they can.

An e-mail says only that there is news about a child the person works with, with a link to
sign in: no name, date of birth or identifier. A webhook carries the event's type, id and
time and the child's identifier; the CMS then reads what it needs through the API, audited.
"""

from __future__ import annotations

import json
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Final

import httpx

from contactpoint.settings import Settings
from notify.queue import Claimed
from notify.signing import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

SUBJECT: Final = "ContactPoint: news about a child you work with"
# Answers worth another attempt: the receiver is busy, slow, or briefly unable.
_RETRYABLE_STATUS: Final = frozenset({408, 409, 425, 429})


class DeliveryError(Exception):
    """An attempt that failed; `permanent` ones are dead at once (retrying cannot help)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def email_message(settings: Settings, *, to: str) -> EmailMessage:
    """The whole e-mail: news, and where to sign in to read it."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = SUBJECT
    inbox = settings.public_url.rstrip("/") + "/inbox"
    message.set_content(
        "There is news about a child you work with.\n\n"
        f"Sign in to ContactPoint to read it in your inbox: {inbox}\n\n"
        "This e-mail holds no details of the child on purpose: they stay in ContactPoint.\n"
    )
    return message


def send_email(settings: Settings, delivery: Claimed) -> None:
    """Send one e-mail by SMTP (a refused recipient or a 5xx is permanent)."""
    message = email_message(settings, to=delivery.target)
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password is not None:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from exc
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600
        raise DeliveryError(
            f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=permanent
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc


def webhook_body(delivery: Claimed) -> bytes:
    """The event as JSON: its type, id and time, and the child's identifier; nothing else."""
    return json.dumps(
        {
            "type": delivery.kind,
            "id": str(delivery.notification_id),
            "time": delivery.created_at.isoformat(),
            "child": {"identifier": delivery.identifier},
        },
        separators=(",", ":"),
    ).encode()


@dataclass(frozen=True)
class WebhookTarget:
    """Where a client's webhook goes, and the secret that signs it (read at delivery time)."""

    url: str
    secret: str


def post_webhook(client: httpx.Client, target: WebhookTarget, delivery: Claimed) -> None:
    """POST one signed event (2xx: delivered; another 4xx: permanent; the rest: retried)."""
    body = webhook_body(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(target.secret, timestamp=timestamp, body=body),
        EVENT_HEADER: str(delivery.notification_id),
    }
    try:
        answer = client.post(target.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
    if answer.is_success:
        return
    permanent = 400 <= answer.status_code < 500 and answer.status_code not in _RETRYABLE_STATUS
    raise DeliveryError(f"webhook answered {answer.status_code}", permanent=permanent)
