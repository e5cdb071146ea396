"""Read an import file into validated, encoded batches: in this process, or in a child one.

Validation and encoding are CPU-bound Python; writing is PostgreSQL's work. On a large file the
batches are produced by a child process, so that both run at once on two cores (a thread would
fight the writer for the GIL). Either way the same generator, `read_batches`, does the work.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Final

from db.load.seen_identifiers import UNKNOWN_LINE, SeenIdentifiers
from db.load.staging import build_rows, encode_rows
from db.load.validation import LINE_FIELD, Rejection, ValidLine, validate_line

_BATCHES_AHEAD: Final = 4
_POLL_SECONDS: Final = 0.5


@dataclass(frozen=True, slots=True)
class Batch:
    """Valid lines (number, text), their COPY input, and how far into the file they reach."""

    lines: list[tuple[int, str]]
    encoded: list[tuple[str, str]]
    done_bytes: int


@dataclass
class ReadTally:
    """What reading found: non-blank lines, and the rejections of validation."""

    lines: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def decode_line(number: int, raw: bytes) -> str | Rejection:
    """The text of a line, or why it is not UTF-8."""
    try:
        return raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        return Rejection(number, LINE_FIELD, f"is not valid UTF-8 ({exc.reason})")


def _first_only(checked: ValidLine, seen: SeenIdentifiers) -> ValidLine | list[Rejection]:
    earlier = seen.add(checked.record.identifier, checked.line)
    if earlier is None:
        return checked
    where = "an earlier line" if earlier == UNKNOWN_LINE else f"line {earlier}"
    reason = f"is already given on {where} of this file; only the first line is loaded"
    return [Rejection(checked.line, "identifier", reason)]


def _batch(valid: list[ValidLine], texts: list[tuple[int, str]], done_bytes: int) -> Batch:
    return Batch(texts, encode_rows(build_rows(valid)), done_bytes)


def read_batches(
    path: Path, *, batch_size: int, today: date, tally: ReadTally
) -> Generator[Batch, None, None]:
    """Stream the file; valid lines come out in batches, everything else goes to `tally`.

    An identifier already given on an earlier line is rejected: the first line wins, whatever
    the batch size, so that loading the same file again changes nothing.
    """
    seen = SeenIdentifiers()
    done_bytes = 0
    valid: list[ValidLine] = []
    texts: list[tuple[int, str]] = []
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            done_bytes += len(raw)
            if not raw.strip():
                continue
            tally.lines += 1
            text = decode_line(number, raw)
            if isinstance(text, Rejection):
                tally.rejected.append(text)
                continue
            checked = validate_line(text, today=today, line=number)
            if isinstance(checked, ValidLine):
                checked = _first_only(checked, seen)
            if isinstance(checked, list):
                tally.rejected.extend(checked)
                continue
            valid.append(checked)
            texts.append((number, text))
            if len(valid) >= batch_size:
                yield _batch(valid, texts, done_bytes)
                valid, texts = [], []
    if valid:
        yield _batch(valid, texts, done_bytes)


def produce(path: Path, batch_size: int, today: date, out: BinaryIO) -> None:
    """Pickle ("batch", lines, encoded, done_bytes)... then ("end", lines, rejections) to `out`.

    Plain tuples, so that the parent needs nothing of this module's __main__ to read them.
    """
    tally = ReadTally()
    for batch in read_batches(path, batch_size=batch_size, today=today, tally=tally):
        message = ("batch", batch.lines, batch.encoded, batch.done_bytes)
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
    rejections = [(r.line, r.field, r.reason) for r in tally.rejected]
    pickle.dump(("end", tally.lines, rejections), out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def _drain(source: BinaryIO, into: queue.Queue[Any], stop: threading.Event) -> None:
    """Move the child's messages into a queue, so that it can run several batches ahead."""
    while not stop.is_set():
        try:
            message: Any = pickle.load(source)
        except EOFError:
            message = ("eof",)
        while not stop.is_set():
            try:
                into.put(message, timeout=_POLL_SECONDS)
                break
            except queue.Full:
                continue
        if message[0] in ("eof", "end"):
            return


def read_batches_in_child(
    path: Path, *, batch_size: int, today: date, tally: ReadTally
) -> Generator[Batch, None, None]:
    """`read_batches` run by a child process (`python -m db.load._reader`), batches ahead.

    A plain subprocess and a pipe, not multiprocessing: nothing of the caller's __main__ is
    imported again. At most _BATCHES_AHEAD batches wait in memory.
    """
    root = str(Path(__file__).resolve().parents[2])
    pythonpath = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "db.load._reader", str(path), str(batch_size)]
    command.append(today.isoformat())
    messages: queue.Queue[Any] = queue.Queue(maxsize=_BATCHES_AHEAD)
    stop = threading.Event()
    env = {**os.environ, "PYTHONPATH": pythonpath}
    with subprocess.Popen(command, stdout=subprocess.PIPE, env=env) as child:
        assert child.stdout is not None
        drain = threading.Thread(
            target=_drain, args=(child.stdout, messages, stop), name="load-reader", daemon=True
        )
        drain.start()
        try:
            while True:
                message = messages.get()
                if message[0] == "eof":
                    child.wait()
                    raise RuntimeError(
                        f"the load reader stopped early (exit status {child.returncode})"
                    )
                if message[0] == "end":
                    tally.lines += message[1]
                    tally.rejected.extend(Rejection(*r) for r in message[2])
                    return
                yield Batch(message[1], message[2], message[3])
        finally:
            stop.set()
            if child.poll() is None:
                child.terminate()
            drain.join()
