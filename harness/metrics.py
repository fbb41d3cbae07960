"""Task metrics on held-out steps, and trivial baselines to read them against.

The step-level "does this action match?" rule reproduces AitW's official
``android_in_the_wild/action_matching.py`` (google-research/google-research,
read at commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a), vectorised with numpy
over a batch of N steps instead of JAX's per-example ``vmap``.  Quotes of the
official lines sit next to the code that reproduces them.

Conventions (AitW's): points are (y, x) normalized to [0, 1]; UI boxes are
(y_top, x_left, height, width) normalized; actions that are not DUAL_POINT
carry ``actions.NO_POINT`` as touch and lift.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from harness import actions

# --- Official constants -------------------------------------------------------
# action_matching.py:
#   _TAP_DISTANCE_THRESHOLD = 0.14  # Fraction of the screen
#   ANNOTATION_WIDTH_AUGMENT_FRACTION = 1.4
#   ANNOTATION_HEIGHT_AUGMENT_FRACTION = 1.4
#   # Interval determining if an action is a tap or a swipe.
#   _SWIPE_DISTANCE_THRESHOLD = 0.04
#
# The official code runs in JAX with its default dtype, float32 (x64 is off
# unless enabled), and compares against Python-float thresholds, which JAX
# casts to float32 ("weak" scalars).  We do the same arithmetic in float32 so
# that points lying on a threshold or a box edge are decided the same way.
_DTYPE = np.float32
TAP_DISTANCE_THRESHOLD = _DTYPE(0.14)
SWIPE_DISTANCE_THRESHOLD = _DTYPE(0.04)
ANNOTATION_HEIGHT_AUGMENT_FRACTION = _DTYPE(1.4)
ANNOTATION_WIDTH_AUGMENT_FRACTION = _DTYPE(1.4)


# --- Action matching ------------------------------------------------------------

def _points(yx) -> np.ndarray:
    """(N, 2) float32 view of one (2,) point or a batch of points."""
    return np.asarray(yx, dtype=_DTYPE).reshape(-1, 2)


def is_tap(touch_yx, lift_yx) -> np.ndarray:
    """True where a DUAL_POINT is a tap rather than a swipe.

    Official ``is_tap_action``:
        distance = jnp.linalg.norm(
            jnp.array(normalized_start_yx) - jnp.array(normalized_end_yx))
        return distance <= _SWIPE_DISTANCE_THRESHOLD
    i.e. Euclidean distance in normalized units, threshold inclusive.
    Accepts (N, 2) arrays (returns shape (N,)) or a single (2,) pair (returns a
    0-d array).
    """
    single = np.ndim(touch_yx) == 1 and np.ndim(lift_yx) == 1
    distance = np.linalg.norm(_points(touch_yx) - _points(lift_yx), axis=1)
    tap = distance <= SWIPE_DISTANCE_THRESHOLD
    return tap.reshape(()) if single else tap


def grow_boxes(boxes_yxhw) -> np.ndarray:
    """Grow UI boxes around their centre exactly as the official evaluation does.

    Official ``_resize_annotation_bounding_boxes`` (augment fraction 1.4, so a
    box becomes 2.4x its height and width, centred on the old centre):
        height_change = (
            annotation_height_augment_fraction * annotation_positions[:, 2])
        width_change = (
            annotation_width_augment_fraction * annotation_positions[:, 3])
        # Limit bounding box positions to the screen.
        resized_annotations = jnp.stack([
            jnp.maximum(0, annotation_positions[:, 0] - (height_change / 2)),
            jnp.maximum(0, annotation_positions[:, 1] - (width_change / 2)),
            jnp.minimum(1, annotation_positions[:, 2] + height_change),
            jnp.minimum(1, annotation_positions[:, 3] + width_change),
        ], axis=1)

    How this differs from "clip the grown box to the screen": the top/left
    corner is clamped at 0 and the height/width are separately capped at 1,
    but the size is NOT reduced by the part that was clamped off.  A box near
    the top (or left) edge is therefore shifted down (right) rather than cut:
    its bottom lands at 2.4*h instead of y + 1.7*h.  E.g. (y=0.05, h=0.1)
    gives top 0, height 0.24, bottom 0.24, where clipping would give bottom
    0.22.  Conversely the bottom/right edge (top + height) is never clamped
    and may exceed 1; for points inside the screen that makes no difference.
    """
    boxes = np.asarray(boxes_yxhw, dtype=_DTYPE).reshape(-1, 4)
    y, x, h, w = boxes.T
    height_change = ANNOTATION_HEIGHT_AUGMENT_FRACTION * h
    width_change = ANNOTATION_WIDTH_AUGMENT_FRACTION * w
    return np.stack([
        np.maximum(_DTYPE(0), y - height_change / _DTYPE(2)),
        np.maximum(_DTYPE(0), x - width_change / _DTYPE(2)),
        np.minimum(_DTYPE(1), h + height_change),
        np.minimum(_DTYPE(1), w + width_change),
    ], axis=1)


def _inside(yx: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Row-wise: is point yx[i] inside box boxes[i]?  Edges count as inside.

    Official ``_yx_in_bounding_boxes``:
        # The y-axis is inverted for AndroidEnv, so bottom = top + height.
        bottom, right = top + height, left + width
        return jnp.logical_and(y >= top, y <= bottom) & jnp.logical_and(
            x >= left, x <= right)
    """
    top, left, height, width = boxes.T
    y, x = yx.T
    return (y >= top) & (y <= top + height) & (x >= left) & (x <= left + width)


def _both_in_same_box(a_yx: np.ndarray, b_yx: np.ndarray, boxes: list) -> np.ndarray:
    """Per step: do both points fall inside one and the same grown box?

    Official ``_check_tap_actions_match``:
        tap1_in_box = _yx_in_bounding_boxes(tap_1_yx, resized_annotation_positions)
        tap2_in_box = _yx_in_bounding_boxes(tap_2_yx, resized_annotation_positions)
        both_in_box = jnp.max(tap1_in_box & tap2_in_box)
    so the two points must share a box (each in *some* box is not enough).
    Steps without boxes give False here (the official ``jnp.max`` over an empty
    array would raise instead).  The ragged per-step box lists are flattened
    into one array with an owner index so the test runs in one vectorised pass.
    """
    n = len(a_yx)
    counts = np.array([len(b) for b in boxes], dtype=np.int64)
    if counts.sum() == 0:
        return np.zeros(n, dtype=bool)
    flat = np.concatenate([np.asarray(b, dtype=_DTYPE).reshape(-1, 4) for b in boxes])
    grown = grow_boxes(flat)
    owner = np.repeat(np.arange(n), counts)
    both = _inside(a_yx[owner], grown) & _inside(b_yx[owner], grown)
    return np.bincount(owner, weights=both, minlength=n) > 0


def _taps_match(a_yx: np.ndarray, b_yx: np.ndarray, boxes: list) -> np.ndarray:
    """Official rule for two taps: same grown box, or touch points within 0.14.

        within_threshold = (
            jnp.linalg.norm(jnp.array(tap_1_yx) - jnp.array(tap_2_yx))
            <= matching_tap_distance_threshold_screen_percentage
        )
        return jnp.logical_or(both_in_box, within_threshold)
    Only the touch points are compared (the callers pass touch_yx).
    """
    close = np.linalg.norm(a_yx - b_yx, axis=1) <= TAP_DISTANCE_THRESHOLD
    return _both_in_same_box(a_yx, b_yx, boxes) | close


def _main_axis(touch_yx: np.ndarray, lift_yx: np.ndarray) -> np.ndarray:
    """0 for a mostly vertical (y) drag, 1 for a mostly horizontal (x) one.

    Official ``_check_drag_actions_match``:
        drag_1_deltas = drag_1_lift_yx - drag_1_touch_yx
        drag_1_magnitudes = jnp.abs(drag_1_deltas)
        drag_1_main_axis = np.argmax(drag_1_magnitudes)
    ``np.argmax`` returns the first maximum, so |dy| == |dx| counts as the
    y axis; the direction (sign) is discarded.
    """
    return np.argmax(np.abs(lift_yx - touch_yx), axis=1)


def actions_match(pred_type, pred_touch_yx, pred_lift_yx,
                  true_type, true_touch_yx, true_lift_yx, boxes) -> np.ndarray:
    """AitW step match for N (prediction, target) pairs; returns bool (N,).

    ``boxes`` is a list of N arrays, each (M_i, 4) in (y, x, h, w) normalized,
    the UI boxes of that step's screen (M_i may be 0).

    Official ``check_actions_match`` combines the pieces as:
        return jnp.where(
            has_non_dual_point_action,
            jnp.equal(action_1_action_type, action_2_action_type),
            jnp.where(
                different_dual_point_types,
                False,
                jnp.logical_or(taps_match, drags_match),
            ),
        )
    with taps_match gated on both being taps and drags_match on both being
    swipes.  Hence: if either action is not DUAL_POINT, only the types are
    compared (typed text is never looked at); a tap never matches a swipe.
    """
    pred_type = np.asarray(pred_type).reshape(-1)
    true_type = np.asarray(true_type).reshape(-1)
    p_touch, p_lift = _points(pred_touch_yx), _points(pred_lift_yx)
    t_touch, t_lift = _points(true_touch_yx), _points(true_lift_yx)
    n = len(true_type)
    lengths = {len(pred_type), len(p_touch), len(p_lift), len(t_touch), len(t_lift), len(boxes)}
    if lengths != {n}:
        raise ValueError(f"actions_match: inputs disagree on the number of steps: {sorted(lengths)}")

    has_non_dual_point = (pred_type != actions.DUAL_POINT) | (true_type != actions.DUAL_POINT)
    pred_tap, true_tap = is_tap(p_touch, p_lift), is_tap(t_touch, t_lift)
    taps = pred_tap & true_tap & _taps_match(p_touch, t_touch, boxes)
    swipes = ~pred_tap & ~true_tap & (_main_axis(p_touch, p_lift) == _main_axis(t_touch, t_lift))
    return np.where(has_non_dual_point, pred_type == true_type, taps | swipes)


# --- Step records -----------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Predictions:
    """A model's (or a baseline's) actions for N held-out steps."""

    action_type: np.ndarray  # (N,) int AitW codes
    touch_yx: np.ndarray     # (N, 2) normalized (y, x)
    lift_yx: np.ndarray      # (N, 2) normalized (y, x)
    text: list[str]          # N typed strings ("" where none)

    def __post_init__(self):
        # Frozen, so normalise the fields through object.__setattr__.
        object.__setattr__(self, "action_type", np.asarray(self.action_type, dtype=np.int64).reshape(-1))
        object.__setattr__(self, "touch_yx", np.asarray(self.touch_yx, dtype=np.float64).reshape(-1, 2))
        object.__setattr__(self, "lift_yx", np.asarray(self.lift_yx, dtype=np.float64).reshape(-1, 2))
        object.__setattr__(self, "text", list(self.text))
        self._check_lengths()

    def __len__(self) -> int:
        return len(self.action_type)

    def _sizes(self) -> dict[str, int]:
        return {"action_type": len(self.action_type), "touch_yx": len(self.touch_yx),
                "lift_yx": len(self.lift_yx), "text": len(self.text)}

    def _check_lengths(self) -> None:
        sizes = self._sizes()
        if len(set(sizes.values())) > 1:
            raise ValueError(f"{type(self).__name__}: fields disagree on N: {sizes}")


@dataclass(frozen=True, eq=False)
class Targets(Predictions):
    """The true actions of N steps, plus the UI boxes of each step's screen."""

    boxes: list[np.ndarray]  # N arrays (M_i, 4), (y, x, h, w) normalized

    def __post_init__(self):
        object.__setattr__(self, "boxes", [np.asarray(b, dtype=np.float64).reshape(-1, 4) for b in self.boxes])
        super().__post_init__()

    def _sizes(self) -> dict[str, int]:
        return {**super()._sizes(), "boxes": len(self.boxes)}


# --- Task metrics -----------------------------------------------------------------

def _mean(values: np.ndarray) -> float:
    """Mean of hits (bools) or scores; NaN (not 0, not 1) when there is nothing to count."""
    return float(np.mean(values)) if values.size else float("nan")


def word_f1(predicted: str, target: str) -> float:
    """Word-overlap F1 of two texts (SQuAD's token F1): partial credit where exact match gives
    none, so the typed-text head's progress shows before it spells whole texts right."""
    p, t = predicted.split(), target.split()
    if not p or not t:
        return float(p == t)
    common = sum((Counter(p) & Counter(t)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(t)
    return 2 * precision * recall / (precision + recall)


def task_metrics(pred: Predictions, true: Targets) -> dict[str, float]:
    """Held-out task metrics of DESIGN.md section 4, as fractions in [0, 1].

    A fraction whose denominator is empty is NaN, so "no such steps" is never
    confused with "all wrong" or "all right".  Per-type keys exist only for
    codes in ``actions.USED_CODES`` that occur among the true steps.
    """
    if len(pred) != len(true):
        raise ValueError(f"task_metrics: {len(pred)} predictions for {len(true)} targets")
    match = actions_match(pred.action_type, pred.touch_yx, pred.lift_yx,
                          true.action_type, true.touch_yx, true.lift_yx, true.boxes)
    true_dual = true.action_type == actions.DUAL_POINT
    true_tap = true_dual & is_tap(true.touch_yx, true.lift_yx)
    true_swipe = true_dual & ~true_tap
    true_typed = true.action_type == actions.TYPE
    same_text = np.array([p == t for p, t in zip(pred.text, true.text)], dtype=bool)
    text_hit = (pred.action_type == actions.TYPE) & same_text

    out = {
        "action_acc": _mean(pred.action_type == true.action_type),
        "step_acc": _mean(match),
        "tap_acc": _mean(match[true_tap]),
        "swipe_acc": _mean(match[true_swipe]),
        "text_em": _mean(text_hit[true_typed]),
        "text_f1": _mean(np.array([word_f1(p, t) if pt == actions.TYPE else 0.0
                                   for p, t, pt in zip(pred.text, true.text, pred.action_type)
                                   ])[true_typed] if len(true) else np.zeros(0)),
    }
    for code in actions.USED_CODES:
        of_type = true.action_type == code
        if of_type.any():
            out[f"step_acc/{actions.name(code)}"] = _mean(match[of_type])
            out[f"n/{actions.name(code)}"] = float(of_type.sum())
    out["n_steps"] = float(len(true))
    out["n/taps"], out["n/swipes"] = float(true_tap.sum()), float(true_swipe.sum())
    return out


# --- Trivial baselines --------------------------------------------------------------

def _majority_code(codes: np.ndarray) -> int:
    """Most frequent code; ties go to the smaller code (np.unique sorts)."""
    values, counts = np.unique(codes, return_counts=True)
    return int(values[np.argmax(counts)])


def _majority_text(texts: list[str]) -> str:
    """Most frequent string; ties go to the lexicographically smaller one."""
    counts = Counter(texts)
    return min(counts, key=lambda s: (-counts[s], s)) if counts else ""


def baseline_predictions(train: Targets, n: int) -> Predictions:
    """"Majority action + mean coordinate + majority text", fitted on training steps.

    Every one of the ``n`` steps gets the most frequent training action type;
    touch and lift are the mean training touch and mean training lift over
    training DUAL_POINT steps; text is the most frequent typed text among
    training TYPE steps ("" if none).  The mean-coordinate baseline is what a
    model that ignores its input would score, so a coordinate head that does
    not beat it has learnt nothing from the screen.

    With no DUAL_POINT in training the majority type cannot be DUAL_POINT, so
    the coordinates are never used by matching; they are set to AitW's
    ``NO_POINT`` rather than a made-up mean.
    """
    if len(train) == 0:
        raise ValueError("baseline_predictions: no training steps to fit on")
    dual = train.action_type == actions.DUAL_POINT
    if dual.any():
        touch, lift = train.touch_yx[dual].mean(axis=0), train.lift_yx[dual].mean(axis=0)
    else:
        touch = lift = np.asarray(actions.NO_POINT, dtype=np.float64)
    typed = [t for t, code in zip(train.text, train.action_type) if code == actions.TYPE]
    return Predictions(
        action_type=np.full(n, _majority_code(train.action_type), dtype=np.int64),
        touch_yx=np.tile(touch, (n, 1)),
        lift_yx=np.tile(lift, (n, 1)),
        text=[_majority_text(typed)] * n,
    )


def baseline_metrics(train: Targets, val: Targets) -> dict[str, float]:
    """task_metrics of the trivial baseline on ``val``, keys prefixed ``baseline/``.

    The mean-coordinate baseline is what a model that ignores its input would
    score: report model metrics next to these, not next to zero.
    """
    scores = task_metrics(baseline_predictions(train, len(val)), val)
    return {f"baseline/{key}": value for key, value in scores.items()}
