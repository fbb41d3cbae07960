"""Where the grid's (variant, seed) runs execute: in this process one after the other, or in
parallel worker processes (``--jobs N``). Runs are independent and seeded by name, so the
executor changes wall time only; each worker uses ``threads`` CPU threads.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import torch

from harness.execute import run_one
from harness.io import atomic_write_bytes, atomic_write_json
from harness.results import STATUS_JSON, run_fingerprint
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

_WORKER: dict = {}


def _init_worker(data, settings, threads: int, updates) -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)
    _WORKER.update(data=data, settings=settings, updates=updates)


def _run_in_worker(task: RunTask) -> dict:
    updates = _WORKER["updates"]
    updates.put(("start", task.index, task.variant.name, task.seed))

    def on_step(step, losses):
        updates.put(("step", task.index, step, losses))

    return run_one(_WORKER["data"], task.variant, task.seed, _WORKER["settings"], task.run_dir,
                   on_step, tensorboard_dir=task.tensorboard_dir)


class ProcessExecutor:
    """Runs tasks in ``jobs`` spawned processes (spawn, not fork: forking a process that holds
    OpenMP threads can deadlock). The data set is sent to each worker once."""

    def __init__(self, jobs: int, threads: int = 1):
        self.jobs = jobs
        self.threads = threads

    def run(self, tasks, data, settings, progress, hooks_factory=None):
        if hooks_factory is not None:
            raise ValueError("hooks run in this process only: use the sequential executor")
        context = multiprocessing.get_context("spawn")
        manager = context.Manager()
        updates = manager.Queue()
        listener = threading.Thread(target=_relay, args=(updates, progress), daemon=True)
        listener.start()
        pool = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_init_worker,
                                   initargs=(data, settings, self.threads, updates))
        try:
            pending = {pool.submit(_run_in_worker, task): task for task in tasks}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    status = _status_of(future, task, settings)
                    updates.put(("end", task.index, status))
                    yield status
        except BaseException:
            # Interrupted: stop the workers now rather than wait for their runs to finish.
            # Their unfinished runs keep status "running" and the steps flushed so far, and
            # are recomputed by the next run.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        else:
            pool.shutdown(wait=True)
        finally:
            try:
                updates.put(None)
            except (EOFError, OSError, BrokenPipeError):
                pass
            listener.join(timeout=5)
            manager.shutdown()


def _status_of(future, task: RunTask, settings) -> dict:
    """A worker that died (killed, out of memory) leaves no status of its own: record one."""
    try:
        return future.result()
    except Exception as exc:  # the process pool itself broke
        return _failed_status(task, settings,
                              f"worker process failed: {type(exc).__name__}: {exc}")


def _relay(updates, progress) -> None:
    """Forward workers' progress messages to the bar in this process."""
    while True:
        try:
            message = updates.get(timeout=0.5)
        except queue_module.Empty:
            continue
        except (EOFError, OSError):
            return
        if message is None:
            return
        kind, index, *rest = message
        if kind == "start":
            progress.start_run(index, *rest)
        elif kind == "step":
            progress.on_step(index, *rest)
        else:
            progress.end_run(index, *rest)


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
    status = {"variant": task.variant.name, "seed": task.seed, "status": "failed",
              "message": message, "fingerprint": run_fingerprint(settings, task.variant),
              "final": {}}
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
