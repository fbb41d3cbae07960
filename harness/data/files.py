"""Opening data files and listing data folders without being fooled by the file system.

A data path may be a dangling symlink, a FIFO, a socket, a folder named like a data file, or a
file the user cannot read. Opening a FIFO blocks until a writer appears (forever, for a
reader), and ``Path.is_file`` filters quietly drop the rest, so a data set could lose a shard
without a word. Every reader therefore goes through this module:

- :func:`kind_of` looks at a path with ``os.stat`` before anything opens it;
- :func:`open_regular` opens only regular files (and checks again on the open descriptor, so a
  file swapped for a FIFO in between is still refused rather than waited on);
- :func:`walk_files` lists a folder's files and refuses anything under it that is neither a
  regular file nor a folder: one rule for every format, because a reader that decides by
  content (TFRecord shards carry no extension) cannot tell whether a FIFO would have been data.

Every failure is a :class:`~harness.errors.DataError` naming the path.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from harness.errors import DataError

REGULAR = "regular file"
FOLDER = "folder"

_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _describe_mode(mode: int) -> str:
    if stat.S_ISREG(mode):
        return REGULAR
    if stat.S_ISDIR(mode):
        return FOLDER
    return next((name for test, name in _SPECIAL if test(mode)), "not a regular file")


def _os_error(path: Path, exc: OSError, doing: str) -> DataError:
    reason = exc.strerror or type(exc).__name__
    return DataError.at(path, f"cannot {doing} ({reason})")


def kind_of(path) -> str:
    """:data:`REGULAR` or :data:`FOLDER` (symlinks followed); any other kind of path, a
    missing one included, is a DataError saying what it is."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise DataError.at(path, f"a dangling symlink (it points to "
                                     f"{os.readlink(path)!r}, which does not exist)") from None
        raise DataError.at(path, "no such file or folder") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError.at(path, "a symlink loop (the link leads back to itself)") from None
        raise _os_error(path, exc, "look at it") from None
    kind = _describe_mode(mode)
    if kind not in (REGULAR, FOLDER):
        raise DataError.at(path, f"is {kind}, not a regular file: data must be regular files "
                                 "(or folders of them)")
    return kind


def require_regular(path) -> Path:
    path = Path(path)
    if kind_of(path) != REGULAR:
        raise DataError.at(path, "is a folder where a data file was expected")
    return path


def open_regular(path):
    """A binary file object on ``path``, which must be a regular file. The descriptor is
    opened non-blocking and checked again, so a FIFO that replaced the file after the check is
    refused at once instead of blocking."""
    path = require_regular(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _os_error(path, exc, "open it") from None
    try:
        kind = _describe_mode(os.fstat(fd).st_mode)
        if kind != REGULAR:
            raise DataError.at(path, f"is {kind}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path) -> bytes:
    path = Path(path)
    with open_regular(path) as f:
        try:
            return f.read()
        except OSError as exc:
            raise _os_error(path, exc, "read it") from None


def read_text(path) -> str:
    """The file as UTF-8 text; anything else is an error naming the byte where it fails."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError.at(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def is_readable_regular(path) -> bool:
    """True for a regular file (symlinks followed); never raises, never opens anything."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def walk_files(root, wanted: Callable[[Path], bool],
               data_name: Callable[[str], bool] = lambda name: False) -> list[Path]:
    """Every regular file under folder ``root`` for which ``wanted(path)`` holds, sorted.

    Symlinks are followed (to files and to folders); a dangling one, a loop, a folder reached
    twice, a FIFO, a socket or a device anywhere under ``root`` is an error naming it, because
    skipping it could silently drop data. So is a folder whose name ``data_name`` says is a
    data file's (``episodes.json/``): it was meant to be one, or is a mistake."""
    root = Path(root)
    found: list[Path] = []
    seen_folders: dict[tuple[int, int], Path] = {}

    def visit(folder: Path) -> None:
        info = os.stat(folder)
        key = (info.st_dev, info.st_ino)
        if key in seen_folders:
            raise DataError.at(folder, f"is the folder {seen_folders[key]} again (through a "
                                       "symlink): each data file must be reached once")
        seen_folders[key] = folder
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise _os_error(folder, exc, "list the folder") from None
        for name in names:
            path = folder / name
            if kind_of(path) == FOLDER:
                if data_name(name):
                    raise DataError.at(path, "is a folder named like a data file")
                visit(path)
            elif wanted(path):
                found.append(path)

    if kind_of(root) != FOLDER:
        raise DataError.at(root, "is not a folder")
    visit(root)
    return sorted(found)


__all__ = ["kind_of", "require_regular", "open_regular", "read_bytes", "read_text",
           "is_readable_regular", "walk_files", "REGULAR", "FOLDER"]
