"""Per-step held-out scores: what the paired verdicts compare, step by step."""

from __future__ import annotations

import numpy as np

from harness import actions
from harness.metrics import PER_STEP_METRICS, Predictions, Targets, per_step_scores, task_metrics


def random_steps(n: int, seed: int):
    rng = np.random.default_rng(seed)
    codes = rng.choice([3, 4, 4, 4, 5, 6, 7, 10], size=n)
    touch = rng.uniform(0, 1, (n, 2)).astype(np.float32)
    lift = np.where(rng.uniform(size=(n, 1)) < 0.5, touch, rng.uniform(0, 1, (n, 2)))
    texts = [rng.choice(["a b", "c", "a c d", ""]) for _ in range(n)]
    return codes, touch, lift.astype(np.float32), texts


def test_the_mean_of_the_scores_is_the_metric():
    codes, touch, lift, texts = random_steps(300, 0)
    no_point = codes != actions.DUAL_POINT
    touch[no_point] = lift[no_point] = -1.0
    boxes = [np.array([[0.1, 0.1, 0.3, 0.3], [0.5, 0.5, 0.2, 0.4]])] * 300
    true = Targets(action_type=codes, touch_yx=touch, lift_yx=lift, text=texts, boxes=boxes)
    p_codes, p_touch, p_lift, p_texts = random_steps(300, 1)
    pred = Predictions(action_type=np.where(np.arange(300) % 3 == 0, codes, p_codes),
                       touch_yx=p_touch, lift_yx=p_lift,
                       text=[t if i % 2 else p for i, (t, p) in enumerate(zip(texts, p_texts))])
    scores = per_step_scores(pred, true)
    metrics = task_metrics(pred, true)
    assert set(scores) == set(PER_STEP_METRICS)
    for name, values in scores.items():
        assert values.shape == (300,)
        assert np.nanmean(values) == metrics[name], name
    # scope: NaN exactly outside the metric's steps
    assert np.array_equal(np.isfinite(scores["text_em"]), codes == actions.TYPE)
    assert np.isfinite(scores["step_acc"]).all()
    assert np.isfinite(scores["tap_acc"]).sum() == metrics["n/taps"]
