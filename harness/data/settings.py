"""Where a grid's steps come from and how they are split and encoded: the data layer's own
settings, combined with the others in :mod:`harness.config`."""

from __future__ import annotations

from dataclasses import dataclass

SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class DataSettings:
    """Where the steps come from and how they are split and encoded.

    Why the defaults are what they are (the budget: every variant x 5 seeds x 20 epochs in
    about 13 minutes on a 2-core CPU, README "Default budget"):

    - ``synthetic_episodes=400`` with ``heldout_fraction=0.15``: the same 61 held-out episodes
      (379 steps) as before; the held-out part of every interval shrinks with this number,
      not with seeds, so it stays at 379 steps or more.
    - ``val_fraction=0.02``: 8 episodes (45 steps, 3 batches) that the schedulers see at every
      epoch's end, as the user's trainer validates; small because it is evaluated 20 times
      per run, where the held-out set is scored once.
    - ``train_size=144``: whole episodes up to 144 steps (9 batches of 16), so that 20 full
      passes are 180 optimizer steps. The grid's cost is proportional to this number. At 140
      steps the best variant's tap accuracy was not distinguishable from the trivial
      baseline over 5 seeds (0.079 [-0.006, 0.164]); at 180 it was (0.154 [0.050, 0.259]).
    - ``query_steps=None``: the decoder runs as many steps as the longest typed-text target
      of the data (14 tokens on the default synthetic data) instead of 32; positions past it are padding that both
      losses ignore, so losses and gradients are unchanged (``tensors.query_steps_for``).
    """

    source: str = SYNTHETIC          # "synthetic", or a file or folder of data
    data_format: str | None = None   # user-json, aitz, aitw-tfrecord; None: detect
    skip_invalid: bool = False       # drop and count bad records instead of stopping
    synthetic_episodes: int = 400
    synthetic_world: str = "small"   # "small" (learnable in minutes on a CPU) or "full"
    data_seed: int = 0
    units: str | None = None         # synthetic: "pixel" unless set; a folder: from dataset.json
    screen_size: tuple[int, int] | None = None
    heldout_fraction: float = 0.15   # episodes scored once at the end (metrics, verdicts)
    val_fraction: float = 0.02       # episodes the schedulers see each epoch; 0: the held-out
    train_size: int | None = 144     # training steps (whole episodes); None: every other episode
    max_length: int = 128            # prompt tokens (capped by the encoder's positions)
    vocab_size: int = 2000           # WordPiece vocabulary of a randomly initialised encoder
    query_steps: int | None = None   # greedy decoder steps; None: the longest target (<= 32)
