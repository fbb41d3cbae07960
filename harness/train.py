"""Training one (variant, seed): a flat loop in the manner of nanoGPT.

get a batch -> forward -> loss -> backward (the design's strategy) -> clip -> optimizer step
-> record; at every epoch's end: validation, then the epoch schedulers. Instruments attach at
named points (``after_backward``, ``after_clip``, ``after_step``) through :class:`Hooks`; with
the default no-op hooks this is the bare step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from harness.backward import BACKWARDS
from harness.data.tensors import EncodedData, design_targets
from harness.design import Design
from harness.encoders import EncoderSpec, build_encoder
from harness.evaluation import evaluate, split_targets
from harness.losses import LOSSES
from harness.model.agent import AgentModel
from harness.records import StepRecords
from harness.schedules import EpochSchedulers
from harness.seeding import batch_order, derive_seed, seeded

LOSS_TERMS = ("action", "query", "coord", "total")


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    eval_every: int = 0          # extra evaluations every N steps; 0: at epoch ends and the end
    query_steps: int = 32


@dataclass
class RunResult:
    status: str                  # "ok" or "diverged"
    steps_done: int
    epochs_done: int
    final: dict = field(default_factory=dict)
    diverged_at: int | None = None
    message: str = ""
    train_seconds: float = 0.0


class Hooks:
    """Named attachment points of the loop; the base class does nothing (the bare step)."""

    def on_start(self, run: "Run") -> None: ...
    def after_backward(self, run: "Run", step: int, batch: dict, outputs: dict, losses: dict,
                       skipped: list[str]) -> None: ...
    def after_clip(self, run: "Run", step: int, grad_norm: torch.Tensor) -> None: ...
    def after_step(self, run: "Run", step: int) -> None: ...
    def on_end(self, run: "Run") -> None: ...


def build_model(data: EncodedData, design: Design, spec: EncoderSpec, seed: int,
                query_steps: int) -> AgentModel:
    with seeded(seed, "encoder"):
        encoder = build_encoder(spec, data.vocab_size)
    return AgentModel(encoder, design, data.vocab_size, query_steps, seed)


@dataclass
class Run:
    """What the loop and its hooks share for one (variant, seed)."""

    data: EncodedData
    design: Design
    settings: TrainSettings
    seed: int
    device: torch.device
    model: AgentModel
    optimizer: torch.optim.Optimizer
    records: StepRecords


def clip_or_measure(parameters: list, clip_norm: float | None) -> torch.Tensor:
    """The global gradient norm before clipping; clips in place when the design clips."""
    if clip_norm is not None:
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm=clip_norm)
    grads = [p.grad for p in parameters if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def weights_finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def train(data: EncodedData, design: Design, spec: EncoderSpec, settings: TrainSettings,
          seed: int, device: torch.device, records: StepRecords, hooks: Hooks | None = None,
          progress=None) -> RunResult:
    hooks = hooks or Hooks()
    model = build_model(data, design, spec, seed, settings.query_steps).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    schedulers = EpochSchedulers(optimizer, design.warmup)
    loss_fn, backward_fn = LOSSES[design.loss], BACKWARDS[design.backward]
    parameters = list(model.parameters())
    val_targets = split_targets(data.val, data.units)
    run = Run(data, design, settings, seed, device, model, optimizer, records)
    # Dropout draws from the global RNG: seed it identically for every variant.
    torch.manual_seed(derive_seed(seed, "dropout"))
    sync_every = 1 if device.type == "cpu" else 25

    def validate(step: int) -> dict:
        metrics = evaluate(model, data.val, val_targets, data.units, data.tokenizer,
                           settings.batch_size, device)
        records.add_many(step, {f"val/{k}": v for k, v in metrics.items()})
        records.flush()
        return metrics

    hooks.on_start(run)
    start = time.perf_counter()
    step, epoch, last_eval_step, metrics = 0, 0, -1, {}
    while step < settings.steps:
        order = batch_order(len(data.train), seed, epoch)
        for index in order.split(settings.batch_size):
            if step >= settings.steps:
                break
            t0 = time.perf_counter()
            batch = {k: v.to(device, non_blocking=True) for k, v in data.train.batch(index).items()}
            model.train()
            optimizer.zero_grad(set_to_none=True)
            outputs = model(batch["input_ids"], batch["attention_mask"])
            targets = {**batch, **design_targets(batch, data.units, design.coord_units)}
            losses = loss_fn(outputs, targets)
            skipped = backward_fn(losses)
            hooks.after_backward(run, step, batch, outputs, losses, skipped)
            grad_norm = clip_or_measure(parameters, design.clip_norm)
            hooks.after_clip(run, step, grad_norm)
            lr = schedulers.lr()
            optimizer.step()
            hooks.after_step(run, step)

            records.add_many(step, {f"loss/{t}": losses[t].detach() for t in LOSS_TERMS})
            records.add_many(step, {"lr": lr, "grad_norm": grad_norm.detach(),
                                    "step_time_s": time.perf_counter() - t0})
            if design.clip_norm is not None:
                records.add(step, "clipped", (grad_norm > design.clip_norm).float())
            for term in skipped:
                records.add(step, f"skipped/{term}", 1.0)
            step += 1

            if step % sync_every == 0 or step == settings.steps:
                flushed = records.flush()
                if any(m == "grad_norm" and not math.isfinite(v) for _, m, v in flushed):
                    if not weights_finite(model):
                        first = min(s for s, m, v in flushed
                                    if m == "grad_norm" and not math.isfinite(v))
                        hooks.on_end(run)
                        return RunResult("diverged", step, epoch, metrics, diverged_at=first,
                                         message=f"weights became non-finite after a "
                                                 f"non-finite gradient at step {first}",
                                         train_seconds=time.perf_counter() - start)
                if progress is not None:
                    progress(step, {t: records.last(f"loss/{t}") for t in LOSS_TERMS})
            if settings.eval_every and step % settings.eval_every == 0:
                metrics, last_eval_step = validate(step), step
        else:
            # A full pass over the training set: the user's trainer validates and steps its
            # schedulers here.
            metrics, last_eval_step = validate(step), step
            schedulers.end_epoch(metrics["val_loss"])
            epoch += 1
    if last_eval_step != step:
        metrics = validate(step)
    hooks.on_end(run)
    return RunResult("ok", step, epoch, metrics, train_seconds=time.perf_counter() - start)
