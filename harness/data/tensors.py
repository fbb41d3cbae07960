"""Tokenize once per run and hold every split as tensors; convert coordinates between the
data's units, the design's units (the ``coord_units`` axis) and AitW's convention."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from harness import actions
from harness.axes import AxisRegistry
from harness.data.types import Dataset, Units

#: Length of the typed-text target and of the query decoder's greedy run (DESIGN.md section 2).
#: A run may decode fewer steps (``DataSettings.query_steps``): see :func:`query_steps_for`.
QUERY_LEN = 32


@dataclass
class EncodedSplit:
    """One split, tokenized and padded to ``max_length``; coordinates in the data's units."""

    input_ids: torch.Tensor        # [N, L] long
    attention_mask: torch.Tensor   # [N, L] long
    query_labels: torch.Tensor     # [N, QUERY_LEN] long, 0 = padding (ignored by the loss)
    action: torch.Tensor           # [N] long, AitW code
    touch: torch.Tensor            # [N, 2] float (x, y), data units, (-1, -1) when no point
    lift: torch.Tensor             # [N, 2]
    boxes: torch.Tensor            # [N, M, 4] float [x, y, w, h], data units, zero padded
    box_count: torch.Tensor        # [N] long
    target_text: list[str]         # typed text as the tokenizer round-trips it ("" if not TYPE)
    truncated: int = 0             # prompts cut at max_length
    #: each row's episode key: held-out steps of one episode share a goal and a screen flow,
    #: so the report treats episodes, not steps, as the independent units of the held-out set
    episodes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.action.shape[0])

    def batch(self, index: torch.Tensor, trim: bool = False) -> dict[str, torch.Tensor]:
        """The rows ``index``; with ``trim``, padded only to the longest prompt among them.

        Trimming right padding changes no result beyond float rounding: padding is masked out
        of attention and positions are counted from the left.
        """
        input_ids, attention_mask = self.input_ids[index], self.attention_mask[index]
        if trim:
            length = max(int(attention_mask.sum(dim=1).max()), 1)
            input_ids, attention_mask = input_ids[:, :length], attention_mask[:, :length]
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "query_labels": self.query_labels[index],
            "action": self.action[index],
            "touch": self.touch[index],
            "lift": self.lift[index],
            "boxes": self.boxes[index],
            "box_count": self.box_count[index],
        }

    def with_query_steps(self, steps: int) -> "EncodedSplit":
        """The same split with typed-text targets cut to ``steps`` tokens."""
        return EncodedSplit(**{**self.__dict__, "query_labels": self.query_labels[:, :steps]})

    def pinned(self) -> "EncodedSplit":
        """A copy in page-locked memory, so copies to a GPU can overlap compute (CUDA only)."""
        fields = {k: (v.pin_memory() if isinstance(v, torch.Tensor) else v)
                  for k, v in self.__dict__.items()}
        return EncodedSplit(**fields)


@dataclass
class EncodedData:
    train: EncodedSplit
    val: EncodedSplit              # the schedulers' validation split (may be ``heldout`` itself)
    tokenizer: object
    units: Units
    max_length: int
    description: dict = field(default_factory=dict)
    heldout: EncodedSplit | None = None    # scored at the end; None: the validation split
    query_steps: int = QUERY_LEN           # steps of the query decoder's greedy run
    #: scored at the end like ``heldout``; what every choice reads. None: the validation split
    selection: EncodedSplit | None = None

    def __post_init__(self):
        if self.heldout is None:
            self.heldout = self.val
        if self.selection is None:
            self.selection = self.val

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)


def episode_column(split: EncodedSplit) -> list[str]:
    """Each row's episode key, the cluster the report's intervals group held-out steps by; a
    split made without episode keys (built by hand) counts each row as an episode of its own."""
    if len(split.episodes) == len(split):
        return list(split.episodes)
    return [f"item{i}" for i in range(len(split))]


def encode_split(dataset: Dataset, tokenizer, max_length: int) -> EncodedSplit:
    steps = dataset.steps
    prompts = [s.prompt for s in steps]
    enc = tokenizer(prompts, max_length=max_length, truncation=True, padding="max_length",
                    return_tensors="pt")
    untruncated = tokenizer(prompts, truncation=False, padding=False)["input_ids"]
    truncated = sum(len(ids) > max_length for ids in untruncated)

    query = torch.zeros(len(steps), QUERY_LEN, dtype=torch.long)
    target_text = []
    for i, step in enumerate(steps):
        if step.action_type == actions.TYPE:
            ids = tokenizer(step.type_text, max_length=QUERY_LEN, truncation=True)["input_ids"]
            query[i, :len(ids)] = torch.tensor(ids)
            target_text.append(tokenizer.decode(ids, skip_special_tokens=True))
        else:
            target_text.append("")

    max_boxes = max((len(s.boxes) for s in steps), default=0)
    boxes = torch.zeros(len(steps), max(max_boxes, 1), 4)
    for i, step in enumerate(steps):
        if step.boxes:
            boxes[i, :len(step.boxes)] = torch.tensor(step.boxes, dtype=torch.float32)
    return EncodedSplit(
        input_ids=enc["input_ids"],
        attention_mask=enc["attention_mask"],
        query_labels=query,
        action=torch.tensor([s.action_type for s in steps], dtype=torch.long),
        touch=torch.tensor([s.touch for s in steps], dtype=torch.float32).reshape(-1, 2),
        lift=torch.tensor([s.lift for s in steps], dtype=torch.float32).reshape(-1, 2),
        boxes=boxes,
        box_count=torch.tensor([len(s.boxes) for s in steps], dtype=torch.long),
        target_text=target_text,
        truncated=truncated,
        episodes=[s.episode for s in steps],
    )


# --------------------------------------------------------------------------- coordinate units

@dataclass(frozen=True)
class CoordinateUnits:
    """One value of the ``coord_units`` axis: what the design divides the data's (x, y)
    points and its UI boxes by before the loss sees them (each a function of the data's
    units giving an (x, y) divisor)."""

    points: Callable[[Units], tuple[float, float]]
    boxes: Callable[[Units], tuple[float, float]]


def _as_stored(units: Units) -> tuple[float, float]:
    return (1.0, 1.0)


def _screen_fraction(units: Units) -> tuple[float, float]:
    # The review writes ``/ SCREEN_SIZE``, which presumes pixel data; on data already
    # normalized this is the identity rather than a second division.
    return units.scale()


COORD_UNITS = AxisRegistry("coord_units")
# The original design: the data's own units (pixels stay pixels).
COORD_UNITS.register("as_stored", CoordinateUnits(points=_as_stored, boxes=_as_stored))
# Points and boxes as screen fractions, so the penalty loss's "inside the element" rule keeps
# its meaning.
COORD_UNITS.register("screen", CoordinateUnits(points=_screen_fraction, boxes=_screen_fraction))
# The review's dataset code read literally: touch and lift divided, the boxes left in pixels
# while the points are fractions, so that rule can never fire.
COORD_UNITS.register("screen_points", CoordinateUnits(points=_screen_fraction,
                                                      boxes=_as_stored))
COORD_UNITS.check()


def design_divisor(units: Units, coord_units: str) -> tuple[float, float]:
    """What the design divides the data's (x, y) points by before the loss sees them."""
    return COORD_UNITS[coord_units].points(units)


def box_divisor(units: Units, coord_units: str) -> tuple[float, float]:
    """What the design divides the UI boxes by (``screen_points``: nothing, see above)."""
    return COORD_UNITS[coord_units].boxes(units)


def design_targets(batch: dict, units: Units, coord_units: str) -> dict[str, torch.Tensor]:
    """Touch, lift and boxes in the design's units. The (-1, -1) of non-gesture steps is
    divided like any other point, as the review's dataset code does."""
    sx, sy = design_divisor(units, coord_units)
    bx, by = box_divisor(units, coord_units)
    point = batch["touch"].new_tensor([sx, sy])
    box = batch["boxes"].new_tensor([bx, by, bx, by])
    return {"touch": batch["touch"] / point, "lift": batch["lift"] / point,
            "boxes": batch["boxes"] / box}


def to_aitw_yx(points_xy: np.ndarray, divisor: tuple[float, float]) -> np.ndarray:
    """(x, y) points in some units -> AitW's (y, x) screen fractions, given the units' divisor."""
    points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    return np.stack([points[:, 1] / divisor[1], points[:, 0] / divisor[0]], axis=1)


def boxes_to_aitw(boxes_xywh: np.ndarray, divisor: tuple[float, float]) -> np.ndarray:
    """[x, y, w, h] boxes -> AitW's (y, x, h, w) screen fractions."""
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    sx, sy = divisor
    return np.stack([b[:, 1] / sy, b[:, 0] / sx, b[:, 3] / sy, b[:, 2] / sx], axis=1)


def query_steps_for(splits: list[EncodedSplit], requested: int | None) -> int:
    """Steps of the query decoder's greedy run: ``requested``, or (``None``) the longest
    typed-text target in the data, [CLS] and [SEP] included, at most :data:`QUERY_LEN`.

    Both designs' query loss is cross-entropy with ``ignore_index=0``, and every target
    position past the longest text is padding (id 0): those positions add nothing to any loss
    or gradient, so decoding only up to the longest target gives the same losses and
    gradients as the design's 32 steps at a fraction of the cost. What it can change is the
    decoded text at evaluation when the model has not learned to stop (a text is cut at
    this many tokens instead of 32).
    """
    if requested is not None:
        if not 1 <= requested <= QUERY_LEN:
            raise ValueError(f"query_steps must be in [1, {QUERY_LEN}], got {requested}")
        return requested
    longest = max(int((s.query_labels != 0).sum(dim=1).max()) if len(s) else 0 for s in splits)
    return max(1, longest)
