"""Hand-made cases for harness.metrics with expected values worked out by hand."""

import math

import numpy as np
import pytest

from harness import actions
from harness.actions import (DUAL_POINT, NO_POINT, PRESS_BACK, PRESS_HOME, STATUS_TASK_COMPLETE,
                             TYPE)
from harness.metrics import (Predictions, Targets, actions_match, baseline_head_predictions,
                             baseline_metrics, baseline_predictions, baseline_scores, grow_boxes,
                             head_scores, is_tap, task_metrics)

NO_BOXES = np.zeros((0, 4))
# Grown to top/left 0.4 - 0.7 * 0.1 = 0.33, size 2.4 * 0.1 = 0.24, i.e. [0.33, 0.57] on both axes.
CENTRE_BOX = np.array([[0.4, 0.4, 0.1, 0.1]])
FAR_BOX = np.array([[0.8, 0.8, 0.05, 0.05]])


def match_one(pred, true, boxes=NO_BOXES):
    """actions_match for one pair; pred and true are (type, touch, lift)."""
    (pt, ptouch, plift), (tt, ttouch, tlift) = pred, true
    out = actions_match([pt], [ptouch], [plift], [tt], [ttouch], [tlift], [boxes])
    assert out.shape == (1,)
    return bool(out[0])


def tap(y, x):
    return (DUAL_POINT, (y, x), (y, x))


def swipe(y0, x0, y1, x1):
    return (DUAL_POINT, (y0, x0), (y1, x1))


def other(code):
    return (code, NO_POINT, NO_POINT)


# --- is_tap -------------------------------------------------------------------------

def test_is_tap_batch_and_single_pair():
    touch = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    lift = np.array([[0.5, 0.5], [0.5, 0.53], [0.5, 0.55]])  # distances 0, 0.03, 0.05
    np.testing.assert_array_equal(is_tap(touch, lift), [True, True, False])
    single = is_tap((0.2, 0.2), (0.2, 0.23))
    assert single.shape == () and bool(single)


# --- grow_boxes -----------------------------------------------------------------------

def official_resize(box):
    """The official _resize_annotation_bounding_boxes, written out for one box."""
    y, x, h, w = box
    dh, dw = 1.4 * h, 1.4 * w
    return [max(0, y - dh / 2), max(0, x - dw / 2), min(1, h + dh), min(1, w + dw)]


@pytest.mark.parametrize("box, expected", [
    ((0.0, 0.0, 0.1, 0.2), (0.0, 0.0, 0.24, 0.48)),     # top-left corner: top/left clamped at 0
    ((0.9, 0.8, 0.1, 0.2), (0.83, 0.66, 0.24, 0.48)),   # bottom-right: bottom 1.07, not clamped
    ((0.5, 0.5, 0.5, 0.5), (0.15, 0.15, 1.0, 1.0)),     # size capped at 1
])
def test_grow_boxes_at_screen_edges_equals_official_formula(box, expected):
    grown = grow_boxes(np.array([box]))
    assert grown.shape == (1, 4)
    np.testing.assert_allclose(grown[0], expected, atol=1e-6)
    np.testing.assert_allclose(grown[0], official_resize(box), atol=1e-6)


def test_grow_boxes_keeps_centre_away_from_edges():
    grown = grow_boxes(CENTRE_BOX)[0]
    np.testing.assert_allclose(grown, [0.33, 0.33, 0.24, 0.24], atol=1e-6)
    np.testing.assert_allclose(grown[:2] + grown[2:] / 2, [0.45, 0.45], atol=1e-6)


def test_grow_boxes_empty():
    assert grow_boxes(NO_BOXES).shape == (0, 4)


# --- Taps -----------------------------------------------------------------------------

def test_taps_in_same_grown_box_but_far_apart_match():
    # 0.2 * sqrt(2) = 0.28 apart, both inside the grown box [0.33, 0.57]^2.
    assert match_one(tap(0.55, 0.55), tap(0.35, 0.35), CENTRE_BOX)


def test_same_taps_outside_every_grown_box_do_not_match():
    assert not match_one(tap(0.55, 0.55), tap(0.35, 0.35), FAR_BOX)
    assert not match_one(tap(0.55, 0.55), tap(0.35, 0.35), NO_BOXES)
    # One inside the grown box, the other just outside it (0.60 > 0.57).
    assert not match_one(tap(0.60, 0.60), tap(0.35, 0.35), CENTRE_BOX)


def test_taps_each_in_a_different_box_do_not_match():
    boxes = np.concatenate([CENTRE_BOX, [[0.7, 0.7, 0.1, 0.1]]])  # second grown: [0.63, 0.87]
    assert not match_one(tap(0.75, 0.75), tap(0.35, 0.35), boxes)


def test_tap_within_0_14_outside_boxes_matches():
    assert match_one(tap(0.5, 0.62), tap(0.5, 0.5), FAR_BOX)   # 0.12 apart


def test_tap_at_0_15_outside_boxes_does_not_match():
    assert not match_one(tap(0.5, 0.65), tap(0.5, 0.5), FAR_BOX)  # 0.15 apart


def test_grown_box_edges_are_inclusive():
    top, left, h, w = grow_boxes(CENTRE_BOX)[0]
    corner_a = (top, left)
    corner_b = (top + h, left + w)  # same float32 arithmetic as the containment test
    assert match_one(tap(*corner_b), tap(*corner_a), CENTRE_BOX)


def test_box_near_top_is_shifted_not_clipped():
    # Official quirk: box (y=0.05, h=0.1) grows to top max(0, -0.02) = 0, height 0.24,
    # so its bottom is 0.24; clipping the grown box to the screen would give 0.22.
    box = np.array([[0.05, 0.4, 0.1, 0.2]])  # grown x range [0.26, 0.74]
    assert match_one(tap(0.23, 0.7), tap(0.01, 0.3), box)      # 0.46 apart, y=0.23 in box
    assert not match_one(tap(0.25, 0.7), tap(0.01, 0.3), box)  # y=0.25 below the box


# --- Swipes ----------------------------------------------------------------------------

def test_swipes_same_axis_opposite_sign_match():
    assert match_one(swipe(0.2, 0.5, 0.8, 0.5), swipe(0.8, 0.5, 0.2, 0.5))
    assert match_one(swipe(0.5, 0.9, 0.5, 0.1), swipe(0.5, 0.2, 0.5, 0.8))


def test_swipes_different_axes_do_not_match():
    assert not match_one(swipe(0.5, 0.2, 0.5, 0.8), swipe(0.8, 0.5, 0.2, 0.5))


def test_diagonal_swipe_counts_as_vertical():
    # np.argmax takes the first maximum: |dy| == |dx| is the y axis.
    diagonal = swipe(0.2, 0.2, 0.5, 0.5)
    assert match_one(diagonal, swipe(0.8, 0.5, 0.2, 0.5))
    assert not match_one(diagonal, swipe(0.5, 0.2, 0.5, 0.8))


# --- Mixed kinds and types ----------------------------------------------------------------

def test_tap_never_matches_swipe():
    # Same touch point, inside the same grown box, yet a tap against a swipe.
    assert not match_one(swipe(0.4, 0.4, 0.4, 0.5), tap(0.4, 0.4), CENTRE_BOX)
    assert not match_one(tap(0.4, 0.4), swipe(0.4, 0.4, 0.4, 0.5), CENTRE_BOX)


def test_non_dual_point_pairs_compare_types_only():
    assert not match_one(other(PRESS_BACK), other(PRESS_HOME))
    assert match_one(other(PRESS_BACK), other(PRESS_BACK))
    assert match_one(other(STATUS_TASK_COMPLETE), other(STATUS_TASK_COMPLETE))
    assert not match_one(tap(0.5, 0.5), other(PRESS_BACK))
    assert not match_one(other(TYPE), tap(0.5, 0.5))


def test_type_actions_with_different_text_match():
    # actions_match takes no text at all; task_metrics scores text separately (text_em).
    pred = Predictions([TYPE], [NO_POINT], [NO_POINT], ["hello"])
    true = Targets([TYPE], [NO_POINT], [NO_POINT], ["goodbye"], [NO_BOXES])
    metrics = task_metrics(pred, true)
    assert metrics["step_acc"] == 1.0 and metrics["text_em"] == 0.0


def test_batch_equals_one_by_one():
    cases = [
        (tap(0.55, 0.55), tap(0.35, 0.35), CENTRE_BOX, True),
        (tap(0.55, 0.55), tap(0.35, 0.35), NO_BOXES, False),
        (tap(0.5, 0.62), tap(0.5, 0.5), FAR_BOX, True),
        (swipe(0.2, 0.5, 0.8, 0.5), swipe(0.8, 0.5, 0.2, 0.5), NO_BOXES, True),
        (swipe(0.5, 0.2, 0.5, 0.8), swipe(0.8, 0.5, 0.2, 0.5), CENTRE_BOX, False),
        (other(PRESS_BACK), other(PRESS_HOME), NO_BOXES, False),
        (other(TYPE), other(TYPE), FAR_BOX, True),
    ]
    preds, trues, boxes, expected = zip(*cases)
    got = actions_match([p[0] for p in preds], [p[1] for p in preds], [p[2] for p in preds],
                        [t[0] for t in trues], [t[1] for t in trues], [t[2] for t in trues],
                        list(boxes))
    np.testing.assert_array_equal(got, expected)


def test_actions_match_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        actions_match([DUAL_POINT], [(0.5, 0.5)], [(0.5, 0.5)],
                      [DUAL_POINT, DUAL_POINT], [(0.5, 0.5)] * 2, [(0.5, 0.5)] * 2, [NO_BOXES])


# --- task_metrics -------------------------------------------------------------------------

def make_targets(steps, boxes=None):
    """Targets from (type, touch, lift, text) tuples."""
    types, touch, lift, text = zip(*steps)
    return Targets(types, touch, lift, list(text), boxes or [NO_BOXES] * len(steps))


def make_predictions(steps):
    types, touch, lift, text = zip(*steps)
    return Predictions(types, touch, lift, list(text))


def five_step_set():
    true = make_targets([
        (DUAL_POINT, (0.5, 0.5), (0.5, 0.5), ""),        # tap
        (DUAL_POINT, (0.2, 0.2), (0.2, 0.2), ""),        # tap, in a box
        (TYPE, NO_POINT, NO_POINT, "hello"),
        (TYPE, NO_POINT, NO_POINT, "world"),
        (PRESS_BACK, NO_POINT, NO_POINT, ""),
    ], boxes=[NO_BOXES, np.array([[0.15, 0.15, 0.1, 0.1]]), NO_BOXES, NO_BOXES, NO_BOXES])
    pred = make_predictions([
        (DUAL_POINT, (0.55, 0.5), (0.55, 0.5), ""),      # 0.05 away -> match
        (DUAL_POINT, (0.2, 0.2), (0.5, 0.2), ""),        # a swipe against a tap -> no match
        (TYPE, NO_POINT, NO_POINT, "hello"),             # match, exact text
        (TYPE, NO_POINT, NO_POINT, "word"),              # match, wrong text
        (PRESS_HOME, NO_POINT, NO_POINT, ""),            # wrong type
    ])
    return pred, true


def test_task_metrics_on_five_hand_made_steps():
    pred, true = five_step_set()
    metrics = task_metrics(pred, true)
    expected = {
        "action_acc": 4 / 5,          # all but PRESS_HOME vs PRESS_BACK
        "step_acc": 3 / 5,            # steps 0, 2, 3
        "tap_acc": 1 / 2,             # true taps: steps 0 (hit) and 1 (miss)
        "text_em": 1 / 2,             # true TYPE: "hello" hit, "world" vs "word" miss
        "text_f1": 1 / 2,             # word F1: 1 for "hello", 0 for "word" against "world"
        "step_acc/TYPE": 1.0, "n/TYPE": 2.0,
        "step_acc/DUAL_POINT": 0.5, "n/DUAL_POINT": 2.0,
        "step_acc/PRESS_BACK": 0.0, "n/PRESS_BACK": 1.0,
        "n_steps": 5.0,
    }
    # no PRESS_HOME etc.: absent in truth
    assert set(metrics) == set(expected) | {"swipe_acc", "n/taps", "n/swipes", "head_text_f1",
                                            "head_tap_acc", "head_swipe_acc"}
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), key
    assert math.isnan(metrics["swipe_acc"])  # no true swipes: NaN, not 0 or 1


def test_head_metrics_score_each_head_on_its_own_rows_whatever_the_action():
    true = make_targets([
        (DUAL_POINT, (0.5, 0.5), (0.5, 0.5), ""),        # tap
        (DUAL_POINT, (0.2, 0.2), (0.2, 0.2), ""),        # tap
        (DUAL_POINT, (0.8, 0.5), (0.3, 0.5), ""),        # swipe up (y falls)
        (TYPE, NO_POINT, NO_POINT, "pizza near me"),
        (TYPE, NO_POINT, NO_POINT, "cat videos"),
        (PRESS_BACK, NO_POINT, NO_POINT, ""),
    ])
    pred = make_predictions([
        (PRESS_HOME, (0.55, 0.5), (0.55, 0.5), ""),      # wrong action, tap 0.05 away: head hit
        (DUAL_POINT, (0.7, 0.7), (0.7, 0.7), ""),        # right action, tap far away: miss
        (TYPE, (0.9, 0.5), (0.1, 0.5), "x"),             # wrong action, vertical swipe: hit
        (PRESS_HOME, NO_POINT, NO_POINT, "pizza near"),   # wrong action, F1 0.8
        (TYPE, NO_POINT, NO_POINT, "dog videos"),        # right action, F1 0.5
        (PRESS_BACK, NO_POINT, NO_POINT, "ignored"),
    ])
    scores = head_scores(pred, true)
    nan = math.nan
    np.testing.assert_allclose(scores["head_tap_acc"], [1, 0, nan, nan, nan, nan])
    np.testing.assert_allclose(scores["head_swipe_acc"], [nan, nan, 1, nan, nan, nan])
    np.testing.assert_allclose(scores["head_text_f1"], [nan, nan, nan, 0.8, 0.5, nan])
    metrics = task_metrics(pred, true)
    assert metrics["head_tap_acc"] == 0.5 and metrics["head_swipe_acc"] == 1.0
    assert metrics["head_text_f1"] == pytest.approx(0.65)
    # end to end, the wrong action types score nothing
    assert metrics["tap_acc"] == 0.0 and metrics["swipe_acc"] == 0.0
    assert metrics["text_f1"] == pytest.approx(0.25)


def test_task_metrics_perfect_predictions_score_one():
    _, true = five_step_set()
    perfect = task_metrics(true, true)  # a Targets is also a Predictions
    for key in ("action_acc", "step_acc", "tap_acc", "text_em", "step_acc/TYPE",
                "step_acc/DUAL_POINT", "step_acc/PRESS_BACK"):
        assert perfect[key] == 1.0, key
    assert math.isnan(perfect["swipe_acc"])


def test_task_metrics_empty_is_nan_not_zero():
    none = np.zeros((0, 2))
    empty = task_metrics(Predictions([], none, none, []), Targets([], none, none, [], []))
    assert empty["n_steps"] == 0.0
    for key in ("action_acc", "step_acc", "tap_acc", "swipe_acc", "text_em"):
        assert math.isnan(empty[key]), key
    assert empty["n/taps"] == empty["n/swipes"] == 0.0
    assert not any(key.startswith(("n/", "step_acc/")) for key in empty
                   if key not in ("n/taps", "n/swipes"))


def test_task_metrics_rejects_length_mismatch():
    pred, true = five_step_set()
    short = make_predictions([(PRESS_BACK, NO_POINT, NO_POINT, "")])
    with pytest.raises(ValueError):
        task_metrics(short, true)


def test_targets_reject_ragged_fields():
    with pytest.raises(ValueError):
        Targets([TYPE, TYPE], [NO_POINT] * 2, [NO_POINT] * 2, ["a", "b"], [NO_BOXES])


# --- Baselines ----------------------------------------------------------------------------

def test_baseline_majority_and_means():
    train = make_targets([
        (DUAL_POINT, (0.1, 0.2), (0.1, 0.2), ""),
        (DUAL_POINT, (0.3, 0.4), (0.5, 0.4), ""),
        (DUAL_POINT, (0.5, 0.9), (0.5, 0.9), ""),
        (DUAL_POINT, (0.3, 0.5), (0.3, 0.5), ""),
        (TYPE, NO_POINT, NO_POINT, "b"),
        (TYPE, NO_POINT, NO_POINT, "a"),
        (TYPE, NO_POINT, NO_POINT, "b"),
        (PRESS_BACK, NO_POINT, NO_POINT, ""),
        (PRESS_BACK, NO_POINT, NO_POINT, ""),
    ])
    pred = baseline_predictions(train, 3)
    np.testing.assert_array_equal(pred.action_type, [DUAL_POINT] * 3)  # 4 of 9
    # Means over DUAL_POINT steps only (the NO_POINT -1s of other steps are left out).
    np.testing.assert_allclose(pred.touch_yx, [[0.3, 0.5]] * 3)    # (1.2/4, 2.0/4)
    np.testing.assert_allclose(pred.lift_yx, [[0.35, 0.5]] * 3)    # (1.4/4, 2.0/4)
    # "b" twice among TYPE steps; the six "" of other steps do not count.
    assert pred.text == ["b"] * 3


def test_baseline_ties_and_missing_kinds():
    train = make_targets([
        (PRESS_BACK, NO_POINT, NO_POINT, ""),
        (TYPE, NO_POINT, NO_POINT, "b"),
        (PRESS_BACK, NO_POINT, NO_POINT, ""),
        (TYPE, NO_POINT, NO_POINT, "a"),
    ])
    pred = baseline_predictions(train, 2)
    np.testing.assert_array_equal(pred.action_type, [TYPE, TYPE])  # 2-2 tie -> smaller code
    assert pred.text == ["a", "a"]                                   # 1-1 tie -> smaller string
    np.testing.assert_array_equal(pred.touch_yx, [NO_POINT] * 2)   # no DUAL_POINT to average
    no_text = baseline_predictions(make_targets([(PRESS_HOME, NO_POINT, NO_POINT, "")]), 1)
    assert no_text.text == [""] and no_text.action_type[0] == PRESS_HOME


def test_baseline_metrics_prefixed_and_scored_on_val():
    train = make_targets([
        (DUAL_POINT, (0.2, 0.2), (0.2, 0.2), ""),
        (DUAL_POINT, (0.4, 0.4), (0.4, 0.4), ""),
        (TYPE, NO_POINT, NO_POINT, "x"),
    ])  # -> every step predicted as a tap at (0.3, 0.3)
    val = make_targets([
        (DUAL_POINT, (0.35, 0.3), (0.35, 0.3), ""),  # 0.05 away -> match
        (DUAL_POINT, (0.8, 0.8), (0.8, 0.8), ""),    # far, no boxes -> miss
        (TYPE, NO_POINT, NO_POINT, "x"),             # predicted DUAL_POINT -> miss
    ])
    metrics = baseline_metrics(train, val)
    assert all(key.startswith("baseline/") for key in metrics)
    assert metrics["baseline/action_acc"] == pytest.approx(2 / 3)
    assert metrics["baseline/step_acc"] == pytest.approx(1 / 3)
    assert metrics["baseline/tap_acc"] == pytest.approx(1 / 2)
    assert math.isnan(metrics["baseline/swipe_acc"])
    assert metrics["baseline/text_em"] == 0.0
    assert metrics["baseline/step_acc/DUAL_POINT"] == 0.5
    assert metrics[f"baseline/n/{actions.name(TYPE)}"] == 1.0
    assert metrics["baseline/n_steps"] == 3.0


def test_word_f1_gives_partial_credit():
    from harness.metrics import word_f1
    assert word_f1("lo - fi music", "lo - fi music") == 1.0
    assert word_f1("cat videos", "cat music") == 0.5
    assert word_f1("", "cat") == 0.0 and word_f1("", "") == 1.0
    assert word_f1("dog", "cat") == 0.0


def test_head_baselines_can_score_where_the_majority_action_cannot():
    """The majority action (here PRESS_BACK) scores 0 on taps, swipes and typed text by
    construction; the head baselines (mean training tap, most frequent swipe direction, most
    frequent training text) score there."""
    train = make_targets([
        (DUAL_POINT, (0.3, 0.3), (0.3, 0.3), ""),        # taps, mean (0.4, 0.4)
        (DUAL_POINT, (0.5, 0.5), (0.5, 0.5), ""),
        (DUAL_POINT, (0.8, 0.5), (0.2, 0.5), ""),        # swipes up, twice
        (DUAL_POINT, (0.7, 0.4), (0.3, 0.6), ""),
        (DUAL_POINT, (0.5, 0.1), (0.5, 0.9), ""),        # swipe right, once
        (TYPE, NO_POINT, NO_POINT, "weather tomorrow"),
        (TYPE, NO_POINT, NO_POINT, "weather tomorrow"),
        (TYPE, NO_POINT, NO_POINT, "cat videos"),
    ] + [(PRESS_BACK, NO_POINT, NO_POINT, "")] * 9)
    for_taps, for_swipes = baseline_head_predictions(train, 1)
    np.testing.assert_allclose(for_taps.touch_yx, [[0.4, 0.4]])
    np.testing.assert_allclose(for_taps.lift_yx, [[0.4, 0.4]])
    np.testing.assert_allclose(for_swipes.touch_yx, [[0.75, 0.45]])     # the two "up" swipes
    np.testing.assert_allclose(for_swipes.lift_yx, [[0.25, 0.55]])
    assert for_taps.text == ["weather tomorrow"]
    val = make_targets([
        (DUAL_POINT, (0.45, 0.4), (0.45, 0.4), ""),      # 0.05 from the mean tap: hit
        (DUAL_POINT, (0.9, 0.9), (0.9, 0.9), ""),        # far: miss
        (DUAL_POINT, (0.9, 0.5), (0.1, 0.5), ""),        # vertical swipe: hit
        (DUAL_POINT, (0.5, 0.9), (0.5, 0.1), ""),        # horizontal swipe: miss
        (TYPE, NO_POINT, NO_POINT, "weather today"),      # F1 0.5
        (PRESS_BACK, NO_POINT, NO_POINT, ""),
    ])
    scores = baseline_scores(train, val)
    nan = math.nan
    np.testing.assert_allclose(scores["head_tap_acc"], [1, 0, nan, nan, nan, nan])
    np.testing.assert_allclose(scores["head_swipe_acc"], [nan, nan, 1, 0, nan, nan])
    np.testing.assert_allclose(scores["head_text_f1"], [nan, nan, nan, nan, 0.5, nan])
    np.testing.assert_allclose(scores["tap_acc"], [0, 0, nan, nan, nan, nan])   # end to end
    assert np.nansum(scores["text_f1"]) == 0.0
    metrics = baseline_metrics(train, val)
    assert metrics["baseline/head_tap_acc"] == 0.5
    assert metrics["baseline/head_swipe_acc"] == 0.5
    assert metrics["baseline/head_text_f1"] == 0.5
    assert metrics["baseline/text_f1"] == 0.0 and metrics["baseline/tap_acc"] == 0.0
