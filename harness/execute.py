"""One (variant, seed) trained in its own run folder, whatever happens: the unit of work that
every executor runs. A failure of the design (an exception in the model, the loss, the
backward pass) becomes a status record and ``error.txt``, never an exception that stops the
grid: it is a finding, kept on rerun. A failure of the machine is not a finding: an interrupt
leaves status "running" and the steps flushed so far; a record that cannot be written (disk
full, read-only folder) stops the grid with a :class:`~harness.io.StorageError` naming the
path, and the run is retried by the next invocation."""

from __future__ import annotations

import dataclasses
import errno
import time
import traceback
from pathlib import Path

import torch

from harness.config import Settings
from harness.data.fingerprint import data_identity
from harness.data.tensors import EncodedData
from harness.encoders import resolve_encoder
from harness.instruments.suite import Instruments
from harness.io import TRANSIENT_STORAGE, StorageError, atomic_write_json, storage_error
from harness.records import StepRecords
from harness.results import (DESIGN, ERROR_TXT, INFRASTRUCTURE, STATUS_JSON, record_files,
                             run_fingerprint)
from harness.train import HookChain, Hooks, train
from variants.registry import Variant


def run_one(data: EncodedData, variant: Variant, seed: int, settings: Settings, run_dir: Path,
            on_step=None, hooks: Hooks | None = None,
            tensorboard_dir: Path | None = None) -> dict:
    """Train one (variant, seed) in isolation; returns a status record, or raises
    :class:`~harness.io.StorageError` when its records cannot be written. With
    ``tensorboard_dir``, the run's events are written there while it trains (a path rather
    than a hook, so that it crosses into worker processes)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / ERROR_TXT).unlink(missing_ok=True)
    except OSError as exc:
        raise storage_error(run_dir, exc) from exc
    status = {"variant": variant.name, "seed": seed, "status": "running",
              "fingerprint": run_fingerprint(settings, variant),
              "data": data_identity(data),    # a rerun on other data never keeps this run
              "design": variant.design.to_dict(), "started": time.time()}
    atomic_write_json(run_dir / STATUS_JSON, status)
    try:
        records = StepRecords(run_dir)
    except OSError as exc:
        raise storage_error(run_dir, exc) from exc
    lost_storage = None
    device = torch.device(settings.device)
    complete = False
    live = None
    try:
        if tensorboard_dir is not None:
            from harness.logs.tensorboard import LiveTensorBoard
            live = LiveTensorBoard(tensorboard_dir, records, variant.name, seed,
                                   status["design"], status["started"])
        # FLOPs per step are a property of the design (up to the first batch's padding): count
        # them in the grid's first seed only, not in every run.
        instruments = dataclasses.replace(
            settings.instruments,
            flops=settings.instruments.flops and seed == settings.seeds[0])
        hooks = HookChain([Instruments(instruments), live, hooks])
        result = train(data, variant.design, resolve_encoder(settings.encoder), settings.train,
                       seed, device, records, hooks=hooks, progress=on_step,
                       noise_salt=getattr(variant, "noise_salt", 0))
        status.update(status=result.status, message=result.message,
                      steps_done=result.steps_done, epochs_done=result.epochs_done,
                      diverged_at=result.diverged_at, train_seconds=result.train_seconds,
                      final=result.final, facts=result.facts)
        complete = True
    except KeyboardInterrupt:
        status.update(status="interrupted", message="interrupted by the user")
        raise
    except Exception as exc:  # isolation: one run's failure must not stop the grid
        if _is_storage_failure(exc):
            # the machine's failure, not the design's: no finding, retried on rerun
            lost_storage = storage_error(run_dir, exc)
            status.update(status="failed", failure=INFRASTRUCTURE, message=str(lost_storage),
                          final={})
        else:
            if isinstance(exc, torch.OutOfMemoryError) and device.type == "cuda":
                torch.cuda.empty_cache()
            status.update(status="failed", failure=DESIGN,
                          message=f"{type(exc).__name__}: {exc}".strip(),
                          error_type=type(exc).__name__, final={})
            _write_error(run_dir / ERROR_TXT, traceback.format_exc())
            complete = True
    finally:
        try:
            records.close(complete=complete)
        except OSError as exc:
            lost_storage = lost_storage or storage_error(run_dir, exc)
            status.update(status="failed", failure=INFRASTRUCTURE, message=str(lost_storage))
        status["finished"] = time.time()
        if complete and lost_storage is None:
            # what the report checks the run's files against: damage after the run is named
            status["files"] = record_files(run_dir)
        if live is not None:
            try:
                live.finish(status)
            except Exception as exc:  # the records are the result; a log is a copy of them
                status["log_error"] = f"tensorboard: {type(exc).__name__}: {exc}"
        atomic_write_json(run_dir / STATUS_JSON, status)
    if lost_storage is not None:
        raise lost_storage
    return status


#: OSErrors that come from writing records, not from the design's code
_STORAGE_ERRNOS = (*TRANSIENT_STORAGE, errno.EROFS, errno.EACCES)


def _is_storage_failure(exc: BaseException) -> bool:
    return isinstance(exc, StorageError) or (isinstance(exc, OSError)
                                             and exc.errno in _STORAGE_ERRNOS)


def _write_error(path: Path, text: str) -> None:
    """``error.txt``; a traceback that cannot be written loses a detail, not the finding."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError:
        pass
