"""The one retry policy: what counts as transient, the loops' pauses, and the client's layer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, SerializationError

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from indexer.bulk import TransientBulkError, write_with_retries
from indexer.retry import RetryPolicy, is_transient, pausing


def _api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "127.0.0.1", 9200),
    )
    return ApiError(message=f"status {status}", meta=meta, body={})


@pytest.mark.parametrize(
    ("failure", "transient"),
    [
        pytest.param(ConnectionError("refused"), True, id="lost-connection"),
        pytest.param(ConnectionTimeout("timed out"), True, id="timeout"),
        pytest.param(_api_error(429), True, id="429-overload"),
        pytest.param(_api_error(502), True, id="502"),
        pytest.param(_api_error(503), True, id="503"),
        pytest.param(_api_error(504), True, id="504"),
        pytest.param(_api_error(400), False, id="400"),
        pytest.param(_api_error(401), False, id="401-bad-credentials"),
        pytest.param(_api_error(500), False, id="500"),
        pytest.param(SerializationError("not json"), False, id="serialisation"),
        pytest.param(RuntimeError("a bug"), False, id="anything-else"),
    ],
)
def test_only_failures_that_may_pass_are_transient(failure: BaseException, transient: bool) -> None:
    assert is_transient(failure) is transient


def test_the_retry_policy_comes_from_the_settings() -> None:
    settings = Settings(
        indexer_retry_attempts=7, indexer_retry_first_wait_s=0.3, indexer_max_backoff_s=12.0
    )

    assert RetryPolicy.from_settings(settings) == RetryPolicy(
        attempts=7, first_wait_s=0.3, max_wait_s=12.0
    )


class _Round:
    """A loop's round that fails `failures` times, then answers 7."""

    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return 7


def test_a_round_runs_again_after_each_pausable_failure_until_it_succeeds() -> None:
    pauses: list[float] = []
    round_ = _Round([_api_error(503), ConnectionError("down"), _api_error(429)])

    result = pausing(
        what="test",
        pause_on=is_transient,
        max_pause_s=30.0,
        should_stop=lambda: False,
        sleep=pauses.append,
    )(round_)

    assert result == 7
    assert round_.calls == 4
    assert len(pauses) == 3


def test_the_pauses_of_a_loop_are_capped() -> None:
    pauses: list[float] = []
    round_ = _Round([ConnectionError("down")] * 8)

    pausing(
        what="test",
        pause_on=is_transient,
        max_pause_s=4.0,
        should_stop=lambda: False,
        sleep=pauses.append,
    )(round_)

    assert len(pauses) == 8
    assert pauses[0] >= 0.5
    assert all(pause <= 4.0 for pause in pauses)
    # 0.5 s doubled five times is past the cap, whatever the jitter.
    assert pauses[-1] == 4.0


def test_a_failure_the_loop_does_not_pause_on_is_raised_at_once() -> None:
    pauses: list[float] = []
    round_ = _Round([_api_error(400)])

    with pytest.raises(ApiError):
        pausing(
            what="test",
            pause_on=is_transient,
            max_pause_s=30.0,
            should_stop=lambda: False,
            sleep=pauses.append,
        )(round_)
    assert round_.calls == 1
    assert pauses == []


def test_a_failing_loop_asked_to_stop_returns_without_pausing() -> None:
    pauses: list[float] = []
    round_ = _Round([ConnectionError("down")] * 3)

    result = pausing(
        what="test",
        pause_on=is_transient,
        max_pause_s=30.0,
        should_stop=lambda: True,
        sleep=pauses.append,
    )(round_)

    assert result is None
    assert round_.calls == 1
    assert pauses == []


class _HangingUp(BaseHTTPRequestHandler):
    """Reads a request and closes the connection without answering: a lost connection."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.server.requests += 1  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.close_connection = True

    do_GET = do_PUT = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Overloaded(_HangingUp):
    """Answers every request 429, as an overloaded Elasticsearch does."""

    def do_POST(self) -> None:  # noqa: N802
        self.server.requests += 1  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"error":{"type":"es_rejected_execution_exception","reason":"busy"},"status":429}'
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST  # noqa: N815


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[tuple[ThreadingHTTPServer, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def hanging_up() -> Iterator[tuple[ThreadingHTTPServer, str]]:
    yield from _serve(_HangingUp)


@pytest.fixture()
def overloaded() -> Iterator[tuple[ThreadingHTTPServer, str]]:
    yield from _serve(_Overloaded)


def _actions(count: int) -> list[dict[str, Any]]:
    return [
        {"_op_type": "index", "_index": "children-v1-x", "_id": str(n), "_source": {"n": n}}
        for n in range(count)
    ]


def test_the_client_retries_no_bulk_request_under_the_per_document_retries(
    hanging_up: tuple[ThreadingHTTPServer, str],
) -> None:
    server, url = hanging_up
    client = make_client(Settings(elasticsearch_url=url, es_max_retries=2), purpose="indexer")
    policy = RetryPolicy(attempts=3, first_wait_s=0.001, max_wait_s=0.001)

    with pytest.raises(TransientBulkError) as raised:
        write_with_retries(client, _actions(4), policy=policy)

    # One request per try, not three: the client's own retries are off on the bulk path.
    assert server.requests == 3  # type: ignore[attr-defined]
    assert set(raised.value.failures) == {("children-v1-x", str(n)) for n in range(4)}
    assert "ConnectionError" in str(raised.value)


def test_the_client_retries_a_lost_connection_of_other_requests(
    hanging_up: tuple[ThreadingHTTPServer, str],
) -> None:
    server, url = hanging_up
    client = make_client(Settings(elasticsearch_url=url, es_max_retries=2), purpose="indexer")

    with pytest.raises(ConnectionError):
        client.count(index="children")

    assert server.requests == 3  # type: ignore[attr-defined]


def test_the_client_never_retries_a_status(overloaded: tuple[ThreadingHTTPServer, str]) -> None:
    server, url = overloaded
    client = make_client(Settings(elasticsearch_url=url, es_max_retries=2), purpose="indexer")

    with pytest.raises(ApiError) as raised:
        client.count(index="children")

    assert raised.value.status_code == 429
    assert server.requests == 1  # type: ignore[attr-defined]
