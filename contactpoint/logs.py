"""Logs: one JSON object a line (python-json-logger), with the request id of the request being
served, and never personal data.

What keeps names, dates of birth and postcodes out: nothing logs a request's path, query or
body (the access line gives the route's template, `searchapi.metrics`), uvicorn's own access
lines are off, and SQLAlchemy's errors hide their parameters (`db.session`). Every process of
the service (`serve`, its workers and the jobs beside it) logs this way; `LOG_FORMAT=text`
gives plain lines for a person at a terminal.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any, Final

from pythonjsonlogger.json import JsonFormatter

# The id of the request this code serves (set by the API's middleware), in every line.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JSON_FIELDS: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
_OURS: Final = "_contactpoint_handler"
# The HTTP clients log every request at INFO (with URLs): warnings and worse only.
_QUIET: Final = ("httpx", "elastic_transport", "urllib3")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (None outside a request) to every record, and drops uvicorn's copy
    of its message with terminal colours."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.__dict__.pop("color_message", None)
        return True


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of `log_format` ("json" or "text")."""
    if log_format == "text":
        return logging.Formatter(_TEXT_FORMAT)
    return JsonFormatter(
        _JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
    )


def handler(log_format: str, stream: Any = None) -> logging.Handler:
    """A stream handler (stderr by default) with the format and the request id filter."""
    made = logging.StreamHandler(stream or sys.stderr)
    made.setFormatter(formatter(log_format))
    made.addFilter(RequestIdFilter())
    return made


def configure_logging(*, log_format: str, level: int = logging.INFO, stream: Any = None) -> None:
    """Route every logger (uvicorn's too) through one handler of `log_format`. Like
    `logging.basicConfig`, it leaves a root logger that already has handlers of someone else
    (a test runner's) alone, and replaces only its own on a second call."""
    root = logging.getLogger()
    ours = [existing for existing in root.handlers if getattr(existing, _OURS, False)]
    if len(ours) == len(root.handlers):
        for existing in ours:
            root.removeHandler(existing)
        made = handler(log_format, stream)
        setattr(made, _OURS, True)
        root.addHandler(made)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn's access lines carry the raw path (a child's identifier, a search's query).
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in _QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def uvicorn_log_config(log_format: str) -> dict[str, Any]:
    """uvicorn's `log_config`: each worker's loggers through the same JSON handler, its access
    lines off (the app writes its own, without the path)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": {"()": formatter, "log_format": log_format}},
        "handlers": {
            "main": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["main"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            **{name: {"level": "WARNING"} for name in _QUIET},
        },
    }
