"""Per-step records of one run, in the tidy long form (step, metric, value).

Values may be handed in as tensors; they are converted to floats in bulk at ``flush`` so the
training loop does not have to synchronise with the device every step. Flushed rows are
appended to ``steps.partial.csv`` in the run folder (so an interrupted run keeps what it
measured) and moved atomically to ``steps.csv`` when the run ends.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import torch

from harness.results import STEPS_CSV, STEPS_PARTIAL

COLUMNS = ("step", "metric", "value")


class StepRecords:
    def __init__(self, folder: Path | None):
        self.folder = folder
        self.rows: list[tuple[int, str, float]] = []
        self._pending: list[tuple[int, str, object]] = []
        self._partial = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self._partial_path = folder / STEPS_PARTIAL
            self._partial = open(self._partial_path, "w", newline="", encoding="utf-8")
            csv.writer(self._partial).writerow(COLUMNS)
            self._partial.flush()

    def add(self, step: int, metric: str, value) -> None:
        self._pending.append((step, metric, value))

    def add_many(self, step: int, values: dict) -> None:
        for metric, value in values.items():
            self._pending.append((step, metric, value))

    def flush(self) -> list[tuple[int, str, float]]:
        """Convert pending values to floats (one device sync) and append them to disk."""
        if not self._pending:
            return []
        floats = _tensors_to_floats([v for _, _, v in self._pending if isinstance(v, torch.Tensor)])
        rows = []
        for step, metric, value in self._pending:
            if isinstance(value, torch.Tensor):
                value = next(floats)
            elif value is None:
                value = math.nan
            rows.append((int(step), metric, float(value)))
        self._pending.clear()
        self.rows.extend(rows)
        if self._partial is not None:
            csv.writer(self._partial).writerows(rows)
            self._partial.flush()
        return rows

    def last(self, metric: str, default=math.nan) -> float:
        for _, name, value in reversed(self.rows):
            if name == metric:
                return value
        return default

    def close(self, complete: bool) -> None:
        """Close the partial file; when the run is complete, publish it as ``steps.csv``."""
        self.flush()
        if self._partial is None:
            return
        self._partial.flush()
        os.fsync(self._partial.fileno())
        self._partial.close()
        self._partial = None
        if complete:
            os.replace(self._partial_path, self.folder / STEPS_CSV)


def _tensors_to_floats(tensors: list[torch.Tensor]):
    """Floats of 0-d tensors in order, with one transfer per device rather than one per value."""
    out: list = [None] * len(tensors)
    by_device: dict = {}
    for i, t in enumerate(tensors):
        by_device.setdefault(t.device, []).append(i)
    for indices in by_device.values():
        stacked = torch.stack([tensors[i].detach().float().reshape(()) for i in indices])
        for i, value in zip(indices, stacked.cpu().tolist()):
            out[i] = value
    return iter(out)
