"""Notifications benchmark: a change → its inbox notice, e-mail and signed webhook, and an outage.

Usage: .venv/bin/python benchmarks/notify.py [--children 5000] [--notices 200]
                                             [--outage-notices 50] [--outage-seconds 60]
                                             [--rate 20] [--concurrency 4] [--workers N]
                                             [--rebuild] [--json PATH]

Starts the API and `contactpoint notify run` on a database of their own, a local SMTP server
(aiosmtpd) the deliverer sends to, and a webhook receiver that checks each POST's signature.
A GP practice's CMS gets that webhook and subscribes to the children used: children with
exactly one current involvement, each with a practitioner of their own. For each of
`--notices` children the CMS starts an involvement of a new practitioner (`--rate` a second,
from `--concurrency` threads), which tells the child's practitioner. From the answer (the
commit) it times: the notice in that practitioner's inbox (the inbox page's query, as the user
with their e-mail address reads it), the e-mail's arrival, and the webhook's. Then the SMTP
server and the receiver are stopped, `--outage-notices` more changes made, both kept down for
`--outage-seconds` and started again, and every e-mail and webhook is awaited: delivery is at
least once, so duplicates are counted, and anything missing is lost. The deliverer's retry
backoff defaults small here (NOTIFY_BACKOFF_BASE_S 0.5, NOTIFY_BACKOFF_CAP_S 5,
NOTIFY_MAX_ATTEMPTS 100; the header prints those used), so that the last retry after the
restart comes within seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# This script's directory is sys.path[0], where `import notify` would find this very file: the
# deliverer's package is imported with that directory out of the way, then it is put back last
# (for _api, _header and _population).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
from notify import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify  # noqa: E402

sys.path.append(str(_HERE))

os.environ.setdefault("PG_DATABASE", "contactpoint_bench_notify")
os.environ.setdefault("INDEX_ALIAS", "children-bench-notify")
for _key, _value in {
    "NOTIFY_BACKOFF_BASE_S": "0.5",
    "NOTIFY_BACKOFF_CAP_S": "5",
    "NOTIFY_MAX_ATTEMPTS": "100",
    "SMTP_TIMEOUT_S": "5",
    "WEBHOOK_TIMEOUT_S": "5",
}.items():
    os.environ.setdefault(_key, _value)

import httpx  # noqa: E402
from _api import free_port, start_api, stop_api, thread_clients  # noqa: E402
from _header import pg_setting, print_header, write_report  # noqa: E402
from _population import bench_account, not_running, percentiles, prepare  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from contactpoint.settings import get_settings  # noqa: E402
from db.audit import AuditContext  # noqa: E402
from db.notifications import Recipient, inbox  # noqa: E402
from db.subscriptions import set_webhook  # noqa: E402

SEED = 16
# Children with exactly one current involvement, of a practitioner with an e-mail address whom
# no other child used here shares; none subscribed to already (by an earlier run's client), and
# no delivery to that address still pending or dead (an earlier run's would arrive here too).
_WORKING = """
SELECT DISTINCT ON (p.id) c.identifier, p.email
FROM involvement i JOIN child c ON c.id = i.child_id
JOIN practitioner p ON p.id = i.practitioner_id
WHERE i.end_date IS NULL AND c.status = 'active' AND p.email IS NOT NULL
  AND c.local_authority_code IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id AND s.removed_at IS NULL)
  AND (SELECT count(*) FROM involvement j WHERE j.child_id = c.id AND j.end_date IS NULL) = 1
  AND NOT EXISTS (SELECT 1 FROM webhook_subscription w WHERE w.child_id = c.id)
  AND NOT EXISTS (
      SELECT 1 FROM notification_delivery d WHERE d.target = p.email AND d.state <> 'delivered'
  )
ORDER BY p.id, c.id
"""
_STATES = """
SELECT d.channel, d.state, count(*) AS n, max(d.attempts) AS attempts
FROM notification_delivery d JOIN notification n ON n.id = d.notification_id
JOIN child c ON c.id = n.child_id
WHERE c.identifier = ANY(:ids) AND n.created_at >= to_timestamp(:since)
GROUP BY d.channel, d.state ORDER BY d.channel, d.state
"""


@dataclass(frozen=True)
class Target:
    """A child the run changes, and the e-mail address of the practitioner it tells."""

    identifier: str
    email: str


@dataclass
class Arrivals:
    """What reached the SMTP server and the webhook receiver, with when (time.time())."""

    emails: list[tuple[str, float]] = field(default_factory=list)
    hooks: list[tuple[str, str, float]] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def first_email(self, address: str) -> float | None:
        with self.lock:
            return min((at for to, at in self.emails if to == address), default=None)

    def first_hook(self, identifier: str) -> float | None:
        with self.lock:
            return min((at for child, _, at in self.hooks if child == identifier), default=None)


class _SmtpHandler:
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        now = time.time()
        with self.arrivals.lock:
            self.arrivals.emails += [(str(to).lower(), now) for to in envelope.rcpt_tos]
        return "250 OK"


class SmtpServer:
    """aiosmtpd on a fixed loopback port; `stop` then `start` is an outage."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.port = free_port()
        self.arrivals = arrivals
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            _SmtpHandler(self.arrivals), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class WebhookReceiver:
    """An HTTP receiver on a fixed loopback port that verifies each POST's signature (HMAC-SHA256
    over "timestamp.body", docs/webhooks.md) and answers 204, or 401 to a bad one."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.port = free_port()
        self.arrivals = arrivals
        self.secret = ""
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/contactpoint/events"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                signed = verify(
                    receiver.secret,
                    timestamp=self.headers.get(TIMESTAMP_HEADER),
                    signed=self.headers.get(SIGNATURE_HEADER),
                    body=body,
                    now=now,
                )
                with receiver.arrivals.lock:
                    if signed:
                        event = json.loads(body)
                        receiver.arrivals.hooks.append(
                            (event["child"]["identifier"], str(self.headers.get(EVENT_HEADER)), now)
                        )
                    else:
                        receiver.arrivals.bad_signatures += 1
                self.send_response(204 if signed else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass
class Tracker:
    """Each change's answer time (the commit) and when its notice showed in the inbox."""

    answered: dict[str, float] = field(default_factory=dict)
    in_inbox: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _targets(engine: Engine, wanted: int) -> list[Target]:
    with engine.connect() as connection:
        rows = [
            Target(row.identifier, row.email.lower()) for row in connection.execute(text(_WORKING))
        ]
    random.Random(secrets.randbits(32)).shuffle(rows)
    if len(rows) < wanted:
        raise SystemExit(
            f"only {len(rows)} children with one current involvement of a practitioner of their "
            f"own are left (wanted {wanted}): load more (--children) or --rebuild"
        )
    return rows[:wanted]


def _start_deliverer(log: Path) -> subprocess.Popen[bytes]:
    """`contactpoint notify run`, its log (a warning per failed attempt) to `log`; it polls, so
    the warm-up notice tells when it delivers."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "contactpoint", "notify", "run"], stdout=out, stderr=out
        )


def _in_inbox(engine: Engine, target: Target, involvement_id: int) -> bool:
    """Whether the practitioner's inbox (the page's query, for the user with their e-mail
    address) holds the notice of this involvement."""
    with Session(engine) as session:
        rows = inbox(session=session, recipient=Recipient(email=target.email), limit=20)
        return any(row.notice.details.get("involvement_id") == involvement_id for row in rows)


def _change(
    client: httpx.Client, engine: Engine, tracker: Tracker, target: Target, not_before: float
) -> None:
    """Start an involvement of a new practitioner; then wait for its notice in the inbox."""
    delay = not_before - time.time()
    if delay > 0:
        time.sleep(delay)
    base = f"/v1/children/{target.identifier}"
    view = client.get(base)
    if view.status_code != 200:
        with tracker.lock:
            tracker.failures.append(f"GET {view.status_code} {view.text[:200]}")
        return
    practitioner = {"name": "Bench Newcomer", "email": f"new{uuid.uuid4().hex[:12]}@gp.example"}
    headers = {"If-Match": view.headers["ETag"], "Idempotency-Key": uuid.uuid4().hex}
    answer = client.post(
        f"{base}/involvements", json={"practitioner": practitioner}, headers=headers
    )
    answered = time.time()
    if answer.status_code != 201:
        with tracker.lock:
            tracker.failures.append(f"POST {answer.status_code} {answer.text[:200]}")
        return
    with tracker.lock:
        tracker.answered[target.identifier] = answered
    involvement_id = int(answer.json()["involvement_id"])
    deadline = answered + 30
    while time.time() < deadline:
        if _in_inbox(engine, target, involvement_id):
            with tracker.lock:
                tracker.in_inbox[target.identifier] = time.time()
            return
        time.sleep(0.01)


def _changes(
    client: Any, engine: Engine, tracker: Tracker, targets: list[Target], *, rate: float, n: int
) -> float:
    """All the changes, paced at `rate` a second (0: as fast as the threads go); seconds taken."""
    begun = time.time()
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(
            pool.map(
                lambda item: _change(
                    client(), engine, tracker, item[1], begun + (item[0] / rate if rate else 0)
                ),
                enumerate(targets),
            )
        )
    return time.time() - begun


def _wait_for(arrivals: Arrivals, targets: list[Target], deadline: float) -> None:
    while time.time() < deadline:
        if all(
            arrivals.first_email(t.email) is not None
            and arrivals.first_hook(t.identifier) is not None
            for t in targets
        ):
            return
        time.sleep(0.05)


@dataclass(frozen=True)
class Channel:
    """One channel's figures over a set of changes."""

    expected: int
    delivered: int
    duplicates: int
    delays: list[float]

    def seconds(self) -> dict[str, float] | None:
        return percentiles(self.delays) if len(self.delays) > 1 else None

    def line(self, label: str) -> str:
        cuts = self.seconds()
        shown = (
            f"p50 {cuts['p50']:.2f}, p95 {cuts['p95']:.2f}, p99 {cuts['p99']:.2f}"
            if cuts
            else "too few to cut"
        )
        if label == "inbox":
            return f"change → inbox: {self.delivered} of {self.expected} shown; seconds {shown}"
        return (
            f"change → {label}: {self.delivered} of {self.expected} delivered "
            f"({self.duplicates} duplicates); seconds {shown}"
        )

    def report(self) -> dict[str, object]:
        return {
            "expected": self.expected,
            "delivered": self.delivered,
            "duplicates": self.duplicates,
            "seconds": self.seconds(),
        }


def _email(arrivals: Arrivals, tracker: Tracker, targets: list[Target]) -> Channel:
    with arrivals.lock:
        counts = Counter(to for to, _ in arrivals.emails)
    mine = [t for t in targets if t.identifier in tracker.answered]
    delays = []
    for t in mine:
        first = arrivals.first_email(t.email)
        if first is not None:
            delays.append(first - tracker.answered[t.identifier])
    return Channel(
        expected=len(mine),
        delivered=len(delays),
        duplicates=sum(max(counts[t.email] - 1, 0) for t in mine),
        delays=delays,
    )


def _webhook(arrivals: Arrivals, tracker: Tracker, targets: list[Target]) -> Channel:
    with arrivals.lock:
        counts = Counter(child for child, _, _ in arrivals.hooks)
    mine = [t for t in targets if t.identifier in tracker.answered]
    delays = []
    for t in mine:
        first = arrivals.first_hook(t.identifier)
        if first is not None:
            delays.append(first - tracker.answered[t.identifier])
    return Channel(
        expected=len(mine),
        delivered=len(delays),
        duplicates=sum(max(counts[t.identifier] - 1, 0) for t in mine),
        delays=delays,
    )


def _inbox(tracker: Tracker, targets: list[Target]) -> Channel:
    mine = [t for t in targets if t.identifier in tracker.answered]
    delays = [
        tracker.in_inbox[t.identifier] - tracker.answered[t.identifier]
        for t in mine
        if t.identifier in tracker.in_inbox
    ]
    return Channel(expected=len(mine), delivered=len(delays), duplicates=0, delays=delays)


def _states(engine: Engine, targets: list[Target], since: float) -> dict[str, dict[str, Any]]:
    """The run's deliveries of these children by channel and state, with their most attempts."""
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as connection:
        for row in connection.execute(
            text(_STATES), {"ids": [t.identifier for t in targets], "since": since}
        ):
            found.setdefault(row.channel, {})[row.state] = {
                "count": int(row.n),
                "max_attempts": int(row.attempts),
            }
    return found


def _last_after(
    arrivals: Arrivals, targets: list[Target], restarted: float
) -> dict[str, float | None]:
    """Seconds from the restart to the last first arrival by each channel (None: one never came)."""
    emails = [arrivals.first_email(t.email) for t in targets]
    hooks = [arrivals.first_hook(t.identifier) for t in targets]
    last: dict[str, float | None] = {}
    for label, times in (("email", emails), ("webhook", hooks)):
        came = [at for at in times if at is not None]
        last[label] = max(came) - restarted if came and len(came) == len(times) else None
    return last


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=5000, help="the population loaded")
    parser.add_argument("--notices", type=int, default=200, help="children changed, timed")
    parser.add_argument("--outage-notices", type=int, default=50, help="changes in the outage")
    parser.add_argument("--outage-seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0, help="changes a second (0: no pause)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=None, help="uvicorn worker processes")
    parser.add_argument("--rebuild", action="store_true", help="load the children afresh")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()

    arrivals = Arrivals()
    smtp = SmtpServer(arrivals)
    receiver = WebhookReceiver(arrivals)
    os.environ["SMTP_HOST"], os.environ["SMTP_PORT"] = "127.0.0.1", str(smtp.port)
    settings = get_settings()
    run_id = secrets.token_hex(4)
    workers = args.workers or settings.api_workers
    started_servers = not_running(settings)
    population = prepare(settings, children=args.children, seed=SEED, rebuild=args.rebuild)
    engine = population.engine
    targets = _targets(engine, 1 + args.notices + args.outage_notices)
    warm, timed, outage = targets[0], targets[1 : 1 + args.notices], targets[1 + args.notices :]
    header = print_header(
        "notify.py",
        children=args.children,
        fields={
            **population.header_fields(),
            "servers": "+".join(started_servers) + "-started" if started_servers else "running",
            "run": run_id,
            "notices": len(timed),
            "outage_notices": len(outage),
            "outage_s": args.outage_seconds,
            "rate": args.rate or "unpaced",
            "concurrency": args.concurrency,
            "api_workers": workers,
            "notify_poll_s": settings.notify_poll_s,
            "notify_batch": settings.notify_batch_size,
            "notify_workers": settings.notify_workers,
            "notify_backoff_base_s": settings.notify_backoff_base_s,
            "notify_backoff_cap_s": settings.notify_backoff_cap_s,
            "notify_max_attempts": settings.notify_max_attempts,
            "smtp": "aiosmtpd",
            "pg_shared_buffers": pg_setting(engine, "shared_buffers"),
        },
    )
    # No e-mail on the account: the CMS's user is never a recipient.
    account = bench_account(settings, engine, suffix=f"notify-{run_id}", gp_practice=True)
    name, username, key = account.client_name, account.username, account.key
    with Session(engine) as session, session.begin():
        receiver.secret = str(
            set_webhook(
                session=session, context=AuditContext.operator(), client_name=name, url=receiver.url
            )
        )
    tracker = Tracker()
    warm_tracker = Tracker()
    outage_tracker = Tracker()
    api = None
    deliverer = None
    since = time.time()
    deliverer_log = Path(settings.var_dir) / "bench" / "notify-deliverer.log"
    smtp.start()
    receiver.start()
    try:
        port = free_port()
        api = start_api(port, workers)
        deliverer = _start_deliverer(deliverer_log)
        headers = {"Authorization": f"Bearer {key}", "X-On-Behalf-Of": username}
        client = thread_clients(port, headers)

        for target in targets:
            answer = client().post(f"/v1/children/{target.identifier}/subscription")
            if answer.status_code != 200 or not answer.json()["subscribed"]:
                raise SystemExit(f"subscription refused: {answer.status_code} {answer.text[:300]}")
        # The warm-up: the deliverer is up once its notice arrives by both channels.
        _change(client(), engine, warm_tracker, warm, 0)
        _wait_for(arrivals, [warm], time.time() + 120)
        if arrivals.first_email(warm.email) is None or arrivals.first_hook(warm.identifier) is None:
            raise SystemExit("the warm-up notice was not delivered within 120 s")

        elapsed = _changes(client, engine, tracker, timed, rate=args.rate, n=args.concurrency)
        _wait_for(arrivals, timed, time.time() + 60)

        smtp.stop()
        receiver.stop()
        down_at = time.time()
        outage_elapsed = _changes(
            client, engine, outage_tracker, outage, rate=args.rate, n=args.concurrency
        )
        time.sleep(max(0.0, down_at + args.outage_seconds - time.time()))
        during = {
            "email": sum(arrivals.first_email(t.email) is not None for t in outage),
            "webhook": sum(arrivals.first_hook(t.identifier) is not None for t in outage),
        }
        retried = _states(engine, outage, since)
        smtp.start()
        receiver.start()
        restarted = time.time()
        _wait_for(arrivals, outage, restarted + max(60.0, 4 * settings.notify_backoff_cap_s))
        # Late duplicates of a retry: a moment more for any still in flight.
        time.sleep(2 * settings.notify_poll_s)
    finally:
        if deliverer is not None:
            deliverer.terminate()
            deliverer.wait(timeout=30)
        stop_api(api)
        smtp.stop()
        receiver.stop()

    email, webhook, shown = (
        _email(arrivals, tracker, timed),
        _webhook(arrivals, tracker, timed),
        _inbox(tracker, timed),
    )
    after = {
        "email": _email(arrivals, outage_tracker, outage),
        "webhook": _webhook(arrivals, outage_tracker, outage),
        "inbox": _inbox(outage_tracker, outage),
    }
    last = _last_after(arrivals, outage, restarted)
    states = _states(engine, outage, since)
    dead = sum(by.get("dead", {}).get("count", 0) for by in states.values())
    lost = sum(channel.expected - channel.delivered for channel in after.values())
    changes = len(tracker.answered)
    print(
        f"changes: {changes} involvements started ({len(tracker.failures)} failed) in "
        f"{elapsed:.1f} s at concurrency {args.concurrency}: {changes / elapsed:.1f}/s"
    )
    print(shown.line("inbox"))
    print(email.line("e-mail"))
    print(webhook.line("webhook") + f"; {arrivals.bad_signatures} bad signatures")
    attempts = {
        channel: max((s["max_attempts"] for s in by.values()), default=0)
        for channel, by in retried.items()
    }
    print(
        f"outage: SMTP server and webhook receiver down {restarted - down_at:.1f} s; "
        f"{len(outage_tracker.answered)} changes ({len(outage_tracker.failures)} failed) in "
        f"{outage_elapsed:.1f} s; arrived while down: e-mail {during['email']}, "
        f"webhook {during['webhook']}; attempts by the restart up to e-mail "
        f"{attempts.get('email', 0)}, webhook {attempts.get('webhook', 0)}"
    )
    for label, key_ in (("e-mail", "email"), ("webhook", "webhook")):
        channel = after[key_]
        seconds = last[key_]
        print(
            f"after the restart → {label}: {channel.delivered} of {channel.expected} delivered "
            f"({channel.duplicates} duplicates), the last "
            + (f"{seconds:.2f} s after the restart" if seconds is not None else "never")
        )
    print(
        f"outage: {lost} lost, {dead} dead letters; inbox {after['inbox'].delivered} of "
        f"{after['inbox'].expected} at once"
    )
    print(f"the deliverer's log: {deliverer_log}")
    for failure in (tracker.failures + outage_tracker.failures)[:5]:
        print(f"failed: {failure}")
    write_report(
        args.json,
        {
            "header": header,
            "run": run_id,
            "changes": changes,
            "failures": tracker.failures + outage_tracker.failures,
            "elapsed_s": elapsed,
            "inbox": shown.report(),
            "email": email.report(),
            "webhook": webhook.report(),
            "bad_signatures": arrivals.bad_signatures,
            "outage": {
                "down_s": restarted - down_at,
                "changes": len(outage_tracker.answered),
                "arrived_while_down": during,
                "attempts_by_restart": attempts,
                "email": after["email"].report(),
                "webhook": after["webhook"].report(),
                "inbox": after["inbox"].report(),
                "last_after_restart_s": last,
                "deliveries": states,
                "dead": dead,
                "lost": lost,
            },
        },
    )
    engine.dispose()


if __name__ == "__main__":
    main()
