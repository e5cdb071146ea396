"""A real SMTP server (aiosmtpd) and a real webhook receiver (http.server) for the deliverer's
tests and the notifications benchmark; both can be stopped and started again on their port."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from notify import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    """One e-mail as it arrived: to whom, and the message, with when it came."""

    to: list[str]
    message: Message
    at: float


class _Handler:
    def __init__(self, inbox: list[Received]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.inbox.append(
            Received(list(envelope.rcpt_tos), message_from_bytes(envelope.content), time.time())
        )
        return "250 OK"


class SmtpServer:
    """aiosmtpd on a fixed port; `stop` and `start` simulate an outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self.received), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        """The e-mails that arrived for `address`."""
        return [item for item in self.received if address in item.to]


@dataclass
class Hook:
    """One webhook POST as it arrived, and whether its signature held."""

    body: dict[str, Any]
    event_id: str | None
    signed: bool
    at: float


@dataclass
class WebhookReceiver:
    """An HTTP receiver that checks each POST's signature with the client's secret; it
    answers `status` (e.g. 500 to fail on purpose), 401 to a bad signature."""

    secret: str = ""
    status: int = 204
    port: int = field(default_factory=free_port)
    hooks: list[Hook] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self.port}/contactpoint/events"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                signed = verify(
                    receiver.secret,
                    timestamp=self.headers.get(TIMESTAMP_HEADER),
                    signed=self.headers.get(SIGNATURE_HEADER),
                    body=body,
                    now=time.time(),
                )
                if signed and receiver.status < 300:
                    receiver.hooks.append(
                        Hook(json.loads(body), self.headers.get(EVENT_HEADER), signed, time.time())
                    )
                self.send_response(receiver.status if signed else 401)
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
