"""File writing that a kill at any moment cannot leave half-done."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

from harness.errors import HarnessInputError

#: errors that freeing space (or waiting) can cure: the folder is resumable, rerun the command
TRANSIENT_STORAGE = (errno.ENOSPC, errno.EDQUOT, errno.EIO)


class StorageError(HarnessInputError):
    """A record could not be written (disk full, read-only folder, a file where a folder
    should be): one message naming the path, no traceback. Writes are atomic, so what is on
    disk stays readable and the same command resumes once the cause is fixed. ``transient``:
    freeing space can cure it (the command exits 3: rerun it), else the folder itself is
    unusable (exit 2)."""

    def __init__(self, message: str, path=None, transient: bool = False):
        super().__init__(message)
        self.path = path
        self.transient = transient


def storage_error(path, exc: OSError) -> StorageError:
    """``exc``, raised while writing ``path``, as a :class:`StorageError` naming it."""
    if isinstance(exc, StorageError):
        return exc
    transient = exc.errno in TRANSIENT_STORAGE
    # the system's words for the errno: a library's own (pyarrow: "Error writing bytes to
    # file. Detail: [errno 28] ...") would bury the cause
    reason = (os.strerror(exc.errno) if exc.errno else exc.strerror) or (
        f"{type(exc).__name__}: {exc}")
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    cure = ("free some space and rerun the same command: finished runs are kept"
            if transient else "choose a writable --out, or fix its permissions")
    return StorageError(f"cannot write {path}: {reason}{where}; {cure}", path, transient)


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file (synced to disk) and an atomic
    rename (:func:`atomic_write_file`)."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    atomic_write_file(path, write)


def atomic_write_file(path, write) -> None:
    """``write(tmp)`` fills a temporary file next to ``path``, which then replaces ``path``
    atomically: for libraries that write to a path themselves (Parquet, PNG). An OSError on
    the way is a :class:`StorageError` naming ``path``, and no temporary file is left to hold
    the space that the user is asked to free."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise storage_error(path, exc) from exc
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise storage_error(path, exc) from exc
        raise


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def atomic_write_csv(path, frame, na_rep: str = "") -> None:
    """Write a pandas DataFrame as CSV, atomically. ``na_rep``: how a missing value is
    written; a table whose NaN are measurements (steps.csv) writes them as ``nan``, as
    Python and each run's own steps.csv write them, which pandas and duckdb read back as NaN
    (polars too, given the column's type) rather than as an empty field, a missing value."""
    atomic_write_text(path, frame.to_csv(index=False, na_rep=na_rep))


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
