"""The pages' `plural` filter: a count and its noun agree, in Python and in a template."""

from __future__ import annotations

import pytest

from searchapi.pages.render import templates
from searchapi.pages.words import plural


@pytest.mark.parametrize(
    ("count", "words", "expected"),
    [
        (1, ("account",), "1 account"),
        (0, ("account",), "0 accounts"),
        (2, ("account",), "2 accounts"),
        (1, ("child", "children"), "1 child"),
        (3, ("child", "children"), "3 children"),
        (20000, ("child", "children"), "20,000 children"),
        (1.5, ("hour",), "1.5 hours"),
    ],
    ids=["one", "none", "two", "irregular-one", "irregular-many", "thousands", "fraction"],
)
def test_a_count_agrees_with_its_noun(count: float, words: tuple[str, ...], expected: str) -> None:
    assert plural(count, *words) == expected


def test_the_templates_have_the_plural_filter() -> None:
    template = templates.env.from_string(
        '{{ n | plural("account") }}, {{ n | plural("child", "children") }}'
    )
    assert template.render(n=1) == "1 account, 1 child"
    assert template.render(n=2) == "2 accounts, 2 children"
