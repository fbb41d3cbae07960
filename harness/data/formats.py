"""Which reader a data path needs, and one entry point that reads any supported format.

Formats (``--data-format``), one :class:`Reader` each in :data:`READERS`:

- ``user-json``: the user's ``{episode_key: [step, ...]}`` files (:mod:`harness.data.user_json`);
  its units come from ``--units`` / ``--screen-size`` or a ``dataset.json``;
- ``aitz``: the AiTZ export (:mod:`harness.data.aitz`); needs ``--screen-size`` (or a
  ``screen_size`` in the folder's ``dataset.json``);
- ``aitw-tfrecord``: AitW's GZIP TFRecords (:mod:`harness.data.aitw_tfrecord`).

Detection looks at content, not only at names, and fails with the path named when nothing
matches, rather than falling back to a default reader.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from harness.data import files
# Each reader's module names its format (user-json also writes its name into dataset.json).
from harness.data.aitw_tfrecord import FORMAT_NAME as AITW_TFRECORD
from harness.data.aitw_tfrecord import looks_like_tfrecord, read_aitw_tfrecord, tfrecord_files
from harness.data.aitz import FORMAT_NAME as AITZ
from harness.data.aitz import looks_like_aitz, read_aitz
from harness.data.metadata import METADATA_FILE, is_metadata, read_metadata
from harness.data.types import NORMALIZED, Dataset
from harness.data.user_json import FORMAT_NAME as USER_JSON
from harness.data.user_json import looks_like_user_json, read_user_json
from harness.data.validate import InvalidRecords
from harness.errors import DataError


class Reader(NamedTuple):
    """One supported format: how to recognise a file of it, and how to read a path in it."""

    name: str
    #: True when a file (not a folder) is in this format, judged from its content or name.
    looks_like: Callable[[Path], bool]
    #: ``read(path, units, screen, invalid)``: the data set at ``path`` (a file or a folder).
    read: Callable[[Path, str | None, tuple[int, int] | None, InvalidRecords], Dataset]
    #: The reader returns normalized data whatever the caller says, so ``--units`` may only
    #: agree with it; False when ``--units`` is the reader's input (user-json).
    normalized_only: bool


READERS: dict[str, Reader] = {}


def _reader(name: str, looks_like: Callable[[Path], bool], normalized_only: bool):
    """Register the decorated function as the reader of format ``name``."""
    def register(read):
        READERS[name] = Reader(name, looks_like, read, normalized_only)
        return read
    return register


# The registration order is the order of FORMATS (and of --data-format's choices).

@_reader(USER_JSON, looks_like_user_json, normalized_only=False)
def _read_user_json(path, units, screen, invalid):
    return read_user_json(path, units, screen, invalid)


@_reader(AITZ, looks_like_aitz, normalized_only=True)
def _read_aitz(path, units, screen, invalid):
    # The export states no screenshot size; a folder's dataset.json may (--screen-size wins).
    if screen is None and files.kind_of(path) == files.FOLDER:
        screen = read_metadata(path).get("screen_size")
    return read_aitz(path, screen, invalid)


@_reader(AITW_TFRECORD, looks_like_tfrecord, normalized_only=True)
def _read_aitw_tfrecord(path, units, screen, invalid):
    return read_aitw_tfrecord(path, screen, invalid)


FORMATS = tuple(READERS)

#: The order in which a file's format is tried. TFRecords first: that test reads two bytes at
#: most and also goes by the file's name, so a ``*.tfrecord*`` / ``*.gz`` file is a TFRecord
#: whatever it holds; the JSON tests parse the whole file.
DETECTION_ORDER = (AITW_TFRECORD, AITZ, USER_JSON)


# --------------------------------------------------------------------------- detection

def _detect_file(path: Path) -> str | None:
    return next((name for name in DETECTION_ORDER if READERS[name].looks_like(path)), None)


def _detect_folder(path: Path) -> str:
    """A folder's format: its ``dataset.json`` when that names one, else its data files. JSON
    and TFRecord files together are ambiguous and an error, not a choice."""
    declared = read_metadata(path, FORMATS).get("format")
    if declared is not None:
        return declared
    jsons = files.walk_files(path, lambda p: p.name.endswith(".json") and not is_metadata(p),
                             data_name=lambda name: name.endswith(".json"))
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
    if files.kind_of(path) == files.FOLDER:
        return _detect_folder(path)
    files.open_regular(path).close()  # unreadable: named as such, not as an unknown format
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
    reader = READERS.get(fmt)
    if reader is None:
        raise DataError(f"unknown data format {fmt!r}; expected one of {list(FORMATS)}")
    if data_format is not None and files.kind_of(path) == files.FOLDER:
        # a folder's dataset.json is checked whoever reads the folder, and may not contradict
        declared = read_metadata(path, FORMATS).get("format")
        if declared is not None and declared != fmt:
            raise DataError.at(path / METADATA_FILE, f"says the format is {declared!r}, but "
                                                     f"--data-format is {fmt!r}")
    if reader.normalized_only:
        _check_units(fmt, units, path)
    invalid = InvalidRecords(skip_invalid)
    dataset = reader.read(path, units, screen, invalid)
    dataset.skipped_records = len(invalid.messages)
    if invalid.note():
        dataset.notes.append(invalid.note())
    return dataset


__all__ = ["FORMATS", "READERS", "Reader", "detect_format", "read_dataset",
           "looks_like_user_json"]
