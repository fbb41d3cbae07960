"""Where the grid's (variant, seed) runs execute: in this process one after the other, or in
parallel worker processes (``--jobs N``). Runs are independent and seeded by name, so the
executor changes wall time only; each worker uses ``threads`` CPU threads.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing import connection
from pathlib import Path

import torch

from harness.errors import RunsToRetry
from harness.execute import run_one
from harness.io import StorageError, atomic_write_bytes, atomic_write_json
from harness.results import INFRASTRUCTURE, STATUS_JSON, run_fingerprint
from variants.registry import Variant


@dataclass(frozen=True)
class RunTask:
    index: int
    variant: Variant
    seed: int
    run_dir: Path
    tensorboard_dir: Path | None = None    # --log tensorboard: this run's events folder


class SequentialExecutor:
    def __init__(self, threads: int | None = None):
        self.threads = threads

    def run(self, tasks, data, settings, progress, hooks_factory=None):
        if self.threads:
            torch.set_num_threads(self.threads)
        for task in tasks:
            progress.start_run(task.index, task.variant.name, task.seed)
            hooks = hooks_factory(task.variant, task.seed) if hooks_factory else None
            status = run_one(data, task.variant, task.seed, settings, task.run_dir,
                             lambda step, losses, i=task.index: progress.on_step(i, step, losses),
                             hooks, task.tensorboard_dir)
            progress.end_run(task.index, status)
            yield status


# --------------------------------------------------------------------------- worker processes

def death_message(exitcode: int | None) -> str:
    """What a run whose worker died is recorded with: the death is a fact about the machine
    (killed, out of memory), not about the design, so the next invocation retries the run."""
    if exitcode is None:
        return "worker died: no exit code"
    if exitcode < 0:
        try:
            name = f" ({signal.Signals(-exitcode).name})"
        except ValueError:
            name = ""
        return f"worker died: signal {-exitcode}{name}"
    return f"worker died: exit code {exitcode}"


PR_SET_PDEATHSIG = 1          # <linux/prctl.h>
PARENT_POLL_SECONDS = 1.0


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose parent is gone has no one to report to: it must not go on writing into
    the output folder (a rerun may already hold it). On Linux the kernel kills it
    (PR_SET_PDEATHSIG); elsewhere, and as a fallback, a thread polls the parent's pid."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(PARENT_POLL_SECONDS)

    if os.getppid() != parent_pid:      # the parent died before the kernel was told
        os._exit(1)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _worker_main(conn, data, settings, threads: int, parent_pid: int) -> None:
    """One worker process: runs the tasks its parent sends, one at a time, and reports each
    run's start, steps and status back through ``conn``; ``None`` asks it to stop."""
    # Ctrl-C reaches the whole process group: the parent decides, and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent_pid)
    torch.set_num_threads(threads)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        # sent before the run's folder is touched: a death after it is the run's
        conn.send(("start", task.index, task.variant.name, task.seed))
        try:
            status = run_one(data, task.variant, task.seed, settings, task.run_dir,
                             lambda step, losses, i=task.index: conn.send(("step", i, step,
                                                                            losses)),
                             tensorboard_dir=task.tensorboard_dir)
        except StorageError as exc:
            conn.send(("storage", task.index, exc))
            return
        except Exception as exc:  # outside the run itself (its isolation is run_one's)
            conn.send(("crash", task.index, f"{type(exc).__name__}: {exc}"))
            return
        conn.send(("end", task.index, status))


@dataclass
class _Worker:
    process: object
    conn: object
    task: RunTask | None = None     # the run it was sent and has not reported back
    started: bool = False           # it said it started ``task`` (else ``task`` can go back)
    stopping: bool = False          # told there is no more work, or failed: it exits


#: Workers that die before starting any run, in a row, before the grid gives up: something
#: kills every new process (no memory even for the data), and respawning would never end.
MAX_DEATHS_AT_START = 3


class ProcessExecutor:
    """Runs tasks in ``jobs`` spawned processes (spawn, not fork: forking a process that holds
    OpenMP threads can deadlock). The data set is sent to each worker once.

    A worker that dies (a signal, the out-of-memory killer) takes only the run it held with
    it: that run is recorded as failed with the cause, as an infrastructure failure that the
    next invocation retries, and a new worker takes over the runs not yet started. (A
    ``ProcessPoolExecutor`` cannot do this: one dead worker breaks the whole pool and fails
    every queued run, and it cannot tell which run the dead worker held.) Workers exit when
    this process dies, however it dies."""

    def __init__(self, jobs: int, threads: int = 1):
        self.jobs = jobs
        self.threads = threads

    def run(self, tasks, data, settings, progress, hooks_factory=None):
        if hooks_factory is not None:
            raise ValueError("hooks run in this process only: use the sequential executor")
        context = multiprocessing.get_context("spawn")
        queue = deque(tasks)
        workers: list[_Worker] = []
        self._deaths_at_start = 0

        def start_workers():
            active = sum(not w.stopping for w in workers)
            for _ in range(min(self.jobs - active, len(queue))):
                parent, child = context.Pipe()
                process = context.Process(
                    target=_worker_main, name="harness-worker", daemon=True,
                    args=(child, data, settings, self.threads, os.getpid()))
                process.start()
                child.close()
                workers.append(_Worker(process, parent))

        try:
            start_workers()
            while True:
                for worker in workers:
                    if worker.task is None and not worker.stopping:
                        worker.task = queue.popleft() if queue else None
                        worker.stopping = worker.task is None
                        worker.started = False
                        try:
                            worker.conn.send(worker.task)
                        except OSError:     # already dead: its sentinel says so below
                            pass
                busy = [w for w in workers if w.task is not None]
                if not busy:
                    break
                connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
                for worker in busy:
                    yield from self._drain(worker, progress, settings)
                    if worker.process.is_alive():
                        continue
                    yield from self._drain(worker, progress, settings)   # its last words
                    workers.remove(worker)
                    worker.process.join(1)
                    worker.conn.close()
                    task, worker.task = worker.task, None
                    if task is None:
                        continue
                    cause = death_message(worker.process.exitcode)
                    if worker.started:
                        status = _failed_status(task, settings, cause)
                        progress.end_run(task.index, status)
                        yield status
                    else:           # died before it began the run: not the run's fault
                        queue.appendleft(task)
                        self._deaths_at_start += 1
                        if self._deaths_at_start > MAX_DEATHS_AT_START:
                            raise RunsToRetry(
                                f"{self._deaths_at_start} worker processes in a row died before "
                                f"starting a run ({cause}); {len(queue)} run(s) not started. "
                                "Rerun the same command (finished runs are kept), with "
                                "fewer --jobs if memory is short")
                start_workers()     # in place of the dead and the failed, while work is left
        except BaseException:
            # Interrupted (or a record could not be written): stop the workers now rather
            # than wait for their runs to finish. Their unfinished runs keep status
            # "running" and the steps flushed so far, and are recomputed by the next run.
            for worker in workers:
                worker.process.terminate()
            raise
        finally:
            for worker in workers:
                worker.process.join(5)
                if worker.process.is_alive():
                    worker.process.kill()
                    worker.process.join(5)
                worker.conn.close()

    def _drain(self, worker: _Worker, progress, settings):
        """The statuses of the runs ``worker`` finished, from every message it has sent so
        far; progress messages go to the bar, a storage error is raised here."""
        while worker.task is not None:
            try:
                if not worker.conn.poll():
                    return
                message = worker.conn.recv()
            except (EOFError, OSError):     # it died, perhaps while sending: its sentinel tells
                return
            kind, index, *rest = message
            if kind == "start":
                worker.started = True
                self._deaths_at_start = 0       # new workers do come up and work
                progress.start_run(index, *rest)
            elif kind == "step":
                progress.on_step(index, *rest)
            elif kind == "storage":
                raise rest[0]
            else:
                task, worker.task = worker.task, None
                if kind == "end":
                    status = rest[0]
                else:       # it failed outside the run and exits: a new worker takes over
                    worker.stopping = True
                    status = _failed_status(task, settings,
                                            f"worker failed outside the run: {rest[0]}")
                progress.end_run(index, status)
                yield status


# --------------------------------------------------------------------------- Ray

def run_remote(data, settings, task: RunTask) -> dict:
    """A Ray task: train one (variant, seed) in a scratch folder on whichever node runs it and
    send the run's files back, so the driver's output folder gets them with or without a
    shared file system. Its TensorBoard events are written by the driver, from those files
    (:meth:`RayExecutor.run`), not here: a worker's folder may be on another machine."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="harness-run-") as scratch:
        status = run_one(data, task.variant, task.seed, settings, Path(scratch))
        files = {p.name: p.read_bytes() for p in Path(scratch).iterdir() if p.is_file()}
    return {"status": status, "files": files}


class RayExecutor:
    """Each (variant, seed) is a Ray task (one GPU each when the run uses CUDA). A task that
    fails or is lost (its worker or node died) is retried once, then recorded as failed."""

    def __init__(self, address: str | None = None, threads: int = 1, task_fn=run_remote):
        self.address = address
        self.threads = threads
        self.task_fn = task_fn

    def run(self, tasks, data, settings, progress, hooks_factory=None):
        if hooks_factory is not None:
            raise ValueError("hooks run in this process only: use the sequential executor")
        try:
            import ray
        except ImportError:
            from harness.errors import HarnessInputError
            raise HarnessInputError("--executor ray needs Ray: pip install 'ray' (or "
                                    "pip install -e '.[ray]')") from None
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        try:
            gpus = 1 if settings.device == "cuda" else 0
            remote = ray.remote(num_cpus=self.threads, num_gpus=gpus, max_retries=1,
                                retry_exceptions=True)(self.task_fn)
            data_ref, settings_ref = ray.put(data), ray.put(settings)
            pending = {}
            for task in tasks:
                progress.start_run(task.index, task.variant.name, task.seed)
                pending[remote.remote(data_ref, settings_ref, task)] = task
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(ready[0])
                try:
                    status = _write_back(ray.get(ready[0]), task.run_dir)
                except Exception as exc:  # retried once by Ray already: record and go on
                    status = _failed_status(task, settings, f"Ray task failed twice: "
                                                            f"{type(exc).__name__}: {exc}")
                if task.tensorboard_dir is not None:
                    _events_from_records(task)
                progress.end_run(task.index, status)
                yield status
        finally:
            if started_here:
                ray.shutdown()


def _events_from_records(task: RunTask) -> None:
    """A Ray run's events, written once its records are back in the driver's output folder
    (so under Ray, TensorBoard shows each run when it ends, not while it trains)."""
    from harness.logs.tensorboard import export_run
    try:
        export_run(task.run_dir, task.tensorboard_dir, task.variant.name, task.seed,
                   task.variant.design.to_dict())
    except Exception as exc:  # the records are the result; a log is a copy of them
        import sys
        print(f"warning: no TensorBoard events for {task.variant.name} seed {task.seed} "
              f"({type(exc).__name__}: {exc}); --export-logs writes them later",
              file=sys.stderr)


def _write_back(payload: dict, run_dir: Path) -> dict:
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, content in payload["files"].items():
        if name != STATUS_JSON:
            atomic_write_bytes(run_dir / name, content)
    atomic_write_bytes(run_dir / STATUS_JSON, payload["files"][STATUS_JSON])  # last: done
    return payload["status"]


def _failed_status(task: RunTask, settings, message: str) -> dict:
    """The record of a run lost to the machine (its worker died, its task was lost): failed,
    as an infrastructure failure, which the next invocation retries."""
    status = {"variant": task.variant.name, "seed": task.seed, "status": "failed",
              "failure": INFRASTRUCTURE, "message": message,
              "fingerprint": run_fingerprint(settings, task.variant), "final": {}}
    task.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(task.run_dir / STATUS_JSON, status)
    return status


EXECUTORS = ("local", "ray")


def make_executor(jobs: int, threads: int | None, kind: str = "local",
                  ray_address: str | None = None):
    if kind == "ray":
        return RayExecutor(ray_address, threads or 1)
    if kind != "local":
        raise ValueError(f"unknown executor {kind!r}; expected one of {EXECUTORS}")
    if jobs <= 1:
        return SequentialExecutor(threads)
    return ProcessExecutor(jobs, threads or 1)
