"""Which reader a data path needs, and one entry point that reads any supported format.

Formats (``--data-format``):

- ``user-json``: the user's ``{episode_key: [step, ...]}`` files (:mod:`harness.data.user_json`);
  its units come from ``--units`` / ``--screen-size`` or a ``dataset.json``;
- ``aitz``: the AiTZ export (:mod:`harness.data.aitz`); needs ``--screen-size``;
- ``aitw-tfrecord``: AitW's GZIP TFRecords (:mod:`harness.data.aitw_tfrecord`).

Detection looks at content, not only at names, and fails with the path named when nothing
matches, rather than falling back to a default reader.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.data.aitw_tfrecord import looks_like_tfrecord, read_aitw_tfrecord, tfrecord_files
from harness.data.invalid import InvalidRecords
from harness.data.aitz import looks_like_aitz, read_aitz
from harness.data.types import NORMALIZED, Dataset
from harness.data.user_json import METADATA_FILE, read_metadata, read_user_json
from harness.errors import DataError

USER_JSON, AITZ, AITW_TFRECORD = "user-json", "aitz", "aitw-tfrecord"
FORMATS = (USER_JSON, AITZ, AITW_TFRECORD)


# --------------------------------------------------------------------------- detection

def looks_like_user_json(path) -> bool:
    """A JSON object whose first value is a list of steps with ``prompt`` and ``results``."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(content, dict) or not content:
        return False
    steps = next(iter(content.values()))
    return (isinstance(steps, list) and bool(steps) and isinstance(steps[0], dict)
            and "prompt" in steps[0] and "results" in steps[0])


def _detect_file(path: Path) -> str | None:
    if looks_like_tfrecord(path):
        return AITW_TFRECORD
    if looks_like_aitz(path):
        return AITZ
    if looks_like_user_json(path):
        return USER_JSON
    return None


def _detect_folder(path: Path) -> str:
    """A folder's format: its ``dataset.json`` when that names one, else its data files. JSON
    and TFRecord files together are ambiguous and an error, not a choice."""
    declared = read_metadata(path).get("format")
    if declared is not None:
        if declared not in FORMATS:
            raise DataError.at(path / METADATA_FILE, f"unknown format {declared!r}; expected "
                                                     f"one of {list(FORMATS)}")
        return declared
    jsons = sorted(p for p in path.rglob("*.json") if p.is_file() and p.name != METADATA_FILE)
    records = tfrecord_files(path, must_exist=False)
    if jsons and records:
        raise DataError.at(path, f"holds both JSON ({jsons[0].name}, ...) and TFRecord "
                                 f"({records[0].name}, ...) files: pass --data-format, or "
                                 "point at a folder with one kind")
    if records:
        return AITW_TFRECORD
    if jsons:
        found = _detect_file(jsons[0])
        if found is not None:
            return found
        raise DataError.at(path, f"cannot tell the data format: its first JSON file "
                                 f"{jsons[0]} is neither user-json nor AiTZ")
    raise DataError.at(path, "cannot tell the data format: the folder holds no .json, "
                             "*.tfrecord*, .gz or gzip files")


def detect_format(path) -> str:
    """One of :data:`FORMATS`, from a file's content (or extension, for TFRecords) or a
    folder's files; a :class:`DataError` naming the path when none matches."""
    path = Path(path)
    if path.is_dir():
        return _detect_folder(path)
    if not path.is_file():
        raise DataError.at(path, "no such file or folder")
    found = _detect_file(path)
    if found is None:
        raise DataError.at(path, "cannot tell the data format: not a TFRecord, an AiTZ JSON "
                                 f"list or a user-json object; pass --data-format (one of "
                                 f"{', '.join(FORMATS)})")
    return found


# --------------------------------------------------------------------------- reading

def _check_units(fmt: str, units: str | None, path: Path) -> None:
    """AiTZ and AitW fix their own units (the readers return normalized data), so ``--units``
    may only agree with them."""
    if units is not None and units != NORMALIZED:
        raise DataError.at(path, f"--units {units} contradicts the {fmt} format, whose points "
                                 "are normalized (the reader also normalizes its boxes): drop "
                                 "--units, or pass --units normalized")


def read_dataset(path, data_format: str | None = None, units: str | None = None,
                 screen: tuple[int, int] | None = None, skip_invalid: bool = False) -> Dataset:
    """Read ``path`` in ``data_format`` (detected when None). ``units`` applies to user-json
    only; ``screen`` is the screenshots' ``(width, height)``: required by AiTZ, checked against
    what AitW records state, and, for user-json, needed with pixel units."""
    path = Path(path)
    fmt = data_format or detect_format(path)
    invalid = InvalidRecords(skip_invalid)
    if fmt == USER_JSON:
        dataset = read_user_json(path, units, screen, invalid)
    elif fmt == AITZ:
        _check_units(fmt, units, path)
        dataset = read_aitz(path, screen, invalid)
    elif fmt == AITW_TFRECORD:
        _check_units(fmt, units, path)
        dataset = read_aitw_tfrecord(path, screen, invalid)
    else:
        raise DataError(f"unknown data format {fmt!r}; expected one of {list(FORMATS)}")
    dataset.skipped_records = len(invalid.messages)
    if invalid.note():
        dataset.notes.append(invalid.note())
    return dataset


__all__ = ["FORMATS", "detect_format", "read_dataset", "looks_like_user_json"]
