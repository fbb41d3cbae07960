"""Checks on values read from a data file, and what a failed check does to the read.

Readers build their records from these helpers, so that one kind of mistake reads the same
whatever format it turns up in. A helper takes ``err``: the reader's function that wraps a
message into a :class:`~harness.errors.DataError` naming the file, episode and step it is at,
so the message written here says only what is wrong with the value. Format rules that only
one reader has (an AiTZ box off the screen, AitW's action codes) stay with that reader or in
:mod:`harness.data.aitw_conventions`.

:class:`InvalidRecords` implements ``--skip-invalid``: drop the records that fail validation,
count them and say so, instead of stopping at the first one. Without it, the first bad record
is the error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from harness.data import files
from harness.data.types import Units
from harness.errors import DataError


# --------------------------------------------------------------------------- what an error does

class InvalidRecords:
    def __init__(self, skip: bool):
        self.skip = skip
        self.messages: list[str] = []

    def parse(self, parse, *args, **kwargs):
        """``parse(*args, **kwargs)``; with skipping on, a DataError is counted and None
        returned instead of raised."""
        try:
            return parse(*args, **kwargs)
        except DataError as exc:
            if not self.skip:
                raise
            self.messages.append(str(exc))
            return None

    def note(self) -> str | None:
        if not self.messages:
            return None
        shown = "; ".join(self.messages[:3])
        more = f" (and {len(self.messages) - 3} more)" if len(self.messages) > 3 else ""
        return f"--skip-invalid dropped {len(self.messages)} invalid record(s): {shown}{more}"


# --------------------------------------------------------------------------- files

def read_text(file: Path) -> str:
    """The file as UTF-8 text, opened only if it is a regular file (:mod:`harness.data.files`)."""
    return files.read_text(file)


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs):
    """``object_pairs_hook``: Python's JSON keeps the last of two equal keys, which would drop
    an episode (or a field) without a word."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def loads_strict(text: str):
    """JSON as Python values, refusing what ``json.loads`` accepts by accident or fails on
    with a traceback: duplicate keys, nesting deeper than Python's stack, integers longer than
    Python converts. Raises ``ValueError`` with a message that says which."""
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as exc:
        raise ValueError(f"the key {short_repr(exc.key)} appears twice in one object (JSON "
                         "readers keep only the last)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ValueError("nested too deeply to read (lists or objects inside one another "
                         "beyond Python's recursion limit)") from None
    except ValueError as exc:   # e.g. an integer of more than 4300 digits
        raise ValueError(str(exc).split(";")[0]) from None


def parse_json(file: Path, text: str):
    """``text`` (read from ``file``) as JSON (:func:`loads_strict`); an error names the file
    and, for a syntax error, the line and column."""
    try:
        return loads_strict(text)
    except ValueError as exc:
        raise DataError.at(file, f"not valid JSON: {exc}") from None


# --------------------------------------------------------------------------- JSON records

def short_repr(value) -> str:
    """``repr(value)`` cut to 60 characters: enough to recognise a value in an error message
    without pasting a whole record into it."""
    try:
        text = repr(value)
    except RecursionError:
        return f"<a {type(value).__name__} nested too deeply to show>"
    return text if len(text) <= 60 else text[:57] + "..."


def checked_text(value: str, what: str, err) -> str:
    """A string that is valid Unicode: JSON's ``\\ud800`` escapes decode to lone surrogates,
    which no UTF-8 consumer (the tokenizer, the records) can take."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise err(f"{what} holds a lone surrogate ({short_repr(value[exc.start:exc.end])} at "
                  f"character {exc.start}), which is not valid Unicode text") from None
    return value


def checked_field(record: dict, key: str, kind, err, where: str = ""):
    """``record[key]`` when present and of ``kind`` (bools are not numbers), else ``err``."""
    if key not in record:
        raise err(f"missing field '{where}{key}'")
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise err(f"field '{where}{key}' must be {expected}, got {type(value).__name__} "
                  f"{short_repr(value)}")
    if isinstance(value, str):
        checked_text(value, f"field '{where}{key}'", err)
    return value


def json_list(record: dict, key: str, err) -> list:
    """A string field that holds a JSON-encoded list (how the AiTZ export stores lists)."""
    text = checked_field(record, key, str, err)
    try:
        value = loads_strict(text)
    except ValueError as exc:
        raise err(f"field '{key}' is not a JSON-encoded list ({exc}): "
                  f"{short_repr(text)}") from None
    if not isinstance(value, list):
        raise err(f"field '{key}' must hold a JSON list, got {type(value).__name__} "
                  f"{short_repr(value)}")
    return value


def json_strings(record: dict, key: str, err) -> list[str]:
    """A string field that holds a JSON-encoded list of strings."""
    values = json_list(record, key, err)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise err(f"{key}[{i}] must be a string, got {short_repr(v)}")
        checked_text(v, f"{key}[{i}]", err)
    return values


# --------------------------------------------------------------------------- numbers and points
# Two ways to check a list of numbers, because the two JSON formats word their errors
# differently: user-json names the element at fault, AiTZ quotes the list it got.

def is_finite(value) -> bool:
    """A finite number that a float can hold: JSON integers have no size limit, and one past
    about 1.8e308 overflows (``math.isfinite`` raises on it instead of answering)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def number(value, what: str, err) -> float:
    """A finite int or float (not a bool), as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise err(f"{what} must be a number, got {type(value).__name__} {short_repr(value)}")
    if not is_finite(value):
        raise err(f"{what} must be finite, got {short_repr(value)}")
    return float(value)


def numbers(value, n: int, what: str, err) -> tuple[float, ...]:
    """A list or tuple of ``n`` numbers, each checked by :func:`number` and named by its
    index when it fails."""
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise err(f"{what} must be a list of {n} numbers, got {short_repr(value)}")
    return tuple(number(v, f"{what}[{i}]", err) for i, v in enumerate(value))


def list_of_numbers(value, n: int, what: str, err) -> list[float]:
    """A list of ``n`` finite numbers (not bools); a failure quotes the whole list."""
    if (not isinstance(value, list) or len(value) != n
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
            or not all(is_finite(v) for v in value)):
        raise err(f"{what} must be a list of {n} finite numbers, got {short_repr(value)}")
    return [float(v) for v in value]


def check_on_screen(point, what: str, units: Units, err) -> None:
    """A point that must lie on the screen, in the data set's units."""
    x, y = point
    limit_x, limit_y = units.scale()
    if not (0.0 <= x <= limit_x and 0.0 <= y <= limit_y):
        raise err(f"{what} {list(point)} lies outside the screen "
                  f"(x in [0, {limit_x:g}], y in [0, {limit_y:g}] for {units.describe()} data)")


#: How far a box may reach past the screen's edge before it is called off the screen: a
#: rounding pixel in pixel data; in normalized data 1e-3 of the screen (a pixel of a
#: 1000-pixel screen, far above float32 rounding). Anything further (x = -5, 1e308) means the
#: box is in other units or damaged.
BOX_SLACK = {"pixel": 1.0, "normalized": 1e-3}


def check_box_on_screen(box, what: str, units: Units, err) -> None:
    """A box ``(x, y, w, h)`` in the data set's units: finite, no negative side, and on the
    screen (give or take :data:`BOX_SLACK`)."""
    x, y, w, h = box
    if w < 0 or h < 0:
        raise err(f"{what} = {list(box)} (x, y, w, h) has a negative width or height")
    limit_x, limit_y = units.scale()
    slack = BOX_SLACK[units.kind]
    if not (x >= -slack and y >= -slack and x + w <= limit_x + slack
            and y + h <= limit_y + slack):
        raise err(f"{what} = {list(box)} (x, y, w, h) lies outside the screen (x in "
                  f"[0, {limit_x:g}], y in [0, {limit_y:g}] for {units.describe()} data)")


# --------------------------------------------------------------------------- tf.train.Example
# ``features`` is an Example's feature map; ``kinds`` says which protobuf list type
# (``bytes_list``, ``float_list``, ``int64_list``) each feature must be.

def feature_values(features, key: str, kinds: Mapping[str, str], err,
                   optional: bool = False) -> list | None:
    """The values of one feature, checked against its expected list type; None for an
    ``optional`` feature that is absent."""
    if key not in features:
        if optional:
            return None
        raise err(f"missing feature '{key}'")
    feature = features[key]
    kind = feature.WhichOneof("kind")
    if kind is None:  # a feature with no list at all: an empty list
        return []
    if kind != kinds[key]:
        raise err(f"feature '{key}' is a {kind}, expected a {kinds[key]}")
    return list(getattr(feature, kind).value)


def one_feature_value(features, key: str, kinds: Mapping[str, str], err,
                      optional: bool = False):
    """The single value of a one-value feature."""
    values = feature_values(features, key, kinds, err, optional)
    if values is None:
        return None
    if len(values) != 1:
        raise err(f"feature '{key}' must hold one value, got {len(values)}")
    return values[0]


def feature_text(value: bytes, key: str, err) -> str:
    """A bytes value of feature ``key`` decoded as UTF-8."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise err(f"feature '{key}' is not UTF-8 ({exc.reason} at byte {exc.start})") from None


def feature_texts(features, key: str, kinds: Mapping[str, str], err) -> list[str]:
    """Every value of a bytes feature, decoded; a failure names the value's index."""
    return [feature_text(v, f"{key}[{i}]", err)
            for i, v in enumerate(feature_values(features, key, kinds, err))]


def feature_floats(features, key: str, n: int, kinds: Mapping[str, str], err) -> list[float]:
    """A float feature of exactly ``n`` values."""
    values = feature_values(features, key, kinds, err)
    if len(values) != n:
        raise err(f"feature '{key}' must hold {n} floats, got {len(values)}")
    return values
