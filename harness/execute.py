"""One (variant, seed) trained in its own run folder, whatever happens: the unit of work that
every executor runs. A failure becomes a status record and ``error.txt``, never an exception
that stops the grid; an interrupt leaves status "running" and the steps flushed so far."""

from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path

import torch

from harness.config import Settings
from harness.data.tensors import EncodedData
from harness.encoders import resolve_encoder
from harness.instruments.suite import Instruments
from harness.io import atomic_write_json
from harness.records import StepRecords
from harness.results import ERROR_TXT, STATUS_JSON, run_fingerprint
from harness.train import HookChain, Hooks, train
from variants.registry import Variant


def run_one(data: EncodedData, variant: Variant, seed: int, settings: Settings, run_dir: Path,
            on_step=None, hooks: Hooks | None = None,
            tensorboard_dir: Path | None = None) -> dict:
    """Train one (variant, seed) in isolation; always returns a status record. With
    ``tensorboard_dir``, the run's events are written there while it trains (a path rather
    than a hook, so that it crosses into worker processes)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / ERROR_TXT).unlink(missing_ok=True)
    status = {"variant": variant.name, "seed": seed, "status": "running",
              "fingerprint": run_fingerprint(settings, variant),
              "design": variant.design.to_dict(), "started": time.time()}
    atomic_write_json(run_dir / STATUS_JSON, status)
    records = StepRecords(run_dir)
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
        if isinstance(exc, torch.OutOfMemoryError) and device.type == "cuda":
            torch.cuda.empty_cache()
        status.update(status="failed", message=f"{type(exc).__name__}: {exc}".strip(),
                      error_type=type(exc).__name__, final={})
        (run_dir / ERROR_TXT).write_text(traceback.format_exc(), encoding="utf-8")
        complete = True
    finally:
        records.close(complete=complete)
        status["finished"] = time.time()
        if live is not None:
            try:
                live.finish(status)
            except Exception as exc:  # the records are the result; a log is a copy of them
                status["log_error"] = f"tensorboard: {type(exc).__name__}: {exc}"
        atomic_write_json(run_dir / STATUS_JSON, status)
    return status
