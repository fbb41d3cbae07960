"""Generated file-system inputs, for each format and for detection: zero-byte files, dangling
symlinks, symlink loops, FIFOs, sockets, folders named like data files, unreadable files and
folders, a damaged ``dataset.json``, empty and missing paths. Each must be an error naming the
path at fault (a FIFO must never be opened: a reader would wait on it forever), except a
symlink to a valid file, which reads like the file.

Unreadable paths: permission bits stop no one running as root (as CI containers often do), so
there the case makes ``os.open`` and ``os.listdir`` refuse that path with EACCES, which is what
the kernel answers anyone else."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from unittest import mock

from harness.data.formats import read_dataset
from tests.conftest import SCREEN
from tests.fuzz import aitz_cases, jsontext, tfrecord_cases, user_json_cases
from tests.fuzz.invariants import broken_rule, equals
from tests.fuzz.runner import ERROR, READ, Attempt, Case

FAMILY = "file-system"


class Format:
    def __init__(self, name, data_format, filename, data: bytes, units, screen, steps):
        self.name, self.data_format, self.filename = name, data_format, filename
        self.data, self.units, self.screen, self.steps = data, units, screen, steps

    def read(self, path):
        return lambda: read_dataset(path, self.data_format, self.units, self.screen)


def formats() -> list[Format]:
    user = jsontext.dumps(user_json_cases.BASE)
    aitz = aitz_cases.SAMPLE.read_bytes()
    tfr = tfrecord_cases.stream(tfrecord_cases.RECORDS)
    out = []
    for detect in (False, True):
        tag = " (detected)" if detect else ""
        out += [
            Format("user-json" + tag, None if detect else "user-json", "episodes.json", user,
                   "pixel", SCREEN, user_json_cases.STEPS),
            Format("aitz" + tag, None if detect else "aitz", "episode.json", aitz, None,
                   aitz_cases.SCREEN, aitz_cases.STEPS),
            Format("aitw-tfrecord" + tag, None if detect else "aitw-tfrecord",
                   "shard.tfrecord", tfr, None, None, tfrecord_cases._steps()),
        ]
    return out


@contextlib.contextmanager
def unreadable(path: Path):
    """``path`` cannot be opened or listed, for root too."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0)
        try:
            yield
        finally:
            path.chmod(stat.S_IMODE(mode))
        return
    denied = os.fspath(path)
    real_open, real_listdir = os.open, os.listdir

    def refuse(target, *args, **kwargs):
        if os.fspath(target) == denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), denied)
        return (real_listdir if refuse.listing else real_open)(target, *args, **kwargs)

    def fake_open(target, *args, **kwargs):
        refuse.listing = False
        return refuse(target, *args, **kwargs)

    def fake_listdir(target=".", *args, **kwargs):
        refuse.listing = True
        return refuse(target, *args, **kwargs)

    with mock.patch("os.open", fake_open), mock.patch("os.listdir", fake_listdir):
        yield


def _case(fmt: Format, name: str, build, expect: str = ERROR, deny: str | None = None) -> Case:
    """``build(folder, fmt)`` makes the input and returns ``(path to read, path to blame)``."""
    def make(folder: Path) -> Attempt:
        path, blame = build(folder, fmt)
        read = fmt.read(path)
        if deny is not None:
            denied = folder / deny

            def read():   # noqa: F811 - the same read, with one path refused
                with unreadable(denied):
                    return fmt.read(path)()
        check = equals(fmt.steps) if expect == READ else broken_rule
        return Attempt(read, str(blame), check)
    return Case(FAMILY, f"{fmt.name}: {name}", expect, make)


def _valid_folder(folder: Path, fmt: Format) -> Path:
    data = folder / "data"
    data.mkdir()
    (data / fmt.filename).write_bytes(fmt.data)
    return data


def _with(entry_name: str, make_entry):
    """A valid folder plus one odd entry; the error must name that entry."""
    def build(folder, fmt):
        data = _valid_folder(folder, fmt)
        make_entry(data / entry_name.format(name=fmt.filename), fmt)
        return data, data / entry_name.format(name=fmt.filename)
    return build


def _as_path(make_entry):
    """The odd entry itself is the path read."""
    def build(folder, fmt):
        path = folder / fmt.filename
        make_entry(path, fmt)
        return path, path
    return build


def _zero(path, fmt):
    path.write_bytes(b"")


def _dangling(path, fmt):
    path.symlink_to(path.parent / "gone")


def _loop(path, fmt):
    path.symlink_to(path)


def _fifo(path, fmt):
    os.mkfifo(path)


def _socket(path, fmt):
    os.mknod(path, stat.S_IFSOCK | 0o600)


def _folder(path, fmt):
    path.mkdir()
    (path / "inner.txt").write_text("x")


def _file(path, fmt):
    path.write_bytes(fmt.data)


def cases_for(fmt: Format) -> list[Case]:
    sibling = "more-{name}"        # a second data file's name, next to the valid one
    cases = [
        _case(fmt, "zero-byte file", _as_path(_zero)),
        _case(fmt, "zero-byte file in a folder", _with(sibling, _zero)),
        _case(fmt, "dangling symlink", _as_path(_dangling)),
        _case(fmt, "dangling symlink in a folder", _with(sibling, _dangling)),
        _case(fmt, "dangling symlink without extension in a folder", _with("shard-1", _dangling)),
        _case(fmt, "symlink loop", _as_path(_loop)),
        _case(fmt, "symlink loop in a folder", _with(sibling, _loop)),
        _case(fmt, "FIFO", _as_path(_fifo)),
        _case(fmt, "FIFO in a folder", _with(sibling, _fifo)),
        _case(fmt, "FIFO without extension in a folder", _with("shard-1", _fifo)),
        _case(fmt, "socket in a folder", _with(sibling, _socket)),
        _case(fmt, "unreadable file", _as_path(_file), deny=fmt.filename),
        _case(fmt, "unreadable file in a folder", _with(sibling, _file),
              deny=f"data/more-{fmt.filename}"),
        _case(fmt, "unreadable subfolder", _with("sub", _folder), deny="data/sub"),
        _case(fmt, "folder reached twice through a symlink", _folder_twice),
        _case(fmt, "symlink to its own folder", _self_link),
        _case(fmt, "empty folder", _empty_folder),
        _case(fmt, "missing path", lambda folder, fmt: (folder / "missing", folder / "missing")),
        _case(fmt, "dataset.json is a folder", _with("dataset.json", _folder)),
        _case(fmt, "dataset.json is a FIFO", _with("dataset.json", _fifo)),
        _case(fmt, "dataset.json is a dangling symlink", _with("dataset.json", _dangling)),
        _case(fmt, "symlink to a valid file", _symlink_to_valid, expect=READ),
    ]
    if fmt.filename.endswith(".json"):
        cases.append(_case(fmt, "folder named *.json", _with("more.json", _folder)))
    return cases


def _folder_twice(folder, fmt):
    data = _valid_folder(folder, fmt)
    (data / "again").symlink_to(data)
    return data, data / "again"


def _self_link(folder, fmt):
    data = _valid_folder(folder, fmt)
    (data / "sub").mkdir()
    (data / "sub" / "up").symlink_to(data / "sub")
    return data, data / "sub" / "up"


def _empty_folder(folder, fmt):
    data = folder / "data"
    data.mkdir()
    return data, data


def _symlink_to_valid(folder, fmt):
    target = folder / ("real-" + fmt.filename)
    target.write_bytes(fmt.data)
    link = folder / fmt.filename
    link.symlink_to(target)
    return link, link


def cases() -> list[Case]:
    return [case for fmt in formats() for case in cases_for(fmt)]


__all__ = ["cases", "FAMILY", "unreadable"]
