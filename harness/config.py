"""Run settings: plain frozen dataclasses, with a fingerprint of everything that changes the
numbers, so a rerun into the same output folder knows which finished runs it may reuse.

Each layer defines its own settings (the data's in :mod:`harness.data.settings`, training's in
:mod:`harness.train`, the instruments' in :mod:`harness.instruments`); this module, above them
all, only combines them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from harness.data.settings import SYNTHETIC, DataSettings
from harness.instruments.settings import InstrumentSettings
from harness.train import TrainSettings


@dataclass(frozen=True)
class Settings:
    data: DataSettings = DataSettings()
    train: TrainSettings = TrainSettings()
    encoder: str = "tiny"
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)   # 5: Student t factor 2.78 (2 seeds: 12.7)
    device: str = "cpu"              # resolved: "cpu" or "cuda"
    instruments: InstrumentSettings = InstrumentSettings()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def fingerprint(self, exclude_seeds: bool = True) -> str:
        """A hash of what determines a single run's numbers (seeds are per run, not here)."""
        payload = self.to_dict()
        payload.pop("instruments")   # they measure; they do not change the numbers
        if exclude_seeds:
            payload.pop("seeds")
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


#: Passes over the training split per run when neither --steps nor --epochs is given: the
#: fixed design's per-epoch warmup (lr 0 in epoch 0, full rate from epoch 10) then runs at its
#: full rate for half the run, and ReduceLROnPlateau (patience 10) can act once.
DEFAULT_EPOCHS = 20

#: What ``--quick`` changes: a smoke run of every variant in about a minute on 2 CPU cores.
QUICK = {"steps": 20, "synthetic_episodes": 60, "seeds": (0,), "batch_size": 16}

__all__ = ["SYNTHETIC", "DataSettings", "Settings", "DEFAULT_EPOCHS", "QUICK"]
