"""Corruptions of the search benchmark's queries: pure functions of a seeded `random.Random`.

Each makes one kind of error a practitioner makes typing what they were told (a letter wrong,
a digit of a date or a postcode, names in the wrong boxes, another family name altogether). A
function returns None when its error cannot be made of the value it was given.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from typing import Any

from mappings.normalise import family_name_keys, fold

# Letters of an inward code and of most outward ones (the demo postcodes draw from these).
_POSTCODE_LETTERS = "ABCDEFGHJKLMNPRSTUWXY"


def typo(rng: random.Random, word: str) -> str:
    """One edit after the first letter and before the last (change, swap or deletion)."""
    i = rng.randrange(1, len(word) - 1)
    roll = rng.random()
    if roll < 0.4:  # substitution
        return word[:i] + rng.choice("aeioulnrst".replace(word[i].lower(), "")) + word[i + 1 :]
    if roll < 0.7 and word[i] != word[i + 1]:  # transposition
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]  # deletion


def any_typo(rng: random.Random, word: str) -> str:
    """One edit anywhere, the first letter included (insertion, deletion, swap or change)."""
    i = rng.randrange(len(word))
    roll = rng.random()
    # Never the letter already there (in either case): a change must change the name.
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz".replace(word[i].lower(), ""))
    if roll < 0.3:
        return word[:i] + letter + word[i + 1 :]
    if roll < 0.5:
        return word[:i] + letter + word[i:]
    if roll < 0.75 and i + 1 < len(word) and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def dob_digit(rng: random.Random, dob: date) -> date | None:
    """The date with one digit of DD/MM/YYYY (not the century) typed wrong, if still a date."""
    digits = dob.strftime("%Y%m%d")
    for _ in range(20):
        i = rng.choice([2, 3, 4, 5, 6, 7])
        changed = digits[:i] + rng.choice("0123456789".replace(digits[i], "")) + digits[i + 1 :]
        try:
            return date(int(changed[:4]), int(changed[4:6]), int(changed[6:]))
        except ValueError:
            continue
    return None


def postcode_typo(rng: random.Random, postcode: str) -> str:
    """One character of the postcode replaced by another of its kind (letter or digit)."""
    positions = [i for i, char in enumerate(postcode) if char != " "]
    i = rng.choice(positions)
    pool = "0123456789" if postcode[i].isdigit() else _POSTCODE_LETTERS
    return postcode[:i] + rng.choice(pool.replace(postcode[i], "")) + postcode[i + 1 :]


def replaced_family_name(
    rng: random.Random, family_name: str, families: Sequence[str], *, tries: int = 50
) -> str | None:
    """Another family name of `families`, neither starting with the same letter nor sharing a
    phonetic key with `family_name` (a wholly different name, not a misspelling of it)."""
    own = family_name_keys(family_name)
    if not own.folded:
        return None
    for _ in range(tries):
        other = rng.choice(families)
        keys = family_name_keys(other)
        if (
            sum(char.isalpha() for char in keys.folded) >= 2
            and keys.folded[0] != own.folded[0]
            and not set(keys.phonetic) & set(own.phonetic)
        ):
            return other
    return None


def exchanged_names(
    rng: random.Random, *, given_name: str, family_name: str, date_of_birth: date, postcode: str
) -> dict[str, Any]:
    """The request body with given and family name exchanged and one more error: a typo in one
    of the names, a digit of the date of birth, or a character of the postcode."""
    body: dict[str, Any] = {
        "given_name": family_name,
        "family_name": given_name,
        "date_of_birth": date_of_birth.isoformat(),
        "postcode": postcode,
    }
    # A typo only in a name of four letters or more: a shorter one could lose the two letters
    # a search needs, or become another common name.
    names = [field for field in ("given_name", "family_name") if len(fold(body[field])) >= 4]
    errors = ["postcode"] + (["name"] if names else [])
    wrong_day = dob_digit(rng, date_of_birth)
    if wrong_day is not None and wrong_day != date_of_birth:
        errors.append("date_of_birth")
    error = rng.choice(errors)
    if error == "name":
        field = rng.choice(names)
        name = body[field]
        # Dropping an apostrophe or a hyphen changes no name once folded: another edit then.
        while fold(body[field]) == fold(name):
            body[field] = any_typo(rng, name)
    elif error == "date_of_birth" and wrong_day is not None:
        body["date_of_birth"] = wrong_day.isoformat()
    else:
        body["postcode"] = postcode_typo(rng, postcode)
    return body


def transposed_postcode(rng: random.Random, postcode: str) -> str | None:
    """The postcode with two digits exchanged across the space ("EB3 5AB" to "EB5 3AB") when
    it has a digit either side of it, or else two adjacent characters of one word exchanged."""
    space = postcode.find(" ")
    if 0 < space < len(postcode) - 1:
        before, after = postcode[space - 1], postcode[space + 1]
        if before.isdigit() and after.isdigit() and before != after:
            return postcode[: space - 1] + after + " " + before + postcode[space + 2 :]
    pairs = [
        i
        for i in range(len(postcode) - 1)
        if " " not in postcode[i : i + 2] and postcode[i] != postcode[i + 1]
    ]
    # Two letters or two digits first: the postcode keeps its shape, as a slip of order does.
    alike = [i for i in pairs if postcode[i].isdigit() == postcode[i + 1].isdigit()]
    if not pairs:
        return None
    i = rng.choice(alike or pairs)
    return postcode[:i] + postcode[i + 1] + postcode[i] + postcode[i + 2 :]


def year_off(rng: random.Random, dob: date) -> date:
    """The date of birth a year earlier or later, day and month kept (29 February, in a year
    without one, becomes the 28th)."""
    year = dob.year + rng.choice((-1, 1))
    try:
        return dob.replace(year=year)
    except ValueError:
        return dob.replace(year=year, day=28)
