"""Choose on one split, judge on another: the held-out (confirmation) split's labels reach no
setting and no choice. Every confirmation label and target is changed (action types, typed
texts, points, boxes); the data description (except what describes the held-out split), the
decoder's length, the tokenizer, the encodings of the other splits, every training record,
the selection scores and every prediction of every run stay the same. For the default
synthetic data (small), for the user's JSON through its reader, and for AitW's GZIP
TFRecords through the AitW reader (a real-data format, split by goal as its default)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

from harness import actions
from harness.config import DataSettings
from harness.data import synthetic
from harness.data.formats import read_dataset
from harness.data.types import Dataset
from harness.data.types import goal_of_prompt
from harness.data.user_json import write_user_json
from harness.design import CORRECTED, FIXED, ORIGINAL
from harness.encoders import resolve_encoder
from harness.evaluation import evaluate, split_targets
from harness.prepare import encode_dataset, resolve_split_by
from harness.records import StepRecords
from harness.results import HELDOUT_SCORES, SELECTION_SCORES
from harness.train import Hooks, TrainSettings, train
from tests.conftest import TINY_ENCODER
from tests.test_readers import has_tfrecord
from tests.writers.aitw_tfrecord import write_aitw_tfrecord

SPEC = resolve_encoder(TINY_ENCODER)
SETTINGS = DataSettings(synthetic_episodes=80, train_size=96, vocab_size=300, max_length=96)
#: longer than any text of the synthetic world: would lengthen the decoder if it leaked
LONG_TEXT = " ".join(["zebra quantum marmalade"] * 8)
#: descriptions of the held-out split itself (and of the whole data set, held-out included:
#: the content fingerprint of what was read covers every label)
HELDOUT_KEYS = {"action_mix", "truncated_prompts", "read"}


def changed_labels(dataset: Dataset, heldout: set[str]) -> Dataset:
    """The same prompts; every held-out step with another action, text, points and boxes."""
    width, height = dataset.units.scale()
    changed = []
    for s in dataset.steps:
        if s.episode not in heldout:
            changed.append(s)
            continue
        boxes = tuple((x * 0.5, y * 0.5, w * 0.5, h * 0.5) for x, y, w, h in s.boxes)
        if s.action_type == actions.TYPE:
            new = dict(action_type=actions.PRESS_BACK, type_text="",
                       touch=actions.NO_POINT, lift=actions.NO_POINT)
        elif s.action_type == actions.DUAL_POINT:
            new = dict(action_type=actions.TYPE, type_text=LONG_TEXT,
                       touch=actions.NO_POINT, lift=actions.NO_POINT)
        else:
            point = (0.9 * width, 0.1 * height)
            new = dict(action_type=actions.DUAL_POINT, type_text="", touch=point, lift=point)
        changed.append(dataclasses.replace(s, boxes=boxes, **new))
    assert changed != dataset.steps
    return Dataset(changed, dataset.units, dataset.source, dataset.axis_order_in_source,
                   list(dataset.notes))


class KeepModel(Hooks):
    def on_end(self, run) -> None:
        self.model = run.model


def predictions(data, model, split):
    out = []
    evaluate(model, split, split_targets(split, data.units), data.units, data.tokenizer, 16,
             torch.device("cpu"), predictions_out=out)
    return out[0]


def same_split(a, b) -> None:
    for name, value in a.__dict__.items():
        other = getattr(b, name)
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, other), name
        else:
            assert value == other, name


def heldout_episodes(dataset: Dataset, settings: DataSettings) -> set[str]:
    return set(encode_dataset(dataset, settings, SPEC).heldout.episodes)


def check_confirmation_is_never_read(dataset: Dataset, relabelled: Dataset,
                                     settings: DataSettings, tmp_path) -> None:
    """``relabelled``: ``dataset`` with other labels on its held-out steps."""
    original = encode_dataset(dataset, settings, SPEC)
    changed = encode_dataset(relabelled, settings, SPEC)
    assert set(changed.heldout.episodes) == set(original.heldout.episodes)
    # the held-out split's own labels did change ...
    assert not torch.equal(original.heldout.action, changed.heldout.action)
    assert max(len(t) for t in changed.heldout.target_text) > max(
        len(t) for t in original.heldout.target_text)
    # ... and no setting read them
    assert changed.query_steps == original.query_steps
    assert changed.tokenizer.get_vocab() == original.tokenizer.get_vocab()
    keep = lambda d: {k: v for k, v in d.items()
                      if k not in HELDOUT_KEYS and not k.startswith("heldout")}
    assert keep(changed.description) == keep(original.description)
    assert {k: v for k, v in changed.description["truncated_prompts"].items()
            if k != "heldout"} == {k: v for k, v in original.description[
                "truncated_prompts"].items() if k != "heldout"}
    for name in ("train", "val", "selection"):
        same_split(getattr(original, name), getattr(changed, name))
    same_split(dataclasses.replace(original.heldout, query_labels=changed.heldout.query_labels,
                                   action=changed.heldout.action, touch=changed.heldout.touch,
                                   lift=changed.heldout.lift, boxes=changed.heldout.boxes,
                                   target_text=changed.heldout.target_text),
               changed.heldout)       # the prompts are the same: only labels changed

    settings_train = TrainSettings(steps=4, batch_size=16)
    for design in (ORIGINAL, FIXED, CORRECTED):
        runs = []
        for label, data in (("original", original), ("changed", changed)):
            folder = tmp_path / f"{design_name(design)}-{label}"
            records, hooks = StepRecords(folder), KeepModel()
            result = train(data, design, SPEC, settings_train, 0, torch.device("cpu"), records,
                           hooks)
            records.close(True)
            assert result.status == "ok"
            runs.append((data, folder, records, hooks.model))
        (a, fa, ra, ma), (b, fb, rb, mb) = runs
        training = lambda rows: pd.DataFrame(
            [r for r in rows if not r[1].startswith("heldout/")], columns=["step", "m", "v"])
        assert len(training(ra.rows)) > 20
        pd.testing.assert_frame_equal(training(ra.rows), training(rb.rows))   # NaN == NaN
        pd.testing.assert_frame_equal(pd.read_csv(fa / SELECTION_SCORES),
                                      pd.read_csv(fb / SELECTION_SCORES))
        assert not pd.read_csv(fa / HELDOUT_SCORES).equals(pd.read_csv(fb / HELDOUT_SCORES))
        for name in ("selection", "heldout"):
            pa, pb = predictions(a, ma, getattr(a, name)), predictions(b, mb, getattr(b, name))
            for field in ("action_type", "touch_yx", "lift_yx"):
                assert (getattr(pa, field) == getattr(pb, field)).all(), (design, name, field)
            assert pa.text == pb.text, (design, name)


def design_name(design) -> str:
    return {ORIGINAL: "original", FIXED: "fixed", CORRECTED: "corrected"}[design]


def test_confirmation_labels_reach_no_setting_and_no_prediction_synthetic(tmp_path):
    dataset = synthetic.generate(SETTINGS.synthetic_episodes)
    relabelled = changed_labels(dataset, heldout_episodes(dataset, SETTINGS))
    check_confirmation_is_never_read(dataset, relabelled, SETTINGS, tmp_path)


def test_confirmation_labels_reach_no_setting_and_no_prediction_user_json(tmp_path,
                                                                        monkeypatch):
    """Through the user-json reader, from files whose held-out labels were changed, split by
    goal (the instruction each prompt opens with)."""
    source = synthetic.generate(120, seed=3, units="normalized")
    settings = dataclasses.replace(SETTINGS, source="data", train_size=None, split_by="goal")
    write_user_json(source, tmp_path / "original" / "data")
    write_user_json(changed_labels(source, heldout_episodes(source, settings)),
                    tmp_path / "changed" / "data")
    read = {}
    for name in ("original", "changed"):     # the same relative path: the same source name
        monkeypatch.chdir(tmp_path / name)
        read[name] = read_dataset("data")
    monkeypatch.chdir(tmp_path)
    original, changed = read["original"], read["changed"]
    assert original.steps != changed.steps
    check_confirmation_is_never_read(original, changed, settings, tmp_path)


def as_aitw(dataset: Dataset) -> dict[str, list[dict]]:
    """A normalized-units dataset in AitW's layout (features of tests/writers/aitw_tfrecord):
    (y, x) points, flattened (y, x, h, w) boxes, one generic label per element."""
    width, height = dataset.units.scale()
    episodes: dict[str, list[dict]] = {}
    for s in dataset.steps:
        positions = [v for x, y, w, h in s.boxes for v in (y, x, h, w)]
        episodes.setdefault(s.episode, []).append({
            "goal_info": goal_of_prompt(s.prompt), "step_id": s.index,
            "image/ui_annotations_positions": positions,
            "image/ui_annotations_text": [f"item {i}" for i in range(len(s.boxes))],
            "image/ui_annotations_ui_types": ["TEXT"] * len(s.boxes),
            "image/height": int(height), "image/width": int(width),
            "results/action_type": s.action_type, "results/type_action": s.type_text,
            "results/yx_touch": [s.touch[1], s.touch[0]],
            "results/yx_lift": [s.lift[1], s.lift[0]]})
    return episodes


def test_confirmation_labels_reach_no_setting_and_no_prediction_aitw(tmp_path, monkeypatch):
    """Through the AitW reader, from GZIP TFRecords whose held-out labels were changed; split
    by goal, the AitW default."""
    if not has_tfrecord():
        pytest.skip("the optional 'tfrecord' package is not installed")
    source = synthetic.generate(120, seed=4, units="normalized")
    settings = dataclasses.replace(SETTINGS, source="data.tfrecord.gz", train_size=None)
    default_split_by = {}
    read = {}
    for name in ("original", "changed"):
        folder = tmp_path / name
        folder.mkdir()
        data = source
        if name == "changed":
            by_goal = dataclasses.replace(settings, split_by="goal")
            data = changed_labels(source, heldout_episodes(read["original"], by_goal))
        write_aitw_tfrecord(as_aitw(data), folder / "data.tfrecord.gz")
        monkeypatch.chdir(folder)        # the same relative path: the same source name
        read[name] = read_dataset("data.tfrecord.gz")
        default_split_by[name] = resolve_split_by(settings)
    monkeypatch.chdir(tmp_path)
    assert default_split_by == {"original": "goal", "changed": "goal"}
    original, changed = read["original"], read["changed"]
    assert original.steps != changed.steps
    check_confirmation_is_never_read(original, changed,
                                     dataclasses.replace(settings, split_by="goal"), tmp_path)


@pytest.mark.parametrize("split_by", ["episode", "goal"])
def test_goal_overlap_is_described(split_by):
    data = encode_dataset(synthetic.generate(SETTINGS.synthetic_episodes), SETTINGS, SPEC,
                          split_by)
    goals = data.description["goals"]
    assert data.description["split_by"] == split_by
    assert set(data.description["roles"]) == {"training", "selection", "confirmation"}
    if split_by == "goal":
        assert goals["confirmation_in_training"] == goals["selection_in_training"] == 0
    else:
        assert goals["confirmation_in_training"] > 0
    assert 0 < goals["confirmation"] and 0 < goals["training"]
