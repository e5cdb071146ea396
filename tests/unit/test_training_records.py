"""The records `matching train --records` reads: the import format's history too."""

from __future__ import annotations

import json
from pathlib import Path

from contactpoint.cli_matching import read_training_records


def test_the_history_of_an_import_line_is_read_into_the_record(tmp_path: Path) -> None:
    line = {
        "given_names": "Molly",
        "family_name": "Nowak",
        "address": {"lines": ["1 Mill Lane"], "town": "Leeds", "postcode": "LS6 2AB"},
        "other_names": [{"family_name": "Hall", "kind": "former"}, {"given_names": "x"}],
        "previous_addresses": [{"postcode": "EB3 5AB", "from": "2020-01-01"}, {"postcode": 7}],
    }
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(line) + "\n" + json.dumps({"family_name": "Hall"}) + "\n")
    (record, plain), skipped = read_training_records(path)
    assert skipped == 0
    assert (record.postcode, record.town) == ("LS6 2AB", "Leeds")
    assert record.other_family_names == ("Hall",)
    assert record.previous_postcodes == ("EB3 5AB",)
    assert plain.other_family_names == () and plain.previous_postcodes == ()


def test_a_history_that_is_not_a_list_counts_as_none(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps({"family_name": "Hall", "other_names": "Smith"}) + "\n")
    (record,), _ = read_training_records(path)
    assert record.other_family_names == ()
