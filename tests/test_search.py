"""The greedy search's rules, on a made-up trainer whose step accuracy is a known function of
the design: which change each round keeps, when it stops, what leave-one-out drops, and what
it writes (``search.json``, a variants file ``--variants-file`` accepts). No model is trained."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import variants
from harness.cli import main
from harness.design import AXES, CORRECTED, ORIGINAL
from harness.io import atomic_write_json
from harness.results import HELDOUT_SCORES, SEARCH_JSON, SELECTION_SCORES, RunPaths
from harness.search import (VARIANTS_FILE, design_name, fresh_seeds, greedy_search,
                            leave_one_out, parse_search_metric, single_axis_changes)
from variants.registry import unregister_variant

N_ITEMS = 400
SEEDS = (0, 1, 2)


def fake_trainer(out, accuracy, noise=None, confirmation=None, text=None):
    """``train(variants, seeds)``: writes an ok status and selection and held-out scores with a
    share ``accuracy(design)`` (plus ``noise(design, seed)``) of correct steps (the same steps in
    every seed, plus one seed-specific step, so that intervals are finite); ``confirmation``
    (default ``accuracy``) gives the held-out share instead, ``text`` a text F1 share (on the
    first half of the steps; default 0). Records which (variant, seed) runs were trained."""
    paths = RunPaths(out)
    trained = []

    def column(share, seed):
        correct = np.zeros(N_ITEMS)
        correct[:int(round(share * N_ITEMS))] = 1.0
        correct[-1 - seed] = 1.0
        return correct

    def train(batch, seeds=None):
        for v in batch:
            trained.append(v.name)
            for seed in SEEDS if seeds is None else seeds:
                trained.append((v.name, seed))
                run_dir = paths.run_dir(v.name, seed)
                shift = noise(v.design, seed) if noise else 0.0
                typed = np.full(N_ITEMS, np.nan)
                typed[:N_ITEMS // 2] = column((text(v.design) if text else 0.0) * 2, seed)[
                    :N_ITEMS // 2]
                run_dir.mkdir(parents=True, exist_ok=True)
                for name, share in ((SELECTION_SCORES, accuracy(v.design) + shift),
                                    (HELDOUT_SCORES, (confirmation or accuracy)(v.design)
                                     + shift)):
                    pd.DataFrame({"item": range(N_ITEMS), "step_acc": column(share, seed),
                                  "text_f1": typed}).to_csv(run_dir / name, index=False)
                atomic_write_json(run_dir / "status.json", {"status": "ok"})
    return train, trained


def test_design_names_are_stable_and_name_the_changes():
    assert design_name(ORIGINAL) == "original"
    assert design_name(ORIGINAL.replace(warmup="epoch10", loss="standard")) == \
        "original+loss=standard+warmup=epoch10"


def test_single_axis_changes_cover_every_other_value():
    changes = single_axis_changes(ORIGINAL)
    expected = sum(len(a.choices) - 1 for a in AXES.values() if a.searched)
    assert len(changes) == expected
    assert ("clip_norm", None) in changes and ("loss", "standard") in changes
    assert not [axis for axis, _ in changes if axis == "aggregator"]


def test_each_round_keeps_the_best_lower_bound_then_stops(tmp_path):
    def accuracy(design):
        return (0.2 + 0.3 * (design.loss == "standard") + 0.1 * (design.warmup == "epoch10")
                - 0.1 * (design.coord_head == "mlp"))
    train, trained = fake_trainer(tmp_path, accuracy)
    result = greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None)
    chosen = [r["chosen"] for r in result["rounds"]]
    assert [(c["axis"], c["value"]) for c in chosen[:2]] == [("loss", "'standard'"),
                                                             ("warmup", "'epoch10'")]
    assert chosen[2] is None and len(result["rounds"]) == 3      # stops: no bound above 0
    assert result["final"]["variant"] == "original+loss=standard+warmup=epoch10"
    assert [e["removed"] for e in result["leave_one_out"]] == [False, False]
    on_disk = json.loads((tmp_path / SEARCH_JSON).read_text())
    assert on_disk["final"] == result["final"]
    # each design is trained into one folder however many rounds name it
    first_round = result["rounds"][0]["candidates"]
    assert {c["variant"] for c in first_round} <= set(trained)
    assert (tmp_path / "runs" / "original" / "seed0").is_dir()


def test_the_variants_file_registers_the_final_design(tmp_path):
    train, _ = fake_trainer(tmp_path, lambda d: 0.2 + 0.3 * (d.post_norm is True))
    greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None)
    try:
        added = variants.load_variants_file(tmp_path / VARIANTS_FILE)
        assert [v.name for v in added] == ["searched"]
        assert added[0].design == ORIGINAL.replace(post_norm=True)
    finally:
        unregister_variant("searched")


def test_leave_one_out_drops_a_change_that_later_ones_made_redundant(tmp_path):
    # standard loss helps alone, but adds nothing once the MLP head is in
    def accuracy(design):
        mlp, standard = design.coord_head == "mlp", design.loss == "standard"
        return 0.2 + 0.4 * mlp + (0.2 if standard and not mlp else 0.0)
    train, _ = fake_trainer(tmp_path, accuracy)
    current = ORIGINAL.replace(loss="standard", coord_head="mlp")

    def run(pairs, seeds=None):
        train([SimpleNamespace(name=design_name(d), design=d) for d, _ in pairs], seeds)
    run([(current, "")])
    final, checked = leave_one_out(current, ["loss", "coord_head"], RunPaths(tmp_path), SEEDS,
                                   run, log=lambda *_: None)
    assert final == ORIGINAL.replace(coord_head="mlp")
    assert [c["removed"] for c in checked] == [True, False]


def test_a_change_that_crashes_is_never_kept(tmp_path):
    train, _ = fake_trainer(tmp_path, lambda d: 0.2 + 0.3 * (d.loss == "standard"))

    def crashing(batch, seeds=None):
        train(batch, seeds)
        for v in batch:
            if v.design.loss == "standard":
                atomic_write_json(RunPaths(tmp_path).run_dir(v.name, 1) / "status.json",
                                  {"status": "failed"})
    result = greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, crashing,
                           log=lambda *_: None)
    assert result["rounds"][0]["chosen"] is None
    assert result["final"]["variant"] == "original"


def test_screening_sends_only_the_best_few_changes_to_every_seed(tmp_path):
    # five helpful changes of different sizes; with two finalists the three smaller ones are
    # trained on the screening seed only
    gains = {"loss": 0.30, "warmup": 0.05, "post_norm": 0.04, "projections": 0.03,
             "coord_head": 0.02}

    def accuracy(design):
        return 0.2 + sum(g for axis, g in gains.items() if getattr(design, axis) != getattr(
            ORIGINAL, axis) and getattr(design, axis) == AXES[axis].fixed)
    train, trained = fake_trainer(tmp_path, accuracy)
    result = greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None,
                           max_rounds=1, screen_seeds=1, finalist_count=2)
    rows = {(c["axis"], c["value"]): c for c in result["rounds"][0]["candidates"]}
    finalists = {key for key, c in rows.items() if c["finalist"]}
    assert finalists == {("loss", "'standard'"), ("warmup", "'epoch10'")}
    for key, c in rows.items():
        assert c["screen_d_step_acc"] is not None
        on_every_seed = all((c["variant"], seed) in trained for seed in SEEDS)
        assert on_every_seed == (key in finalists), key
        assert (c["d_step_acc"] is not None) == (key in finalists)
    assert result["rounds"][0]["chosen"]["axis"] == "loss"
    assert result["screening"] == {"seeds": [0], "finalists": 2}
    # only designs trained on every seed are listed for the report
    assert not any(("original+post_norm=True", seed) in trained for seed in SEEDS[1:])


def test_a_change_that_loses_on_the_screening_seed_is_not_kept(tmp_path):
    # the standard loss helps on seeds 1 and 2 but not on seed 0, the screening seed
    def noise(design, seed):
        return -0.35 if design.loss == "standard" and seed == 0 else 0.0
    train, trained = fake_trainer(tmp_path, lambda d: 0.2 + 0.3 * (d.loss == "standard"),
                                  noise)
    result = greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None,
                           max_rounds=1)
    assert result["rounds"][0]["chosen"] is None
    # without screening every change sees every seed, and the standard loss is kept
    exhaustive = tmp_path / "exhaustive"
    train, _ = fake_trainer(exhaustive, lambda d: 0.2 + 0.3 * (d.loss == "standard"), noise)
    result = greedy_search(SimpleNamespace(seeds=SEEDS), exhaustive, train,
                           log=lambda *_: None, max_rounds=1, screen_seeds=0)
    assert result["screening"] is None
    assert all(c["finalist"] for c in result["rounds"][0]["candidates"])


def test_the_final_design_is_compared_with_corrected(tmp_path):
    train, trained = fake_trainer(tmp_path, lambda d: 0.2 + 0.3 * (d.loss == "standard")
                                  + 0.1 * (d == CORRECTED))
    result = greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None)
    against = result["against_corrected"]
    assert against["corrected"] == design_name(CORRECTED)
    assert all((design_name(CORRECTED), seed) in trained for seed in SEEDS)
    # the final design (the standard loss alone) against corrected: 0.5 - 0.6 on 400 steps
    assert against["d_step_acc"] == pytest.approx(-0.1, abs=0.005)
    assert against["low"] < against["d_step_acc"] < against["high"]
    assert against["same_design"] is False


def test_choices_read_the_selection_split_and_fresh_seeds_confirm_them(tmp_path):
    """The standard loss gains 0.3 on the selection split but 0.05 on the held-out split (a
    winner's curse): it is kept by its selection estimate, and search.json shows both; the
    path and corrected are trained again on fresh seeds, finalists that were not kept are
    not."""
    train, trained = fake_trainer(
        tmp_path, lambda d: 0.2 + 0.3 * (d.loss == "standard") + 0.02 * (d.warmup == "epoch10"),
        confirmation=lambda d: 0.2 + 0.05 * (d.loss == "standard"))
    result = greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None,
                           max_rounds=1)
    assert result["rounds"][0]["chosen"]["axis"] == "loss"
    confirmation = result["confirmation"]
    fresh = fresh_seeds(SEEDS)
    assert confirmation["seeds"] == fresh == [3, 4, 5]
    [change] = confirmation["kept_changes"]
    assert (change["axis"], change["from"]) == ("loss", "original")
    assert change["selection"]["d"] == pytest.approx(0.3, abs=0.005)
    assert change["confirmation"]["d"] == pytest.approx(0.05, abs=0.005)
    assert change["confirmation"]["low"] < 0.05 < change["confirmation"]["high"]
    for name in ("original", "original+loss=standard", design_name(CORRECTED)):
        assert all((name, seed) in trained for seed in fresh), name
    not_kept = [c["variant"] for c in result["rounds"][0]["candidates"]
                if c["finalist"] and c["axis"] != "loss"]
    assert not_kept and not any((v, seed) in trained for v in not_kept for seed in fresh)
    against = result["against_corrected"]
    assert against["selection"]["seeds"] == len(SEEDS)
    assert against["confirmation"]["seeds"] == len(fresh)
    assert against["d_step_acc"] == against["confirmation"]["d"]
    assert set(against["confirmation_by_metric"]) >= {"step_acc", "text_f1", "head_tap_acc"}
    with pytest.raises(ValueError, match="fresh"):
        greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None,
                      confirm_seeds=[2, 3, 4])


def test_the_report_shows_each_choice_beside_its_confirmation(tmp_path):
    """The report's table of the search's confirmation: the kept change's selection estimate
    (0.3) beside its confirmation (0.05), the final design against original and corrected;
    the path table says which metric its differences are in."""
    from harness.report import analysis as A
    train, _ = fake_trainer(tmp_path, lambda d: 0.2 + 0.3 * (d.loss == "standard"),
                            confirmation=lambda d: 0.2 + 0.05 * (d.loss == "standard"))
    greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None,
                  max_rounds=1)
    table = A.search_confirmation(tmp_path)
    first = table.iloc[0]
    assert first.comparison == "original + loss='standard'"
    assert first.selection_d == pytest.approx(0.3, abs=0.005)
    assert first.confirmation_d == pytest.approx(0.05, abs=0.005)
    assert list(table.comparison[-2:]) == ["original+loss=standard - original",
                                           "original+loss=standard - corrected"]
    assert set(A.search_path(tmp_path).metric) == {"step_acc"}
    assert A.search_final(tmp_path)["confirmation_seeds"] == fresh_seeds(SEEDS)


def test_a_change_that_helps_only_on_the_confirmation_split_is_not_chosen(tmp_path):
    train, _ = fake_trainer(tmp_path, lambda d: 0.2,
                            confirmation=lambda d: 0.2 + 0.3 * (d.loss == "standard"))
    result = greedy_search(SimpleNamespace(seeds=SEEDS), tmp_path, train, log=lambda *_: None)
    assert result["rounds"][0]["chosen"] is None
    assert result["final"]["variant"] == "original"
    assert result["splits"] == {"choices": "selection", "verdicts": "confirmation"}


def test_the_search_metric_decides_what_is_kept(tmp_path):
    """The standard loss helps step accuracy, post-norm helps typed text: step_acc keeps the
    first, text_f1 the second, and a weighted combination the one its weights favour."""
    accuracy = lambda d: 0.2 + 0.2 * (d.loss == "standard")
    text = lambda d: 0.1 + 0.3 * (d.post_norm is True)
    kept = {}
    for metric in ("step_acc", "text_f1", "weighted:step_acc=0.2,text_f1=0.8",
                   "weighted:step_acc=0.9,text_f1=0.1"):
        out = tmp_path / metric.replace(":", "_").replace(",", "_")
        train, _ = fake_trainer(out, accuracy, text=text)
        result = greedy_search(SimpleNamespace(seeds=SEEDS), out, train, log=lambda *_: None,
                               max_rounds=1, metric=metric)
        assert result["metric"] == metric
        chosen = result["rounds"][0]["chosen"]
        kept[metric] = chosen["axis"]
        assert (chosen["d_step_acc"] is None) == (metric != "step_acc")
    assert kept == {"step_acc": "loss", "text_f1": "post_norm",
                    "weighted:step_acc=0.2,text_f1=0.8": "post_norm",
                    "weighted:step_acc=0.9,text_f1=0.1": "loss"}


def test_a_weighted_metric_is_the_weighted_sum_of_the_means():
    frame = pd.DataFrame({"step_acc": [1.0, 0.0, 1.0, 1.0],
                          "text_f1": [np.nan, 0.5, np.nan, 0.0]})
    metric = parse_search_metric("weighted:step_acc=0.7,text_f1=0.3")
    assert metric.per_step(frame).mean() == pytest.approx(0.7 * 0.75 + 0.3 * 0.25)
    assert parse_search_metric("text_f1").per_step(frame)[1] == 0.5


@pytest.mark.parametrize("text, message", [
    ("accuracy", "expected a per-step metric"),
    ("weighted:step_acc=0.7,text_f1=0.2", "sum to 1"),
    ("weighted:step_acc=1.2,text_f1=-0.2", "positive weight"),
    ("weighted:step_acc=0.5,bleu=0.5", "expected metrics among"),
    ("weighted:step_acc=0.5,step_acc=0.5", "twice"),
    ("weighted:step_acc", "METRIC=WEIGHT"),
])
def test_bad_search_metrics_are_refused_when_parsed(text, message, capsys):
    with pytest.raises(ValueError, match=message):
        parse_search_metric(text)
    from harness.cli import build_parser
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--search-metric", text])
    assert message.split()[0] in capsys.readouterr().err


@pytest.mark.slow
def test_search_from_the_command_line_writes_its_path_and_report(tmp_path):
    """A tiny search end to end: every single-axis change of the original trained on the
    screening seed, the finalists on both, search.json, the variants file and the report's
    search section."""
    out = tmp_path / "search"
    code = main(["--search", "greedy", "--quick", "--steps", "3", "--seeds", "2",
                 "--synthetic-episodes", "30", "--jobs", "1", "--no-progress",
                 "--out", str(out)])
    assert code == 0
    result = json.loads((out / SEARCH_JSON).read_text())
    first = result["rounds"][0]
    assert len(first["candidates"]) == len(single_axis_changes(ORIGINAL))
    for c in first["candidates"]:
        for seed in (0, 1):
            done = (RunPaths(out).run_dir(c["variant"], seed) / "status.json").is_file()
            assert done == (seed == 0 or c["finalist"]), (c["variant"], seed)
    for seed in (0, 1):
        assert (RunPaths(out).run_dir("original", seed) / "status.json").is_file()
    assert result["against_corrected"]["low"] is not None
    assert (out / VARIANTS_FILE).is_file()
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "The greedy search" in html and result["final"]["variant"] in html
    path = pd.read_csv(out / "tables" / "search_path.csv")
    assert len(path) >= len(first["candidates"])
    # run again: every run is reused, nothing is trained
    assert main(["--search", "greedy", "--quick", "--steps", "3", "--seeds", "2",
                 "--synthetic-episodes", "30", "--jobs", "1", "--no-progress", "--no-report",
                 "--out", str(out)]) == 0


def test_screening_options_are_checked_when_parsed(capsys):
    from harness.cli import build_parser
    parser = build_parser()
    assert parser.parse_args(["--search-screen-seeds", "0"]).search_screen_seeds == 0
    for bad in (["--search-screen-seeds", "-1"], ["--search-finalists", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
        assert "expected" in capsys.readouterr().err
