"""A data folder's ``dataset.json``: what it may say, checked before anything uses it.

The synthetic generator writes it (``{"format": "user-json", "units": "pixel",
"screen_size": [1080, 2400], "source": ...}``); a user may write one by hand for any format.
Each key has one meaning for every reader:

- ``format``: the folder's format, one of the reader table's names (detection takes it);
- ``units``: ``pixel`` or ``normalized``, the coordinate units of user-json data;
- ``screen_size``: ``[width, height]`` in pixels, two positive whole numbers;
- anything else (``source``, notes) is kept out of the way: not read, not checked.

It is never a data file: every reader leaves a file of this name out of its data.
"""

from __future__ import annotations

from pathlib import Path

from harness.data import files
from harness.data.types import MAX_SCREEN_SIDE, UNITS
from harness.data.validate import parse_json, short_repr
from harness.errors import DataError

METADATA_FILE = "dataset.json"


def is_metadata(path: Path) -> bool:
    return path.name == METADATA_FILE


def _screen_size(value, path: Path) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_SCREEN_SIDE
                   for v in value)):
        raise DataError.at(path, "screen_size must be [width, height], two whole numbers of "
                                 f"pixels from 1 to {MAX_SCREEN_SIDE}, got {short_repr(value)}")
    return (value[0], value[1])


def read_metadata(folder: Path, formats=None) -> dict:
    """The folder's ``dataset.json`` checked (``{}`` when there is none). ``screen_size``, when
    present, comes back as a ``(width, height)`` tuple; ``formats``, when given, are the names
    ``format`` may take."""
    path = Path(folder) / METADATA_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    meta = parse_json(path, files.read_text(path))
    if not isinstance(meta, dict):
        raise DataError.at(path, f"must hold a JSON object, got {type(meta).__name__}")
    fmt = meta.get("format")
    if fmt is not None and (not isinstance(fmt, str) or (formats and fmt not in formats)):
        expected = f"one of {list(formats)}" if formats else "a string"
        raise DataError.at(path, f"unknown format {short_repr(fmt)}; expected {expected}")
    units = meta.get("units")
    if units is not None and (not isinstance(units, str) or units not in UNITS):
        raise DataError.at(path, f"units must be one of {list(UNITS)}, got {short_repr(units)}")
    if meta.get("screen_size") is not None:
        meta = {**meta, "screen_size": _screen_size(meta["screen_size"], path)}
    return meta


__all__ = ["METADATA_FILE", "is_metadata", "read_metadata"]
