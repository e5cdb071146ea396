"""The one rule for what a failing request keeps: commit, mark, raise."""

from __future__ import annotations

import pytest

from db.audit import raise_kept, was_kept
from db.errors import InvalidInput, NotFound


class _CountingSession:
    def __init__(self) -> None:
        self.commits = 0

    def commit(self) -> None:
        self.commits += 1


def test_raise_kept_commits_before_it_raises_and_marks_the_error() -> None:
    session = _CountingSession()
    with pytest.raises(NotFound) as raised:
        raise_kept(session=session, error=NotFound("no such child"))
    assert session.commits == 1
    assert was_kept(raised.value)


def test_an_error_raised_otherwise_is_not_kept() -> None:
    assert not was_kept(InvalidInput("too short", field="body.reason"))
    assert not was_kept(RuntimeError("fault"))
