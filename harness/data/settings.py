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
    - ``selection_fraction=0.2``: the selection split, the episodes whose hash lies in the top
      fifth, which no default training run uses (training takes its first episodes from the
      bottom of the same order). Every choice (the search's rounds, tuning, the decoder's
      length) reads it and never the held-out split, which is scored only for verdicts. A
      fifth gives 65 episodes (385 steps) on the default synthetic data, at least the
      held-out split's 379, so a choice is as precise as the verdict that judges it; on the
      user's data it is a fifth of the episodes for the same reason (a choice compares many
      candidates on it, the verdict one), leaving about two thirds for training.
    - ``split_by=None``: by episode on the synthetic data and the user's JSON, by goal (the
      instruction text) on AiTZ and AitW, where about 20 episodes share each instruction and
      a split by episode would train on the held-out instructions (SeeClick splits AitW by
      instruction for that reason). The synthetic world stays split by episode: its 93
      instruction texts are phrasings x parameters of 16 goal families, its 22 default
      training episodes already leave 28 of the 43 held-out instructions (217 of 379 steps)
      unseen (run.json "goals"), and the held-out split every record is compared on stays the
      same. By goal it would hold out 47 episodes (259 steps), none of whose instructions
      occur in training, though their families do.
    - ``query_steps=None``: the decoder runs as many steps as the longest typed-text target
      of the training, validation and selection splits (never the held-out split's) instead
      of 32; positions past it are padding that both losses ignore, so losses and gradients
      are unchanged (``tensors.query_steps_for``).
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
    selection_fraction: float = 0.2  # episodes every choice is made on; 0: the validation split
    split_by: str | None = None      # "episode" or "goal"; None: by the format (see above)
    max_length: int = 128            # prompt tokens (capped by the encoder's positions)
    vocab_size: int = 2000           # WordPiece vocabulary of a randomly initialised encoder
    query_steps: int | None = None   # greedy decoder steps; None: the longest target (<= 32)
