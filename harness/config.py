"""Run settings: plain frozen dataclasses, with a fingerprint of everything that changes the
numbers, so a rerun into the same output folder knows which finished runs it may reuse."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from harness.instruments import InstrumentSettings
from harness.train import TrainSettings

SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class DataSettings:
    source: str = SYNTHETIC          # "synthetic", or a file or folder of data
    data_format: str | None = None   # user-json, aitz, aitw-tfrecord; None: detect
    skip_invalid: bool = False       # drop and count bad records instead of stopping
    synthetic_episodes: int = 400
    synthetic_world: str = "small"   # "small" (learnable in minutes on a CPU) or "full"
    data_seed: int = 0
    units: str | None = None         # synthetic: "pixel" unless set; a folder: from dataset.json
    screen_size: tuple[int, int] | None = None
    val_fraction: float = 0.15
    max_length: int = 128            # prompt tokens (capped by the encoder's positions)
    vocab_size: int = 2000           # WordPiece vocabulary of a randomly initialised encoder


@dataclass(frozen=True)
class Settings:
    data: DataSettings = DataSettings()
    train: TrainSettings = TrainSettings()
    encoder: str = "tiny"
    seeds: tuple[int, ...] = (0, 1)
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


#: What ``--quick`` changes: a smoke run of every variant in about a minute on 2 CPU cores.
QUICK = {"steps": 20, "synthetic_episodes": 60, "seeds": (0,), "batch_size": 16}
