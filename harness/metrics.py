"""Task metrics on held-out steps, and trivial baselines to read them against.

Whether a predicted action matches the true one follows the rules of AitW's official
evaluation: file ``android_in_the_wild/action_matching.py`` of the repository
google-research/google-research (Apache-2.0), as read at commit
1d49f2c0d5506a6e11115726164d42f6b7b7b95a.  The code below is our own numpy version of those
rules: it decides a batch of N steps at once, where upstream decides one pair of actions per
call, in JAX.  Each rule's docstring states the rule in words and names the upstream function
it follows; tests/test_metrics.py pins the cases that matter (thresholds, edges, box growth).

Conventions (AitW's): points are (y, x) normalized to [0, 1]; UI boxes are
(y_top, x_left, height, width) normalized; actions that are not DUAL_POINT
carry ``actions.NO_POINT`` as touch and lift.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from harness import actions

# --- Thresholds and box growth ----------------------------------------------------
# The values come from the module-level constants of upstream's action_matching.py
# (google-research/google-research, commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a):
#   - two taps match when their touch points are at most 0.14 apart (a fraction of the screen);
#   - a DUAL_POINT whose touch and lift are at most 0.04 apart is a tap, otherwise a swipe;
#   - before the containment test, a UI box grows by 1.4 times its own height and 1.4 times
#     its own width.
#
# Upstream computes in JAX, whose default float type is float32 (64-bit floats are off unless
# enabled), and its Python-float thresholds are converted to float32 when compared.  We do the
# arithmetic in float32 too, so that a point exactly on a threshold or on a box edge gets the
# same answer.
_DTYPE = np.float32
TAP_MATCH_DISTANCE = _DTYPE(0.14)   # two taps this close (or closer) match
TAP_MAX_TRAVEL = _DTYPE(0.04)       # touch-to-lift distance up to which a gesture is a tap
BOX_GROWTH_HEIGHT = _DTYPE(1.4)     # a box grows by this many times its height ...
BOX_GROWTH_WIDTH = _DTYPE(1.4)      # ... and this many times its width


# --- Action matching ------------------------------------------------------------

def _points(yx) -> np.ndarray:
    """(N, 2) float32 view of one (2,) point or a batch of points."""
    return np.asarray(yx, dtype=_DTYPE).reshape(-1, 2)


def is_tap(touch_yx, lift_yx) -> np.ndarray:
    """True where a DUAL_POINT is a tap rather than a swipe.

    Rule: a gesture is a tap when the straight-line (Euclidean) distance from its touch point
    to its lift point, in normalized units, is at most 0.04; a distance of exactly 0.04 is
    still a tap.
    Source: google-research/google-research, android_in_the_wild/action_matching.py,
    function ``is_tap_action``, commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a.

    Accepts (N, 2) arrays (returns shape (N,)) or a single (2,) pair (returns a
    0-d array).
    """
    single = np.ndim(touch_yx) == 1 and np.ndim(lift_yx) == 1
    distance = np.linalg.norm(_points(touch_yx) - _points(lift_yx), axis=1)
    tap = distance <= TAP_MAX_TRAVEL
    return tap.reshape(()) if single else tap


def grow_boxes(boxes_yxhw) -> np.ndarray:
    """Grow UI boxes around their centre, as AitW's evaluation does before testing taps.

    Rule: a box gains 1.4 times its height and 1.4 times its width, half on each side, so it
    becomes 2.4 times as tall and as wide around the same centre.  Then two separate limits
    apply: the new top and left are raised to 0 where they fall below it, and the new height
    and width are lowered to 1 where they exceed it.  Source: google-research/google-research,
    android_in_the_wild/action_matching.py, function ``_resize_annotation_bounding_boxes``,
    commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a.

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
    extra_h = BOX_GROWTH_HEIGHT * h
    extra_w = BOX_GROWTH_WIDTH * w
    return np.stack([
        np.maximum(_DTYPE(0), y - extra_h / _DTYPE(2)),
        np.maximum(_DTYPE(0), x - extra_w / _DTYPE(2)),
        np.minimum(_DTYPE(1), h + extra_h),
        np.minimum(_DTYPE(1), w + extra_w),
    ], axis=1)


def _inside(yx: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Row-wise: is point yx[i] inside box boxes[i]?  Edges count as inside.

    Rule: inside means top <= y <= top + height and left <= x <= left + width, every bound
    included.  Screen y grows downward, so a box's bottom edge is its top plus its height.
    Source: google-research/google-research, android_in_the_wild/action_matching.py,
    function ``_yx_in_bounding_boxes``, commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a.
    """
    top, left, height, width = boxes.T
    y, x = yx.T
    return (y >= top) & (y <= top + height) & (x >= left) & (x <= left + width)


def _both_in_same_box(a_yx: np.ndarray, b_yx: np.ndarray, boxes: list) -> np.ndarray:
    """Per step: do both points fall inside one and the same grown box?

    Rule: the two tap points must lie in a single grown box together; each lying in some
    box, but not the same one, is not enough.  Source: google-research/google-research,
    android_in_the_wild/action_matching.py, the box test of ``_check_tap_actions_match``,
    commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a.

    Steps without boxes give False here.  (Upstream reduces the per-box results with a
    maximum, which has nothing to reduce and fails when a screen has no boxes.)  The ragged
    per-step box lists are flattened into one array with an owner index so the test runs in
    one vectorised pass.
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
    """Two taps match if they share a grown box, or if they are at most 0.14 apart.

    Rule: either condition is enough; the distance is Euclidean in normalized units, with
    0.14 itself counting as a match.  Only the touch points are compared (the callers pass
    touch_yx).
    Source: google-research/google-research, android_in_the_wild/action_matching.py,
    function ``_check_tap_actions_match``, commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a.
    """
    close = np.linalg.norm(a_yx - b_yx, axis=1) <= TAP_MATCH_DISTANCE
    return _both_in_same_box(a_yx, b_yx, boxes) | close


def _main_axis(touch_yx: np.ndarray, lift_yx: np.ndarray) -> np.ndarray:
    """0 for a mostly vertical (y) drag, 1 for a mostly horizontal (x) one.

    Rule: two swipes match when their main axes agree, the main axis being the one along
    which the swipe moves farther (larger absolute change from touch to lift).  Direction
    and length are ignored.  On a tie, |dy| == |dx|, the y axis wins, because upstream takes
    the first position of the maximum and y comes first; ``np.argmax`` does the same.
    Source: google-research/google-research, android_in_the_wild/action_matching.py,
    function ``_check_drag_actions_match``, commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a.
    """
    return np.argmax(np.abs(lift_yx - touch_yx), axis=1)


def actions_match(pred_type, pred_touch_yx, pred_lift_yx,
                  true_type, true_touch_yx, true_lift_yx, boxes) -> np.ndarray:
    """AitW step match for N (prediction, target) pairs; returns bool (N,).

    ``boxes`` is a list of N arrays, each (M_i, 4) in (y, x, h, w) normalized,
    the UI boxes of that step's screen (M_i may be 0).

    Rule, combining the pieces above:
      - if either action is not DUAL_POINT, the step matches exactly when the two action
        types are equal (typed text is never looked at);
      - if both are DUAL_POINT but one is a tap and the other a swipe, no match;
      - two taps match by :func:`_taps_match`, two swipes by having the same main axis.
    Source: google-research/google-research, android_in_the_wild/action_matching.py,
    function ``check_actions_match``, commit 1d49f2c0d5506a6e11115726164d42f6b7b7b95a.
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
    scores = per_step_scores(pred, true)
    # each metric is the mean of its in-scope scores, taken in step order
    out = {name: _mean(values[~np.isnan(values)]) for name, values in scores.items()}
    match = scores["step_acc"]
    for code in actions.USED_CODES:
        of_type = true.action_type == code
        if of_type.any():
            out[f"step_acc/{actions.name(code)}"] = _mean(match[of_type])
            out[f"n/{actions.name(code)}"] = float(of_type.sum())
    out["n_steps"] = float(len(true))
    out["n/taps"] = float(np.isfinite(scores["tap_acc"]).sum())
    out["n/swipes"] = float(np.isfinite(scores["swipe_acc"]).sum())
    return out


# --- Trivial baselines --------------------------------------------------------------

#: The held-out metrics that are means of per-step scores (see :func:`per_step_scores`).
#: ``head_*``: each head on its own target rows, whatever action is predicted
#: (:func:`head_scores`).
HEAD_METRICS = ("head_text_f1", "head_tap_acc", "head_swipe_acc")
PER_STEP_METRICS = ("action_acc", "step_acc", "tap_acc", "swipe_acc", "text_em",
                    "text_f1") + HEAD_METRICS


def _target_gestures(true: Targets) -> tuple[np.ndarray, np.ndarray]:
    """(taps, swipes): which target steps are DUAL_POINT taps and which are swipes."""
    dual = true.action_type == actions.DUAL_POINT
    tap = dual & is_tap(true.touch_yx, true.lift_yx)
    return tap, dual & ~tap


def per_step_scores(pred: Predictions, true: Targets) -> dict[str, np.ndarray]:
    """Each step's score behind each metric of :func:`task_metrics`: 1.0 / 0.0 for a hit or a
    miss (a word F1 for ``text_f1``), NaN where the step is outside the metric's scope (only
    taps count for ``tap_acc``, only TYPE steps for the typed-text metrics). The NaN-skipping
    mean of each array is that metric. Two runs scored on the same steps can then be
    compared step by step (a paired difference), which is what the report's verdicts do."""
    if len(pred) != len(true):
        raise ValueError(f"per_step_scores: {len(pred)} predictions for {len(true)} targets")
    match = actions_match(pred.action_type, pred.touch_yx, pred.lift_yx,
                          true.action_type, true.touch_yx, true.lift_yx, true.boxes)
    true_tap, true_swipe = _target_gestures(true)
    true_typed = true.action_type == actions.TYPE
    predicted_type = pred.action_type == actions.TYPE
    text_hit = np.array([pt and p == t for p, t, pt in zip(pred.text, true.text, predicted_type)],
                        dtype=float)
    f1 = np.array([word_f1(p, t) if pt else 0.0
                   for p, t, pt in zip(pred.text, true.text, predicted_type)], dtype=float)
    everywhere = np.ones(len(true), dtype=bool)
    return {"action_acc": _scoped(pred.action_type == true.action_type, everywhere),
            "step_acc": _scoped(match, everywhere), "tap_acc": _scoped(match, true_tap),
            "swipe_acc": _scoped(match, true_swipe), "text_em": _scoped(text_hit, true_typed),
            "text_f1": _scoped(f1, true_typed), **head_scores(pred, true)}


def _scoped(values, scope) -> np.ndarray:
    return np.where(scope, np.asarray(values).astype(float), np.nan)


def head_scores(pred: Predictions, true: Targets,
                swipe_pred: Predictions | None = None) -> dict[str, np.ndarray]:
    """Each head on its own target rows, whatever action type is predicted: the end-to-end
    metric with the predicted type replaced by the target's, so a head's progress shows even
    where the action head routes the step elsewhere (and a baseline that predicts the
    majority action is not zero by construction).

    - ``head_text_f1``: word F1 of the predicted text on steps whose target is TYPE (a text
      the model did not decode, because its routing skipped the row, is "" and scores 0);
    - ``head_tap_acc``: on DUAL_POINT taps, whether the predicted gesture matches the tap by
      AitW's rules (:func:`actions_match` with both actions DUAL_POINT);
    - ``head_swipe_acc``: the same on DUAL_POINT swipes, with ``swipe_pred``'s gesture when
      given (a baseline predicts one gesture for taps and another for swipes).

    NaN outside each metric's rows."""
    swipe_pred = pred if swipe_pred is None else swipe_pred
    true_tap, true_swipe = _target_gestures(true)
    as_target = lambda p: actions_match(true.action_type, p.touch_yx, p.lift_yx,
                                        true.action_type, true.touch_yx, true.lift_yx,
                                        true.boxes)
    f1 = np.array([word_f1(p, t) for p, t in zip(pred.text, true.text)], dtype=float)
    return {"head_text_f1": _scoped(f1, true.action_type == actions.TYPE),
            "head_tap_acc": _scoped(as_target(pred), true_tap),
            "head_swipe_acc": _scoped(as_target(swipe_pred), true_swipe)}


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


def _swipe_direction(touch_yx: np.ndarray, lift_yx: np.ndarray) -> np.ndarray:
    """0 up, 1 down, 2 left, 3 right: the main axis (:func:`_main_axis`) and its sign."""
    axis = _main_axis(touch_yx, lift_yx)
    delta = (lift_yx - touch_yx)[np.arange(len(axis)), axis]
    return np.where(axis == 0, np.where(delta < 0, 0, 1), np.where(delta < 0, 2, 3))


def baseline_head_predictions(train: Targets, n: int) -> tuple[Predictions, Predictions]:
    """The trivial baselines of the head metrics (:func:`head_scores`), fitted on training
    steps: (for taps and typed text, for swipes). The first taps the mean training tap point
    (touch = lift, so it is a tap) and types the most frequent training text of TYPE steps;
    the second swipes along the most frequent training swipe direction (its mean touch and
    lift; ties go to the lower direction code). Steps without such a training step get
    ``NO_POINT``, which matches nothing."""
    if len(train) == 0:
        raise ValueError("baseline_head_predictions: no training steps to fit on")
    taps, swipes = _target_gestures(train)
    none = np.asarray(actions.NO_POINT, dtype=np.float64)
    tap = train.touch_yx[taps].mean(axis=0) if taps.any() else none
    swipe_touch = swipe_lift = none
    if swipes.any():
        touch, lift = train.touch_yx[swipes], train.lift_yx[swipes]
        direction = _swipe_direction(_points(touch), _points(lift))
        common = direction == _majority_code(direction)
        swipe_touch, swipe_lift = touch[common].mean(axis=0), lift[common].mean(axis=0)
    typed = [t for t, code in zip(train.text, train.action_type) if code == actions.TYPE]
    kind = np.full(n, actions.DUAL_POINT, dtype=np.int64)
    text = [_majority_text(typed)] * n
    return (Predictions(kind, np.tile(tap, (n, 1)), np.tile(tap, (n, 1)), text),
            Predictions(kind, np.tile(swipe_touch, (n, 1)), np.tile(swipe_lift, (n, 1)), text))


def baseline_scores(train: Targets, true: Targets) -> dict[str, np.ndarray]:
    """The trivial baseline's score on each step of ``true`` (:func:`per_step_scores`): the
    end-to-end metrics of :func:`baseline_predictions`, the head metrics of
    :func:`baseline_head_predictions`."""
    scores = per_step_scores(baseline_predictions(train, len(true)), true)
    for_taps, for_swipes = baseline_head_predictions(train, len(true))
    scores.update(head_scores(for_taps, true, for_swipes))
    return scores


def baseline_metrics(train: Targets, val: Targets) -> dict[str, float]:
    """task_metrics of the trivial baseline on ``val``, keys prefixed ``baseline/``.

    The mean-coordinate baseline is what a model that ignores its input would
    score: report model metrics next to these, not next to zero.
    """
    scores = task_metrics(baseline_predictions(train, len(val)), val)
    heads = baseline_scores(train, val)
    scores.update({name: _mean(heads[name][~np.isnan(heads[name])]) for name in HEAD_METRICS})
    return {f"baseline/{key}": value for key, value in scores.items()}
