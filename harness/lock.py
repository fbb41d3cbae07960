"""One writer per output folder: a command that writes records (a grid, a search, a report, a
log export) holds an exclusive lock on a file in the output folder for as long as it runs.

Two processes writing the same run folders interleave their lines and replace each other's
files mid-read, and the folder is then unreadable for good; the second process is refused at
once instead, with the holder named. The lock is ``flock(2)`` on the lock file: the kernel
releases it when its holder dies, however it dies, so a lock left by a killed process is simply
free to take. The holder's pid, host, command and start time are written into the file so a
refused process can say who holds it; a clean exit empties the file, so finding it non-empty
when taking the lock means the previous holder was killed (a stale lock, taken over).

Re-entrant within one process: the CLI takes the lock for the whole command and the grid
runner (called once per search round or look) takes it again without blocking on itself.
Worker processes do not inherit it (Python's descriptors are not inheritable, and workers are
spawned), and they exit with their parent (:mod:`harness.executors`), so a folder whose holder
was killed has no writer left when the lock is taken over.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import socket
import sys
import time
from pathlib import Path

from harness.errors import HarnessInputError
from harness.io import storage_error

try:
    import fcntl
except ImportError:      # not POSIX: no advisory locks; every command proceeds unguarded
    fcntl = None

LOCK_FILE = ".harness.lock"

#: resolved output folder -> [open lock file, depth], for the locks this process holds
_HELD: dict[Path, list] = {}


class OutputLocked(HarnessInputError):
    """Another live process writes into the same output folder."""


def describe_holder(info: dict) -> str:
    started = info.get("started")
    when = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
            if isinstance(started, (int, float)) else "an unknown time")
    return (f"pid {info.get('pid', '?')} on {info.get('host', '?')} since {when} "
            f"({info.get('command') or 'unknown command'})")


def read_holder(folder) -> dict | None:
    """What the lock file says about its (current or last, killed) holder; None if empty."""
    try:
        text = (Path(folder) / LOCK_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    try:
        info = json.loads(text) if text.strip() else None
    except ValueError:
        return {"command": "unreadable lock file"}
    return info if isinstance(info, dict) else None


@contextlib.contextmanager
def output_lock(folder, command: str | None = None, *, create: bool = True, warn=None):
    """Hold the output folder ``folder`` for this process while the block runs; an
    :class:`OutputLocked` error naming the holder when another process holds it. ``create``:
    make the folder if it does not exist (a grid); without it a missing folder is left for
    the caller to report (``--report-only`` of a wrong path) and nothing is locked.
    ``warn``: called with a line when a lock left by a killed process is taken over."""
    folder = Path(folder)
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(folder, exc) from exc
    elif not folder.is_dir():
        yield
        return
    key = folder.resolve()
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    if fcntl is None:
        yield
        return
    try:
        handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")
    except OSError as exc:
        raise storage_error(folder / LOCK_FILE, exc) from exc
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(folder)
            raise OutputLocked(
                f"{folder} is in use by another process: "
                + (describe_holder(holder) if holder else "its holder has not yet written "
                   "its name")
                + f" (lock file {folder / LOCK_FILE}); wait for it to finish or choose "
                  "another --out") from None
        stale = read_holder(folder)
        if stale and warn is not None:
            warn(f"note: {folder} was left locked by a process that did not finish "
                 f"({describe_holder(stale)}); taking the lock over")
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "command": command or " ".join(sys.argv),
                                     "started": time.time()}))
            handle.flush()
        except OSError as exc:
            raise storage_error(folder / LOCK_FILE, exc) from exc
        _HELD[key] = [handle, 1]
        try:
            yield
        finally:
            del _HELD[key]
            # emptied before the unlock: a non-empty file found later means a killed holder
            try:
                handle.seek(0)
                handle.truncate()
                handle.flush()
            except OSError:     # a full disk: the next holder only sees a stale note
                pass
    finally:
        # closing the last descriptor releases the flock; on a full disk the close retries
        # the buffered write and fails again, which must not hide the error being raised
        with contextlib.suppress(OSError):
            handle.close()


def locks_output(parameter: str = "out"):
    """A decorator: the wrapped function holds the lock of the output folder passed as its
    argument ``parameter`` while it runs (re-entrant: free when the caller holds it)."""
    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args, **kwargs):
            folder = signature.bind(*args, **kwargs).arguments[parameter]
            with output_lock(folder):
                return function(*args, **kwargs)
        return locked
    return decorate
