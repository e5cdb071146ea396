"""The logs' format: one JSON object a line with the request id, and handlers replaced only
when they are the project's own."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from contactpoint.logs import configure_logging, request_id_var


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without the test runner's handlers (which it adds as each test starts),
    put back after."""
    root = logging.getLogger()
    kept, level = list(root.handlers), root.level
    for existing in kept:
        root.removeHandler(existing)
    try:
        yield root
    finally:
        for existing in list(root.handlers):
            root.removeHandler(existing)
        for existing in kept:
            root.addHandler(existing)
        root.setLevel(level)


def test_a_line_is_one_json_object_with_the_request_id() -> None:
    stream = io.StringIO()
    with bare_root() as root:
        configure_logging(log_format="json", stream=stream)
        configure_logging(log_format="json", stream=stream)  # a second call replaces, not adds
        token = request_id_var.set("abc123")
        try:
            logging.getLogger("searchapi.access").info("request", extra={"route": "/v1/search"})
        finally:
            request_id_var.reset(token)
        logging.getLogger("indexer").warning("outside a request")
        handlers = len(root.handlers)

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "request" and first["route"] == "/v1/search"
    assert first["request_id"] == "abc123" and first["level"] == "INFO"
    assert first["logger"] == "searchapi.access" and "time" in first
    assert second["request_id"] is None and second["level"] == "WARNING"
    assert handlers == 1


def test_someone_elses_handlers_are_left_alone() -> None:
    theirs = logging.StreamHandler(io.StringIO())
    with bare_root() as root:
        root.addHandler(theirs)
        configure_logging(log_format="json", stream=io.StringIO())
        assert root.handlers == [theirs]


def test_text_lines_for_a_terminal() -> None:
    stream = io.StringIO()
    with bare_root():
        configure_logging(log_format="text", stream=stream)
        logging.getLogger("x").info("plain")
    assert stream.getvalue().rstrip().endswith("INFO x: plain")
