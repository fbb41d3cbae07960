"""The harness's internal representation of a data set.

Every reader converts its source layout into these types explicitly. The convention inside
the harness is the user's: points are ``(x, y)``, boxes are ``[x, y, w, h]``, both in the
data set's own units, which are recorded on the :class:`Dataset` (never guessed).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import NamedTuple
from dataclasses import dataclass, field

from harness import actions
from harness.errors import DataError

PIXEL = "pixel"
NORMALIZED = "normalized"
UNITS = (PIXEL, NORMALIZED)

Point = tuple[float, float]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Step:
    """One step of an episode: the prompt and the action a person took."""

    episode: str
    index: int
    prompt: str
    boxes: tuple[Box, ...]
    action_type: int
    type_text: str
    touch: Point
    lift: Point


class StepsByEpisode:
    """Steps read from one or more files, grouped by episode and keyed by step id, for readers
    whose records carry both; the same (episode, step id) twice is an error naming both files."""

    def __init__(self):
        self.episodes: dict[str, dict[int, Step]] = {}
        self._files: dict[tuple[str, int], object] = {}

    def add(self, step: Step, file) -> None:
        key = (step.episode, step.index)
        if key in self._files:
            raise DataError.at(file, f"step_id {step.index} appears twice (also in "
                                     f"{self._files[key]})", episode=step.episode, step=step.index)
        self._files[key] = file
        self.episodes.setdefault(step.episode, {})[step.index] = step

    def ordered(self) -> list[Step]:
        """Episodes in the order first seen, each one's steps by step id."""
        return [s for e in self.episodes.values() for _, s in sorted(e.items())]


@dataclass(frozen=True)
class Units:
    """Units of a data set's points and boxes.

    ``screen`` is ``(width, height)`` in pixels. It is required for pixel data, because
    nothing can be normalized (for the design axis or for AitW matching) without it.
    """

    kind: str
    screen: tuple[int, int] | None = None

    def __post_init__(self):
        if self.kind not in UNITS:
            raise DataError(f"unknown coordinate units {self.kind!r}; expected one of {UNITS}")
        if self.kind == PIXEL and self.screen is None:
            raise DataError(
                "pixel coordinates need a known screen size: pass --screen-size WIDTHxHEIGHT "
                "(for example --screen-size 1080x2400), or put \"screen_size\": [W, H] in the "
                "data folder's dataset.json")
        if self.screen is not None:
            w, h = self.screen
            if not (w > 0 and h > 0):
                raise DataError(f"screen size must be positive, got {self.screen}")

    def scale(self) -> tuple[float, float]:
        """Divisors that take a point of these units to [0, 1] screen fractions."""
        if self.kind == NORMALIZED:
            return (1.0, 1.0)
        return (float(self.screen[0]), float(self.screen[1]))

    def describe(self) -> str:
        if self.kind == PIXEL:
            return f"pixel ({self.screen[0]}x{self.screen[1]} screen)"
        return "normalized [0, 1]" + (f" ({self.screen[0]}x{self.screen[1]} screen)"
                                     if self.screen else "")

    def to_json(self) -> dict:
        return {"units": self.kind, "screen_size": list(self.screen) if self.screen else None}


@dataclass
class Dataset:
    """Steps plus the facts needed to interpret their coordinates."""

    steps: list[Step]
    units: Units
    source: str
    axis_order_in_source: str = "xy"
    notes: list[str] = field(default_factory=list)
    skipped_records: int = 0      # dropped by --skip-invalid

    def episodes(self) -> list[str]:
        return sorted({s.episode for s in self.steps})

    def action_mix(self) -> dict[str, int]:
        counts = Counter(s.action_type for s in self.steps)
        return {actions.name(code): counts[code] for code in sorted(counts)}

    def describe(self) -> dict:
        return {
            "source": self.source,
            "units": self.units.to_json(),
            "axis_order_in_source": self.axis_order_in_source,
            "episodes": len(self.episodes()),
            "steps": len(self.steps),
            "action_mix": self.action_mix(),
            "skipped_invalid_records": self.skipped_records,
            "notes": list(self.notes),
        }

    def split(self, heldout_fraction: float, val_fraction: float = 0.0,
              train_size: int | None = None) -> "Splits":
        """Deterministic split by episode into training, validation and held-out steps.

        Each episode gets a number in [0, 1) from a hash of its key: below
        ``heldout_fraction`` it is held out (scored once, at the end of every run), below
        ``heldout_fraction + val_fraction`` it is in the validation split (what the trainer's
        schedulers see at every epoch's end), else it is training data. The assignment
        depends on the key alone, so it is the same for every seed and variant, and an
        episode stays where it is when the data set grows. ``val_fraction == 0``: validation
        is the held-out split itself (a trainer with two splits). ``train_size``: training
        uses only the first whole episodes, in hash order, that fit in that many steps.
        """
        if not 0.0 < heldout_fraction < 1.0:
            raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
        if not 0.0 <= val_fraction < 1.0 - heldout_fraction:
            raise ValueError(f"val_fraction must be in [0, {1.0 - heldout_fraction:g}), got "
                             f"{val_fraction}")
        ranked = sorted(self.episodes(), key=_unit_hash)
        if len(ranked) < 2 + (val_fraction > 0):
            raise DataError(f"{self.source}: need at least {2 + (val_fraction > 0)} episodes to "
                            f"split into training, validation and held-out steps, found "
                            f"{len(ranked)}")
        held = [e for e in ranked if _unit_hash(e) < heldout_fraction]
        val = [e for e in ranked if heldout_fraction <= _unit_hash(e)
               < heldout_fraction + val_fraction] if val_fraction else []
        train = [e for e in ranked if e not in set(held) | set(val)]
        if not held or not train or (val_fraction and not val):
            # Tiny data sets: fall back to ranked counts so that no split is empty.
            n_held = min(max(1, round(len(ranked) * heldout_fraction)), len(ranked) - 1)
            n_val = (min(max(1, round(len(ranked) * val_fraction)), len(ranked) - n_held - 1)
                     if val_fraction else 0)
            held, val, train = (ranked[:n_held], ranked[n_held:n_held + n_val],
                                ranked[n_held + n_val:])
        if train_size is not None:
            train = _first_episodes(self, train, train_size)
        part = lambda keys: Dataset([s for s in self.steps if s.episode in set(keys)],
                                    self.units, self.source, self.axis_order_in_source,
                                    self.notes)
        heldout = part(held)
        return Splits(part(train), part(val) if val_fraction else heldout, heldout)


class Splits(NamedTuple):
    train: Dataset
    val: Dataset          # seen by the schedulers at every epoch's end
    heldout: Dataset      # scored once at the end: the metrics and verdicts of the report


def _first_episodes(dataset: Dataset, keys: list[str], max_steps: int) -> list[str]:
    """The first episodes of ``keys`` (in order) whose steps add up to at most ``max_steps``
    (at least one episode)."""
    lengths = Counter(s.episode for s in dataset.steps)
    chosen, total = [], 0
    for key in keys:
        if chosen and total + lengths[key] > max_steps:
            break
        chosen.append(key)
        total += lengths[key]
    return chosen


def _unit_hash(key: str) -> float:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
