"""The recommendation rule (issue 22, part 4): on the selection split, among the measured
designs whose lower 95% bound of the difference to the best is above minus the equivalence
margin, the one with the fewest changes from the original design; then its confirmation
comparisons. Made-up records in the style of tests/test_findings.py, with selection scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.design import CORRECTED, FIXED, ORIGINAL, differing_axes
from harness.report.recommend import change_count, recommend, rule_text
from harness.report.stats import DEFAULT_MARGIN
from tests.test_findings import (N_ITEMS, design, findings_of, make_records, ones,
                                 scores_frame)

SEEDS = (0, 1, 2)
#: original (0 changes), one change, two changes, the fixed design (many changes)
GRID = {"original": design(), "original+mlp": design(coord_head="mlp"),
        "original+mlp+units": design(coord_head="mlp", coord_units="screen"),
        "fixed": design(FIXED)}


def selection_frame(values) -> pd.DataFrame:
    """Per-step selection scores with an episode column (4 steps an episode)."""
    frame = scores_frame(values)
    frame["episode"] = [f"e{i // 4}" for i in range(len(frame))]
    return frame


def grid(selection: dict, heldout: dict | None = None, variants=GRID):
    """Records with ``selection``: variant -> f(seed) -> per-item values on the selection
    split (400 steps), and ``heldout`` the same on the held-out split (40 steps; default
    :data:`HELDOUT`)."""
    heldout = heldout or HELDOUT
    records = make_records(variants, seeds=SEEDS,
                           scores={(v, s): heldout[v](s) for v in heldout for s in SEEDS})
    records.selection_scores = {(v, s): selection_frame(selection[v](s))
                                for v in selection for s in SEEDS}
    return records


def jitter(right: int, n: int = N_ITEMS):
    """ones(right + seed, n), the seeds a little apart."""
    return lambda s: ones(right + s, n)


def sel(right: int):
    """The same on the 400-step selection split (100 episodes of 4 steps)."""
    return jitter(right, SELECTION_STEPS)


def recommended_text(records, margin=DEFAULT_MARGIN) -> str:
    (f,) = [f for f in findings_of(records, margin) if f.section == "Recommended design"]
    return f.text


# --------------------------------------------------------------------------- change counts

def test_change_count_counts_axes_away_from_the_original():
    assert change_count(ORIGINAL.to_dict()) == 0
    assert change_count(design(coord_head="mlp")) == 1
    assert change_count(FIXED.to_dict()) == len(differing_axes())
    assert change_count({}) == 0                    # a missing axis is at its original value
    assert change_count(CORRECTED.to_dict()) >= 1


# --------------------------------------------------------------------------- the rule

SELECTION_STEPS = 400
# the best (330 of 400 right) and one change less 6 steps below it: -0.015 [-0.036, +0.006],
# within 0.05; the original 30 steps below: -0.075 [-0.126, -0.024], outside
SELECTION = {"original": sel(300), "original+mlp": sel(324),
             "original+mlp+units": sel(330), "fixed": sel(200)}
HELDOUT = {"original": jitter(8), "original+mlp": jitter(31),
           "original+mlp+units": jitter(32), "fixed": jitter(20)}


def test_the_simplest_design_within_the_margin_wins_over_a_slightly_better_richer_one():
    rec = recommend(grid(SELECTION))
    assert rec.best == "original+mlp+units"
    mlp = rec.candidate("original+mlp")
    assert mlp.within and mlp.to_best.low > -DEFAULT_MARGIN and mlp.to_best.mean < 0
    assert rec.chosen == "original+mlp"
    assert [c.variant for c in rec.richer] == ["original+mlp+units"]


def test_a_design_outside_the_margin_is_never_chosen_even_if_simpler():
    selection = SELECTION
    rec = recommend(grid(selection))
    original = rec.candidate("original")
    assert not original.within and original.to_best.low < -DEFAULT_MARGIN
    assert rec.chosen == "original+mlp"
    # with a wider margin the original is inside and, with no change at all, chosen
    assert recommend(grid(selection), margin=0.2).chosen == "original"


def test_with_nothing_else_within_the_margin_the_best_is_chosen():
    selection = {"original": sel(50), "original+mlp": sel(100),
                 "original+mlp+units": sel(330), "fixed": sel(200)}
    rec = recommend(grid(selection))
    assert rec.chosen == rec.best == "original+mlp+units" and rec.richer == []
    text = recommended_text(grid(selection))
    assert "it is the best on the selection split itself" in text
    assert "1 of 4 measured designs is within the margin" in text


def test_ties_in_changes_go_to_the_higher_selection_mean():
    variants = {**GRID, "original+units": design(coord_units="screen")}
    selection = {**SELECTION, "original+mlp": sel(322), "original+units": sel(324)}
    heldout = {**HELDOUT, "original+units": jitter(30)}
    rec = recommend(grid(selection, heldout, variants=variants))
    # original (0 changes) is far outside; two one-change designs within: the higher wins
    assert not rec.candidate("original").within
    assert rec.chosen == "original+units"


def test_changing_every_confirmation_label_does_not_change_the_choice():
    records = grid(SELECTION)
    # held-out scores that say the opposite: the original best, the chosen design worst
    upside_down = {"original": jitter(37), "original+mlp": jitter(2),
                   "original+mlp+units": jitter(12), "fixed": jitter(20)}
    flipped = grid(SELECTION, upside_down)
    assert recommend(flipped) == recommend(records)
    # no held-out scores at all: the same choice
    records.scores = {}
    assert recommend(records) == recommend(flipped)
    # the confirmation comparisons are what changes, read after the choice
    text = recommended_text(flipped)
    assert text.startswith("Recommended: original+mlp (1 change from the original design)")
    assert "against original -0.875" in text and "(worse)" in text


def test_a_failed_run_takes_a_variant_out_of_the_rule():
    records = grid(SELECTION)
    records.summary.loc[(records.summary.variant == "original+mlp+units")
                        & (records.summary.seed == 1), "status"] = "failed"
    rec = recommend(records)
    assert "original+mlp+units" not in [c.variant for c in rec.candidates]
    assert rec.best == rec.chosen == "original+mlp"


# --------------------------------------------------------------------------- the finding

def test_the_finding_states_rule_choice_selection_difference_confirmation_and_richer():
    selection = {**SELECTION}
    heldout = {**HELDOUT}
    # on the held-out split the richer design types better (its query head, scored on every
    # TYPE step): +5 items of text F1 per seed; the end-to-end text F1 would say otherwise
    heldout["original+mlp+units"] = lambda s: {"step_acc": ones(32 + s),
                                               "head_text_f1": ones(36 + s),
                                               "text_f1": ones(20 + s),
                                               "head_tap_acc": ones(31 + s)}
    heldout["original+mlp"] = lambda s: {"step_acc": ones(31 + s), "head_text_f1": ones(31 + s),
                                         "text_f1": ones(31 + s), "head_tap_acc": ones(31 + s)}
    text = recommended_text(grid(selection, heldout))
    assert text.startswith("Recommended: original+mlp (1 change from the original design), "
                           f"by the rule: {rule_text(DEFAULT_MARGIN)};")
    assert "fewest changes from the original design" in text
    assert "2 of 4 measured designs are within the margin" in text
    assert "Selection step accuracy 0.812" in text
    assert ("against the best on the selection split, original+mlp+units (0.828): -0.015 "
            "[-0.036, +0.006]" in text)
    assert "Confirmation (held-out step accuracy" in text
    assert "against original +0.575" in text and "against fixed +0.275" in text
    assert ("original+mlp+units (2 changes): typed-text F1 on TYPE steps +0.125 [" in text
            and "tap accuracy on taps +0.000" in text)
    assert "nan" not in text


def test_the_fixed_design_within_the_margin_is_listed_as_richer():
    selection = {**SELECTION, "fixed": sel(326)}
    rec = recommend(grid(selection))
    assert rec.chosen == "original+mlp"
    assert [c.variant for c in rec.richer] == ["original+mlp+units", "fixed"]


# --------------------------------------------------------------------------- no selection scores

def test_records_without_selection_scores_give_no_recommendation_and_say_why():
    records = grid(SELECTION)
    records.selection_scores = {}
    rec = recommend(records)
    assert rec.chosen is None and "selection scores" in rec.reason
    text = recommended_text(records)
    assert text.startswith("No recommendation: the rule (on the selection split")
    assert "needs each run's selection scores" in text
    assert "never falls back to the held-out split" in text
    assert "Recommended:" not in text


def test_a_variant_without_selection_scores_is_left_out_and_named():
    records = grid(SELECTION)
    for seed in SEEDS:
        records.selection_scores.pop(("original+mlp+units", seed))
    rec = recommend(records)
    assert rec.without_selection == ("original+mlp+units",)
    assert rec.best == rec.chosen == "original+mlp"
    assert "Left out for lack of selection scores: original+mlp+units" in recommended_text(
        records)


def test_no_finished_run_no_finding():
    records = make_records(GRID, seeds=SEEDS, status={(v, s): "failed" for v in GRID
                                                      for s in SEEDS})
    assert recommend(records).chosen is None
    assert not [f for f in findings_of(records) if f.section == "Recommended design"]


def test_selection_differences_are_paired_by_episode():
    # the same steps wrong on every seed, in one episode: the interval is clustered (wider
    # than with every step its own episode), from the selection scores' episode column
    records = grid(SELECTION)
    d = recommend(records).candidate("original+mlp").to_best
    for key, frame in records.selection_scores.items():
        frame["episode"] = [f"s{i}" for i in range(len(frame))]
    d_steps = recommend(records).candidate("original+mlp").to_best
    assert np.isclose(d.mean, d_steps.mean)
    assert d.high - d.low != d_steps.high - d_steps.low


# --------------------------------------------------------------------------- from a folder

def write_folder(root, with_selection: bool) -> None:
    """A made-up output folder: run.json, and per run status.json, steps.csv,
    heldout_scores.csv and (``with_selection``) selection_scores.csv; the selection ranks the variants as SELECTION
    does, the held-out split the other way round."""
    from harness.io import atomic_write_json
    from harness.results import HELDOUT_SCORES, SELECTION_SCORES, STEPS_CSV, RunPaths
    paths = RunPaths(root)
    paths.root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(paths.run_json, {"settings": {"seeds": list(SEEDS)},
                                       "variants": [{"name": n, "design": d}
                                                    for n, d in GRID.items()]})
    heldout = {"original": jitter(37), "original+mlp": jitter(2),
               "original+mlp+units": jitter(12), "fixed": jitter(20)}
    for name in GRID:
        for seed in SEEDS:
            run_dir = paths.run_dir(name, seed)
            run_dir.mkdir(parents=True, exist_ok=True)
            frame = scores_frame(heldout[name](seed))
            frame["episode"] = [f"h{i // 4}" for i in range(len(frame))]
            frame.to_csv(run_dir / HELDOUT_SCORES, index=False)
            if with_selection:
                selection_frame(SELECTION[name](seed)).to_csv(run_dir / SELECTION_SCORES,
                                                             index=False)
            # a finished run always has its step records; the rule does not read them
            (run_dir / STEPS_CSV).write_text("step,metric,value\n0,loss/total,1.0\n")
            atomic_write_json(run_dir / "status.json",
                              {"variant": name, "seed": seed, "status": "ok"})


def test_load_records_reads_the_selection_scores_and_the_rule_reads_only_them(tmp_path):
    from harness.report.load import load_records
    write_folder(tmp_path, with_selection=True)
    records = load_records(tmp_path)
    assert set(records.selection_scores) == {(v, s) for v in GRID for s in SEEDS}
    assert records.selection_matrix("original+mlp", list(SEEDS), "step_acc").shape == (3, 400)
    assert records.selection_episodes("original+mlp", list(SEEDS))[0] == "e0"
    rec = recommend(records)
    assert rec.best == "original+mlp+units" and rec.chosen == "original+mlp"


def test_an_older_folder_without_selection_scores_gets_no_recommendation(tmp_path):
    from harness.report.load import load_records
    write_folder(tmp_path, with_selection=False)
    records = load_records(tmp_path)
    assert records.selection_scores == {}
    rec = recommend(records)
    assert rec.chosen is None and rec.without_selection == tuple(GRID)
