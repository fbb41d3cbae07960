"""Training one (variant, seed): a flat loop in the manner of nanoGPT.

get a batch -> forward -> loss -> backward (the design's strategy) -> clip -> optimizer step
-> record -> a per-step warmup, if the design has one; at every epoch's end: validation, then
the epoch schedulers. Instruments attach at
named points (``after_backward``, ``after_clip``, ``after_step``) through :class:`Hooks`; with
the default no-op hooks this is the bare step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property

import torch

from harness.axes import AxisRegistry
from harness.backward import design_backward
from harness.data.tensors import EncodedData, episode_column
from harness.design import Design
from harness.encoders import EncoderSpec, build_encoder
from harness.evaluation import evaluate, split_targets
from harness.forward import forward_and_loss
from harness.losses import head_weights
from harness.model.agent import AgentModel
from harness.io import atomic_write_csv
from harness.records import StepRecords
from harness.results import HELDOUT_SCORES, SELECTION_SCORES
from harness.schema import LOSS_TERMS
from harness.schedules import EpochSchedulers
from harness.seeding import batch_order, bucketed_batches, derive_seed, seeded



@dataclass(frozen=True)
class TrainSettings:
    steps: int = 200             # the CLI sets it from --epochs (default 20) or --steps
    batch_size: int = 16
    # 2e-3 for the randomly initialised tiny encoder: at 140 steps it learned more than 1e-3
    # on three of four variants tried (README "Default budget"); pretrained encoders: 5e-5.
    lr: float = 2e-3
    weight_decay: float = 0.01
    eval_every: int = 0          # extra evaluations every N steps; 0: at epoch ends and the end
    trim_padding: bool = True    # pad each batch to its longest prompt, not to max_length
    precision: str = "fp32"      # "bf16": autocast forward, loss in fp32 (harness.precision)
    bucket_by_length: bool = False   # batches of similar length (same for every variant)


@dataclass
class RunResult:
    status: str                  # "ok" or "diverged"
    steps_done: int
    epochs_done: int
    final: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    diverged_at: int | None = None
    message: str = ""
    train_seconds: float = 0.0


class Hooks:
    """Named attachment points of the loop; the base class does nothing (the bare step)."""

    def on_start(self, run: "Run") -> None: ...
    def on_step_start(self, run: "Run", step: int, batch: dict) -> None: ...
    def after_loss(self, run: "Run", step: int, batch: dict, outputs: dict,
                   losses: dict) -> None: ...
    def after_backward(self, run: "Run", step: int, batch: dict, outputs: dict, losses: dict,
                       skipped: list[str]) -> None: ...
    def after_clip(self, run: "Run", step: int, grad_norm: torch.Tensor) -> None: ...
    def after_step(self, run: "Run", step: int) -> None: ...
    def before_flush(self, run: "Run") -> None: ...
    def after_flush(self, run: "Run", rows: list) -> None: ...
    def on_end(self, run: "Run") -> None: ...


class HookChain(Hooks):
    """Several hooks attached at once, called in order at every attachment point."""

    def __init__(self, hooks: list[Hooks | None]):
        self.hooks = [h for h in hooks if h is not None]


def _chained(point: str):
    def call(self, *args):
        for hook in self.hooks:
            getattr(hook, point)(*args)
    call.__name__ = call.__qualname__ = point
    return call


# Derived from Hooks, so that a new attachment point cannot be forgotten in the chain.
for _point in [name for name in vars(Hooks) if not name.startswith("_")]:
    setattr(HookChain, _point, _chained(_point))


def build_model(data: EncodedData, design: Design, spec: EncoderSpec, seed: int,
                query_steps: int | None = None) -> AgentModel:
    with seeded(seed, "encoder"):
        encoder = build_encoder(spec, data.vocab_size)
    return AgentModel(encoder, design, data.vocab_size, query_steps or data.query_steps, seed)


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
    facts: dict = field(default_factory=dict)    # run-level measurements for status.json

    @cached_property
    def parameters(self) -> list:
        # Read on every step (clipping): list them once.
        return list(self.model.parameters())

    @cached_property
    def backward(self):
        """The design's backward, (losses, head weights) -> skipped heads: the ``backward``
        axis's code, or the aggregator's (one per run: an aggregator can keep state)."""
        return design_backward(self.design, self.model)

    def forward_and_loss(self, batch: dict) -> tuple[dict, dict]:
        """The design's training forward pass (autocast when the run asks for bf16; the
        targets go to the model, for the values that train on them) and its loss, in fp32,
        on a batch already on the device."""
        return forward_and_loss(self.model, batch, self.data.units, self.device,
                                self.settings.precision, training=True)


def measure_only(parameters: list) -> torch.Tensor:
    """No clipping: the global gradient norm, measured and recorded all the same."""
    grads = [p.grad for p in parameters if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def clip_at(max_norm: float):
    def clip(parameters: list) -> torch.Tensor:
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm=max_norm)
    return clip


#: The ``clip_norm`` axis: parameters -> the global gradient norm before clipping, clipping
#: in place where the design clips.
CLIPPING = AxisRegistry("clip_norm")
CLIPPING.register(None, measure_only)
CLIPPING.register(1.0, clip_at(1.0))
CLIPPING.check()


def clip_or_measure(parameters: list, clip_norm: float | None) -> torch.Tensor:
    """The global gradient norm before clipping; clips in place when the design clips."""
    return CLIPPING[clip_norm](parameters)


def weights_finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def start_run(data: EncodedData, design: Design, spec: EncoderSpec, settings: TrainSettings,
              seed: int, device: torch.device, records: StepRecords) -> Run:
    """Model, optimizer and the shared state of one (variant, seed), before any step."""
    model = build_model(data, design, spec, seed).to(device)
    # On CUDA the fused AdamW kernel: the same update in one launch instead of one per tensor.
    # On CPU the multi-tensor (foreach) path: PyTorch's CPU default is a Python loop over the
    # parameters, 7 ms of a 45 ms step at the default budget; the foreach path computes the
    # same update bit for bit (checked on the quick grid with scripts/compare_commits.sh).
    cuda = device.type == "cuda"
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr,
                                  weight_decay=settings.weight_decay,
                                  fused=True if cuda else None, foreach=None if cuda else True)
    return Run(data, design, settings, seed, device, model, optimizer, records)


def train_step(run: Run, batch: dict, step: int, hooks: Hooks) -> tuple[dict, torch.Tensor,
                                                                        list[str]]:
    """One optimizer step of the design: forward, loss, the design's backward, clip, update.
    The same code with and without instruments; ``hooks`` are where they attach."""
    hooks.on_step_start(run, step, batch)
    run.model.train()
    run.optimizer.zero_grad(set_to_none=True)
    outputs, losses = run.forward_and_loss(batch)
    hooks.after_loss(run, step, batch, outputs, losses)
    skipped = run.backward(losses, head_weights(run.design))
    hooks.after_backward(run, step, batch, outputs, losses, skipped)
    grad_norm = clip_or_measure(run.parameters, run.design.clip_norm)
    hooks.after_clip(run, step, grad_norm)
    run.optimizer.step()
    hooks.after_step(run, step)
    return losses, grad_norm, skipped


def flush_records(run: Run, hooks: Hooks) -> list:
    """Write the records buffered since the last flush, with the hooks that add to them before
    (timings read back from the device) and read them after (non-finite events)."""
    hooks.before_flush(run)
    rows = run.records.flush()
    hooks.after_flush(run, rows)
    return rows


def epoch_batches(data: EncodedData, settings: TrainSettings, seed: int, epoch: int) -> list:
    """The batches of one epoch, the same for every variant of a seed: a shuffled order, or
    with ``bucket_by_length`` shuffled batches of prompts of similar length (less padding)."""
    if settings.bucket_by_length:
        lengths = data.train.attention_mask.sum(dim=1)
        return bucketed_batches(lengths, settings.batch_size, seed, epoch)
    return list(batch_order(len(data.train), seed, epoch).split(settings.batch_size))


def record_step(records: StepRecords, step: int, losses: dict, grad_norm: torch.Tensor,
                lr: float, skipped: list[str], clip_norm: float | None) -> None:
    """What every step records, instrumented or not (tensors: converted at the next flush)."""
    records.add_many(step, {f"loss/{t}": losses[t].detach() for t in LOSS_TERMS})
    records.add_many(step, {"lr": lr, "grad_norm": grad_norm.detach()})
    if clip_norm is not None:
        records.add(step, "clipped", (grad_norm > clip_norm).float())
    for term in skipped:
        records.add(step, f"skipped/{term}", 1.0)


def score_heldout(run: Run, step: int) -> dict:
    """Score the held-out (confirmation) split once, at the end: its metrics become the run's
    final results, recorded as ``heldout/*`` at the last step, and each held-out step's score
    behind each metric goes to ``heldout_scores.csv`` in the run folder (paired comparisons
    read it). The selection split is scored once too, right after, into
    ``selection_scores.csv`` (what every choice reads); it adds no record."""
    data = run.data
    metrics = _score_split(run, data.heldout, HELDOUT_SCORES)
    run.records.add_many(step, {f"heldout/{k}": v for k, v in metrics.items()})
    if data.selection is not data.heldout:
        _score_split(run, data.selection, SELECTION_SCORES)
    return metrics


def _score_split(run: Run, split, file_name: str) -> dict:
    """The split's metrics; each step's score behind each metric to ``file_name`` in the run
    folder (when it has one)."""
    data, settings = run.data, run.settings
    scores: dict = {}
    metrics = evaluate(run.model, split, split_targets(split, data.units), data.units,
                       data.tokenizer, settings.batch_size, run.device, settings.trim_padding,
                       settings.precision, scores_out=scores)
    if run.records.folder is not None:
        import pandas as pd
        atomic_write_csv(run.records.folder / file_name,
                         pd.DataFrame({"item": range(len(split)),
                                       "episode": episode_column(split), **scores}))
    return metrics


def train(data: EncodedData, design: Design, spec: EncoderSpec, settings: TrainSettings,
          seed: int, device: torch.device, records: StepRecords, hooks: Hooks | None = None,
          progress=None, noise_salt: int = 0) -> RunResult:
    """Train one (variant, seed). ``noise_salt`` other than 0 draws dropout and the batch order
    from a second stream (the initial weights and the data stay those of ``seed``): the
    placebo run that shows how far two runs of one design differ by chance."""
    hooks = hooks or Hooks()
    noise_seed = seed if not noise_salt else derive_seed(seed, "noise", noise_salt)
    run = start_run(data, design, spec, settings, seed, device, records)
    model = run.model
    schedulers = EpochSchedulers(run.optimizer, design.warmup)
    run.facts["scheduler_events"] = schedulers.events
    val_targets = split_targets(data.val, data.units)
    # Dropout draws from the global RNG: seed it identically for every variant.
    torch.manual_seed(derive_seed(noise_seed, "dropout"))
    # Reading values back from a GPU stalls it: do that every 25 steps there, every step on CPU.
    sync_every = 1 if device.type == "cpu" else 25
    train_split = data.train.pinned() if device.type == "cuda" else data.train

    def validate(step: int) -> dict:
        metrics = evaluate(model, data.val, val_targets, data.units, data.tokenizer,
                           settings.batch_size, device, settings.trim_padding,
                           settings.precision)
        records.add_many(step, {f"val/{k}": v for k, v in metrics.items()})
        flush_records(run, hooks)
        return metrics

    def result(status: str, final: dict, **extra) -> RunResult:
        hooks.on_end(run)
        return RunResult(status, step, epoch, final, facts=run.facts,
                         train_seconds=time.perf_counter() - start, **extra)

    hooks.on_start(run)
    start = time.perf_counter()
    step, epoch = 0, 0
    while step < settings.steps:
        for index in epoch_batches(data, settings, noise_seed, epoch):
            if step >= settings.steps:
                break
            batch = {k: v.to(device, non_blocking=True)
                     for k, v in train_split.batch(index, settings.trim_padding).items()}
            lr = schedulers.lr()
            losses, grad_norm, skipped = train_step(run, batch, step, hooks)
            record_step(records, step, losses, grad_norm, lr, skipped, design.clip_norm)
            schedulers.end_step(step, epoch)
            step += 1

            if step % sync_every == 0 or step == settings.steps:
                flushed = flush_records(run, hooks)
                bad = [s for s, m, v in flushed if m == "grad_norm" and not math.isfinite(v)]
                if bad and not weights_finite(model):
                    return result("diverged", {}, diverged_at=min(bad),
                                  message=f"weights became non-finite after a non-finite "
                                          f"gradient at step {min(bad)}")
                if progress is not None:
                    progress(step, {t: records.last(f"loss/{t}") for t in LOSS_TERMS})
            if settings.eval_every and step % settings.eval_every == 0:
                validate(step)
        else:
            # A full pass over the training set: the user's trainer validates and steps its
            # schedulers here.
            metrics = validate(step)
            schedulers.end_epoch(metrics["val_loss"], epoch, step)
            epoch += 1
    final = score_heldout(run, step)
    flush_records(run, hooks)
    return result("ok", final)
