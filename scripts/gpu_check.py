"""GPU check for issue 6, in one call of a few minutes on a lent H100/H200.

At the anchor's shapes (DistilBERT-size encoder: 6 layers, 768 wide, 12 heads, 3072 FFN,
30522-token vocabulary, batch 32, length 512, 32-step query decoder) it times, in fp32 and
bf16 autocast:

- ``bare``: a bare PyTorch loop of the user's model in the fixed design (zero_grad, forward,
  the review's loss, one backward, clip, AdamW) on batches padded to 512, no harness around it;
- ``harness_fixed`` / ``harness_original``: the harness's own training step (instruments with
  probes every 25 steps, records flushed every 25 steps) for the two designs, same batches;
- ``harness_fixed_fast``: the fixed design on the fast path (per-batch padding, batches
  bucketed by length) on prompts of the synthetic data's own lengths (reported).

and writes one JSON: step time, samples/s, peak memory, FLOPs per step, MFU, and the ratios
harness over bare and fast path over bare. ``--smoke`` runs tiny shapes on CPU (a test).

    PYTHONPATH=. python3 scripts/gpu_check.py --out $OUT/gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.config import DataSettings  # noqa: E402
from harness.prepare import prepare_data  # noqa: E402
from harness.data.tensors import EncodedData, design_targets  # noqa: E402
from harness.design import FIXED, ORIGINAL  # noqa: E402
from harness.encoders import resolve_encoder  # noqa: E402
from harness.instruments import InstrumentSettings  # noqa: E402
from harness.instruments.suite import Instruments  # noqa: E402
from harness.instruments.throughput import count_flops, peak_flops  # noqa: E402
from harness.losses import standard_loss  # noqa: E402
from harness.precision import autocast, to_fp32  # noqa: E402
from harness.records import StepRecords  # noqa: E402
from harness.seeding import bucketed_batches  # noqa: E402
from harness.train import (TrainSettings, build_model, flush_records, record_step,  # noqa: E402
                           start_run, train_step)

ANCHOR = dict(encoder="tiny:hidden_size=768,num_hidden_layers=6,num_attention_heads=12,"
                      "intermediate_size=3072", vocab=30522, batch=32, length=512, steps=30,
              warmup=5)
SMOKE = dict(encoder="tiny:hidden_size=32,num_hidden_layers=1,num_attention_heads=2,"
                     "intermediate_size=64", vocab=600, batch=4, length=64, steps=2, warmup=1)


class WideVocab(EncodedData):
    """The synthetic data with the anchor's vocabulary size: the embedding table and the query
    decoder's output layer get 30522 rows, as with DistilBERT's tokenizer; ids stay in range."""

    def __init__(self, base: EncodedData, size: int):
        super().__init__(base.train, base.val, base.tokenizer, base.units, base.max_length,
                         base.description, base.heldout, base.query_steps)
        self._size = max(size, len(base.tokenizer))

    @property
    def vocab_size(self) -> int:
        return self._size


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_steps(step, n: int, warmup: int, device) -> float:
    """Median-free mean seconds per step over ``n`` steps after ``warmup`` (CUDA events)."""
    for i in range(warmup):
        step(i)
    sync(device)
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(n):
            step(warmup + i)
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000 / n
    t0 = time.perf_counter()
    for i in range(n):
        step(warmup + i)
    return (time.perf_counter() - t0) / n


def batches_of(data, batch: int, trim: bool, bucket: bool, device):
    if bucket:
        lengths = data.train.attention_mask.sum(1)
        order = bucketed_batches(lengths, batch, seed=0, epoch=0)
    else:
        order = list(torch.arange(len(data.train)).split(batch))
    order = [o for o in order if len(o) == batch]
    return [{k: v.to(device) for k, v in data.train.batch(i, trim).items()} for i in order]


def bare_loop(data, spec, device, precision, batches):
    """The user's loop with the review's fixes, written plainly: no harness code around it."""
    model = build_model(data, FIXED, spec, seed=0).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01,
                            fused=device.type == "cuda")

    def step(i):
        batch = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        with autocast(device, precision):
            outputs = model(batch["input_ids"], batch["attention_mask"])
        outputs = to_fp32(outputs)
        targets = {**batch, **design_targets(batch, data.units, "screen")}
        losses = standard_loss(outputs, targets)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model, step


def harness_loop(data, spec, design, device, precision, batches, trim):
    settings = TrainSettings(batch_size=batches[0]["input_ids"].shape[0], lr=1e-4,
                             precision=precision, trim_padding=trim)
    run = start_run(data, design, spec, settings, 0, device, StepRecords(None))
    hooks = Instruments(InstrumentSettings(probe_every=25, flops=False))
    hooks.on_start(run)
    flush_every = 25 if device.type == "cuda" else 1

    def step(i):
        losses, grad_norm, skipped = train_step(run, batches[i % len(batches)], i, hooks)
        record_step(run.records, i, losses, grad_norm, 1e-4, skipped, design.clip_norm)
        if (i + 1) % flush_every == 0:
            flush_records(run, hooks)
    return run, step


def flops_of(step_fn) -> int:
    return count_flops(lambda: step_fn(0))


def measure(name, step, steps, warmup, device, precision, batch, flops):
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = timed_steps(step, steps, warmup, device)
    peak = peak_flops(device, precision)
    return {"name": name, "precision": precision, "step_time_s": seconds,
            "samples_per_s": batch / seconds, "flops_per_step": flops,
            "achieved_tflops": flops / seconds / 1e12 if flops else None,
            "mfu": flops / seconds / peak if (flops and peak) else None,
            "peak_memory_gb": (torch.cuda.max_memory_allocated() / 2**30
                               if device.type == "cuda" else None)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, for a CPU test")
    parser.add_argument("--precisions", default="fp32,bf16")
    args = parser.parse_args(argv)
    shape = SMOKE if args.smoke else ANCHOR
    device = torch.device(args.device)
    spec = resolve_encoder(shape["encoder"])
    torch.backends.cuda.matmul.allow_tf32 = False   # fp32 means fp32 (the anchor's setting)
    base = prepare_data(DataSettings(max_length=shape["length"], vocab_size=shape["vocab"]), spec)
    data = WideVocab(base, shape["vocab"])
    padded = batches_of(data, shape["batch"], trim=False, bucket=False, device=device)
    fast = batches_of(data, shape["batch"], trim=True, bucket=True, device=device)
    lengths = data.train.attention_mask.sum(1).float()
    result = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor(),
        "torch": torch.__version__, "shapes": {k: v for k, v in shape.items()},
        "prompt_tokens": {"mean": float(lengths.mean()), "max": int(lengths.max()),
                          "fast_path_batch_width_mean": sum(b["input_ids"].shape[1] for b in fast)
                          / len(fast)},
        "runs": []}
    for precision in args.precisions.split(","):
        rows = {}
        for name, make in (
                ("bare", lambda: bare_loop(data, spec, device, precision, padded)),
                ("harness_fixed", lambda: harness_loop(data, spec, FIXED, device, precision,
                                                       padded, trim=False)),
                ("harness_original", lambda: harness_loop(data, spec, ORIGINAL, device,
                                                          precision, padded, trim=False)),
                ("harness_fixed_fast", lambda: harness_loop(data, spec, FIXED, device, precision,
                                                            fast, trim=True))):
            _, step = make()
            flops = flops_of(step) if name != "harness_fixed_fast" else None
            rows[name] = measure(name, step, shape["steps"], shape["warmup"], device, precision,
                                 shape["batch"], flops)
            print(json.dumps(rows[name]), flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
        bare = rows["bare"]["step_time_s"]
        for row in rows.values():
            row["time_over_bare"] = row["step_time_s"] / bare
            row["speed_over_bare"] = bare / row["step_time_s"]
        result["runs"].extend(rows.values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
