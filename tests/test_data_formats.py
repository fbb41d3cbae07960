"""The table of readers behind --data-format: one entry per format, detection in a fixed
order, and the shared validators' wording."""

from __future__ import annotations

import pytest

from harness.data.formats import DETECTION_ORDER, FORMATS, READERS, read_dataset
from harness.data.validate import InvalidRecords, list_of_numbers, numbers, short_repr
from harness.errors import DataError


def test_every_format_has_one_reader_and_a_place_in_detection():
    assert FORMATS == ("user-json", "aitz", "aitw-tfrecord")
    assert tuple(READERS) == FORMATS
    assert sorted(DETECTION_ORDER) == sorted(FORMATS)
    assert {name: r.normalized_only for name, r in READERS.items()} == {
        "user-json": False, "aitz": True, "aitw-tfrecord": True}


def test_no_reader_claims_a_plain_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    assert not any(reader.looks_like(path) for reader in READERS.values())


def test_an_unknown_format_is_named(tmp_path):
    with pytest.raises(DataError, match=r"unknown data format 'csv'; expected one of "
                                        r"\['user-json', 'aitz', 'aitw-tfrecord'\]"):
        read_dataset(tmp_path, data_format="csv")


def _err(message):
    return DataError(f"where: {message}")


def test_the_two_number_checks_word_their_errors_differently():
    with pytest.raises(DataError, match=r"^where: box\[1\] must be a number, got str 'x'$"):
        numbers([1, "x"], 2, "box", _err)
    with pytest.raises(DataError, match=r"^where: box must be a list of 2 finite numbers, "
                                        r"got \[1, 'x'\]$"):
        list_of_numbers([1, "x"], 2, "box", _err)
    assert numbers((1, 2.5), 2, "box", _err) == (1.0, 2.5)
    assert list_of_numbers([1, 2.5], 2, "box", _err) == [1.0, 2.5]


def test_short_repr_and_skipping():
    assert short_repr("a" * 100) == repr("a" * 100)[:57] + "..."
    invalid = InvalidRecords(skip=True)

    def bad(i):
        raise DataError(f"bad {i}")

    for i in range(5):
        assert invalid.parse(bad, i) is None
    assert invalid.note() == ("--skip-invalid dropped 5 invalid record(s): bad 0; bad 1; bad 2 "
                              "(and 2 more)")
    with pytest.raises(DataError):
        InvalidRecords(skip=False).parse(bad, 0)


def test_strict_json_refuses_what_json_loads_gets_wrong():
    from harness.data.validate import loads_strict
    assert loads_strict('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    for text, message in [('{"a": 1, "a": 2}', r"the key 'a' appears twice in one object"),
                          ("[" * 100_000, r"nested too deeply"),
                          ("9" * 4400, r"^Exceeds the limit \(4300 digits\) for integer string "
                                       r"conversion: value has 4400 digits$"),
                          ("{oops", r"Expecting property name .* \(line 1, column 2\)")]:
        with pytest.raises(ValueError, match=message):
            loads_strict(text)


def test_numbers_too_big_for_a_float_are_named_not_raised():
    with pytest.raises(DataError, match=r"^where: x\[0\] must be finite, got 1000000000"):
        numbers([10**400], 1, "x", _err)
    with pytest.raises(DataError, match=r"list of 2 finite numbers"):
        list_of_numbers([10**400, 1], 2, "box", _err)
    nested = []
    for _ in range(5000):
        nested = [nested]
    assert short_repr(nested) == "<a list nested too deeply to show>"
