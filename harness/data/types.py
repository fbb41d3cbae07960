"""The harness's internal representation of a data set.

Every reader converts its source layout into these types explicitly. The convention inside
the harness is the user's: points are ``(x, y)``, boxes are ``[x, y, w, h]``, both in the
data set's own units, which are recorded on the :class:`Dataset` (never guessed).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import NamedTuple
from dataclasses import dataclass, field

from harness import actions
from harness.errors import DataError

PIXEL = "pixel"
NORMALIZED = "normalized"
UNITS = (PIXEL, NORMALIZED)

#: How episodes are grouped before the split: each on its own, or every episode of one goal
#: together (no goal in two splits).
BY_EPISODE = "episode"
BY_GOAL = "goal"
SPLIT_BY = (BY_EPISODE, BY_GOAL)

#: The largest screen side accepted, in pixels: PNG's limit (2^31 - 1). A size below it that
#: is still wrong (4000x4000 for a phone) is not visible in any file, and passes.
MAX_SCREEN_SIDE = 2**31 - 1

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
            if max(w, h) > MAX_SCREEN_SIDE:
                raise DataError(f"screen size {self.screen} is larger than any image can be "
                                f"(at most {MAX_SCREEN_SIDE} pixels a side)")

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
              train_size: int | None = None, selection_fraction: float = 0.0,
              split_by: str = BY_EPISODE) -> "Splits":
        """Deterministic split into training, validation, selection and held-out steps.

        Each unit (an episode, or with ``split_by="goal"`` every episode of one goal, so that
        no goal is in two splits) gets a number in [0, 1) from a hash of its key: below
        ``heldout_fraction`` it is held out (the confirmation split: scored once, at the end of
        every run, read only for verdicts), below ``heldout_fraction + val_fraction`` it is in
        the validation split (what the trainer's schedulers see at every epoch's end), at or
        above ``1 - selection_fraction`` it is in the selection split (scored once at the end,
        what every choice reads), else it is training data. The selection band sits at the top
        of the hash range so that adding it leaves the held-out and validation splits and the
        first training episodes in hash order where they were. The assignment depends on the
        key alone, so it is the same for every seed and variant, and a unit stays where it is
        when the data set grows. ``val_fraction == 0``: validation is the held-out split itself
        (a trainer with two splits). ``selection_fraction == 0``: no selection split of its
        own; the validation split is the selection split. ``train_size``: training uses only
        the first whole episodes, in hash order, that fit in that many steps.
        """
        if not 0.0 < heldout_fraction < 1.0:
            raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
        if not 0.0 <= val_fraction < 1.0 - heldout_fraction:
            raise ValueError(f"val_fraction must be in [0, {1.0 - heldout_fraction:g}), got "
                             f"{val_fraction}")
        room = 1.0 - heldout_fraction - val_fraction
        if not 0.0 <= selection_fraction < room:
            raise ValueError(f"selection_fraction must be in [0, {room:g}) with these held-out "
                             f"and validation fractions, got {selection_fraction}")
        unit_of = self.split_units(split_by)
        units = sorted(set(unit_of.values()), key=_unit_hash)
        parts = 2 + (val_fraction > 0) + (selection_fraction > 0)
        if len(units) < parts:
            what = "episodes" if split_by == BY_EPISODE else "goals"
            raise DataError(f"{self.source}: need at least {parts} {what} to split into "
                            f"{_part_names(val_fraction, selection_fraction)}, found "
                            f"{len(units)}")
        bands = _bands(units, heldout_fraction, val_fraction, selection_fraction)
        held, val, selection, train = bands
        if not held or not train or (val_fraction and not val) or (
                selection_fraction and not selection):
            # Tiny data sets: fall back to ranked counts so that no split is empty.
            held, val, selection, train = _ranked_bands(units, heldout_fraction, val_fraction,
                                                        selection_fraction)
        by_unit = lambda chosen: [e for e in self._episodes_in_hash_order(unit_of)
                                  if unit_of[e] in set(chosen)]
        train_episodes = by_unit(train)
        if train_size is not None:
            train_episodes = _first_episodes(self, train_episodes, train_size)
        part = lambda keys: Dataset([s for s in self.steps if s.episode in set(keys)],
                                    self.units, self.source, self.axis_order_in_source,
                                    self.notes)
        heldout = part(by_unit(held))
        validation = part(by_unit(val)) if val_fraction else heldout
        chosen = part(by_unit(selection)) if selection_fraction else validation
        return Splits(part(train_episodes), validation, heldout, chosen)

    def split_units(self, split_by: str) -> dict[str, str]:
        """Each episode's split unit: its own key, or (``goal``) its goal's key."""
        if split_by == BY_EPISODE:
            return {e: e for e in self.episodes()}
        if split_by == BY_GOAL:
            return {e: "goal:" + g for e, g in self.episode_goals().items()}
        raise ValueError(f"split_by must be one of {SPLIT_BY}, got {split_by!r}")

    def episode_goals(self) -> dict[str, str]:
        """Each episode's goal: the instruction its first step's prompt opens with (``Goal:
        <instruction>.``, as every reader's prompt does); an error naming the episode when a
        prompt does not say it."""
        goals: dict[str, str] = {}
        for step in self.steps:
            if step.episode not in goals:
                goal = goal_of_prompt(step.prompt)
                if goal is None:
                    raise DataError(f"{self.source}: episode {step.episode!r}, step "
                                    f"{step.index}: the prompt does not open with 'Goal: "
                                    f"<instruction>.', so the episode's goal is unknown and "
                                    f"--split-by goal cannot keep it in one split (prompt: "
                                    f"{step.prompt[:60]!r}); use --split-by episode")
                goals[step.episode] = goal
        return goals

    def _episodes_in_hash_order(self, unit_of: dict[str, str]) -> list[str]:
        """Episodes ordered by their unit's hash, then by their own (whole goals together)."""
        return sorted(unit_of, key=lambda e: (_unit_hash(unit_of[e]), _unit_hash(e), e))


class Splits(NamedTuple):
    train: Dataset
    val: Dataset          # seen by the schedulers at every epoch's end (selection data)
    heldout: Dataset      # the confirmation split: scored once at the end, read for verdicts
    selection: Dataset    # scored once at the end: what every choice reads (may be ``val``)


# The goal as every reader renders it (harness.data.prompts.render_prompt): "Goal: <goal>."
# followed by the screen, the previous action or the elements; a prompt of the user's own
# format may follow the goal with anything after ". ".
_RENDERED_GOAL = re.compile(r"Goal: (?P<goal>.*?)\. (?:Screen|Previous|Elements): ", re.S)
_PLAIN_GOAL = re.compile(r"Goal:\s*(?P<goal>.+?)\.(?:\s|$)", re.S)


def goal_of_prompt(prompt: str) -> str | None:
    """The instruction a prompt opens with, or None when it opens with no ``Goal: ...``."""
    found = _RENDERED_GOAL.match(prompt) or _PLAIN_GOAL.match(prompt)
    return found["goal"].strip() if found else None


def _part_names(val_fraction: float, selection_fraction: float) -> str:
    names = ["training"] + (["validation"] if val_fraction else []) + (
        ["selection"] if selection_fraction else []) + ["held-out"]
    return ", ".join(names[:-1]) + " and " + names[-1] + " steps"


def _bands(units: list[str], heldout: float, val: float, selection: float):
    """(held-out, validation, selection, training) units by their hash's band."""
    held = [u for u in units if _unit_hash(u) < heldout]
    validation = [u for u in units if heldout <= _unit_hash(u) < heldout + val] if val else []
    chosen = [u for u in units if _unit_hash(u) >= 1.0 - selection] if selection else []
    taken = set(held) | set(validation) | set(chosen)
    return held, validation, chosen, [u for u in units if u not in taken]


def _ranked_bands(units: list[str], heldout: float, val: float, selection: float):
    """The same bands by counts of units in hash order, each non-empty (tiny data sets)."""
    n = len(units)
    n_held = min(max(1, round(n * heldout)), n - 1)
    n_val = min(max(1, round(n * val)), n - n_held - 1) if val else 0
    n_sel = min(max(1, round(n * selection)), n - n_held - n_val - 1) if selection else 0
    held, validation = units[:n_held], units[n_held:n_held + n_val]
    chosen = units[n - n_sel:] if n_sel else []
    return held, validation, chosen, units[n_held + n_val:n - n_sel]


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
