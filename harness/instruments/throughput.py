"""Timing, FLOP counting, peak memory and the devices' peak FLOP/s: the primitives of the cost
instrument (:mod:`harness.instruments.cost`), also used by the benchmarks and scripts.

Timing on CUDA uses events read at flush time, so the step is never forced to synchronise.
FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` on one step; the peaks are those
MFU is reported against, only for a known device and dtype.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

# Dense peaks in FLOP/s (NVIDIA data sheets; the same numbers as Lightning's table).
# "tf32" applies to float32 matmuls when TF32 is allowed.
PEAK_FLOPS: dict[str, dict[str, float]] = {
    "h200": {"fp32": 66.9e12, "tf32": 494.7e12, "bf16": 989.4e12, "fp16": 989.4e12},
    "h100 sxm": {"fp32": 66.9e12, "tf32": 494.7e12, "bf16": 989.4e12, "fp16": 989.4e12},
    "h100 nvl": {"fp32": 66.9e12, "tf32": 494.7e12, "bf16": 989.4e12, "fp16": 989.4e12},
    "h100 pcie": {"fp32": 51.2e12, "tf32": 378e12, "bf16": 756e12, "fp16": 756e12},
    "a100": {"fp32": 19.5e12, "tf32": 156e12, "bf16": 312e12, "fp16": 312e12},
}


def device_key(name: str) -> str | None:
    """Map a CUDA device name to a PEAK_FLOPS key; None for anything not in the table."""
    n = name.lower()
    if "h200" in n:
        return "h200"
    if "h100" in n:
        if "pcie" in n:
            return "h100 pcie"
        return "h100 nvl" if "nvl" in n else "h100 sxm"
    if "a100" in n:
        return "a100"
    return None


def peak_flops(device: torch.device, precision: str) -> float | None:
    """The dense peak for this device and precision ('fp32', 'bf16', ...), or None."""
    if device.type != "cuda":
        return None
    key = device_key(torch.cuda.get_device_name(device))
    if key is None:
        return None
    if precision == "fp32" and torch.backends.cuda.matmul.allow_tf32:
        precision = "tf32"
    return PEAK_FLOPS[key].get(precision)


def count_flops(fn) -> int:
    """FLOPs of whatever ``fn`` runs (forward and backward when it calls backward)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


# --------------------------------------------------------------------------- memory

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        _CLEAR_REFS.write_text("5")     # Linux: reset the peak resident set size (VmHWM)
    except OSError:
        pass


def peak_memory_mb(device: torch.device) -> float | None:
    """Peak CUDA allocator memory, or the process's peak resident set size on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        match = re.search(r"VmHWM:\s+(\d+) kB", _STATUS.read_text())
        return int(match.group(1)) / 1024 if match else None
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- timing

class StepTimer:
    """Times steps; subtracts intervals marked as excluded (probes) from the step they fall in.

    On CUDA each step records a pair of events; elapsed times are read in :meth:`collect`,
    which the loop calls at its flush points.
    """

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self._pending: list[tuple[int, object, object, float]] = []
        self._start = None
        self._excluded = 0.0

    def start(self) -> None:
        self._excluded = 0.0
        if self.cuda:
            self._start = torch.cuda.Event(enable_timing=True)
            self._start.record()
        else:
            self._start = time.perf_counter()

    def exclude(self, seconds: float) -> None:
        self._excluded += seconds

    def stop(self, step: int) -> None:
        if self.cuda:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self._pending.append((step, self._start, end, self._excluded))
        else:
            self._pending.append((step, self._start, time.perf_counter(), self._excluded))

    def collect(self) -> list[tuple[int, float]]:
        """(step, seconds) of the steps stopped since the last call."""
        out = []
        for step, start, end, excluded in self._pending:
            if self.cuda:
                end.synchronize()
                seconds = start.elapsed_time(end) / 1000.0
            else:
                seconds = end - start
            out.append((step, max(seconds - excluded, 0.0)))
        self._pending.clear()
        return out


def timed(device: torch.device, fn, clock=time.perf_counter):
    """Run ``fn`` and return (its result, seconds by ``clock``), synchronising CUDA around it:
    used for probes, whose cost is reported on its own and kept out of the step time, and by
    the benchmark suite (harness.benchmarking)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = clock()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return result, clock() - start
