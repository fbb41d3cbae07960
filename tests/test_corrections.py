"""Why each correction of the corrected design (issue 22, part 3): measured on the selection
split against corrected-<correction>, with the training symptom, and never from the held-out
split. Made-up records in the style of tests/test_findings.py."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from harness.design import AXES, CORRECTED
from harness.report import corrections
from harness.report.html import correction_evidence
from tests.test_findings import make_records, ones, scores_frame

SEEDS = (0, 1, 2)
STEPS = 200          # selection steps, 4 to an episode


def selection(right: int, text_right: int | None = None):
    def scores(seed):
        frame = scores_frame({"step_acc": ones(right + seed, STEPS),
                              "head_text_f1": ones((text_right or right) + seed, STEPS),
                              "head_tap_acc": ones(right + seed, STEPS)})
        frame["episode"] = [f"e{i // 4}" for i in range(STEPS)]
        return frame
    return scores


def steps_rows(variant: str, lr_zero_steps: int, nan_query_steps: int):
    rows = []
    for seed in SEEDS:
        for step in range(30):
            rows.append((variant, seed, step, "lr", 0.0 if step < lr_zero_steps else 1e-4))
            rows.append((variant, seed, step, "loss/query",
                         math.nan if step < nan_query_steps else 1.0))
    return [dict(zip(("variant", "seed", "step", "metric", "value"), r)) for r in rows]


def records_with(heldout_flip: bool = False):
    names = {"corrected": CORRECTED.to_dict(),
             "corrected-step_warmup": CORRECTED.replace(warmup="epoch10").to_dict(),
             "corrected-type_rows_query": CORRECTED.replace(query_loss="all_rows").to_dict()}
    # held-out: the opposite of the selection split when flipped (the measure must not care)
    heldout = {(v, s): ones((10 if (v == "corrected") != heldout_flip else 30) + s)
               for v in names for s in SEEDS}
    records = make_records(names, SEEDS, scores=heldout,
                           steps=steps_rows("corrected", 0, 0)
                           + steps_rows("corrected-step_warmup", 9, 0)
                           + steps_rows("corrected-type_rows_query", 0, 4))
    sel = {"corrected": selection(150, 120), "corrected-step_warmup": selection(130, 120),
           "corrected-type_rows_query": selection(150, 100)}
    records.selection_scores = {(v, s): sel[v](s) for v in sel for s in SEEDS}
    return records


def test_each_present_correction_gets_its_selection_differences_and_symptom():
    table = corrections.measure(records_with()).set_index("correction")
    assert sorted(table.index) == ["step_warmup", "type_rows_query"]
    warm = table.loc["step_warmup"]
    assert warm.axis == "warmup" and warm.ablation == "corrected-step_warmup"
    assert warm.fixed_value == str(AXES["warmup"].fixed)
    assert warm.corrected_value == str(AXES["warmup"].corrected)
    assert math.isclose(warm.step_acc_diff, 20 / STEPS)
    assert warm.step_acc_low > 0 and warm.seeds == 3
    assert math.isclose(warm.head_text_f1_diff, 0.0)
    assert warm.symptom_without == 9 and warm.symptom_corrected == 0
    query = table.loc["type_rows_query"]
    assert math.isclose(query.head_text_f1_diff, 20 / STEPS)
    assert math.isclose(query.step_acc_diff, 0.0)
    assert query.symptom_without == 4 and query.symptom_corrected == 0


def test_the_measure_never_reads_the_held_out_split():
    a = corrections.measure(records_with(heldout_flip=False))
    b = corrections.measure(records_with(heldout_flip=True))
    pd.testing.assert_frame_equal(a, b)


def test_the_evidence_sentence_reads_the_row():
    row = corrections.measure(records_with()).set_index("correction").loc["step_warmup"]
    text = corrections.evidence(row.to_dict() | {"correction": "step_warmup"})
    assert text.startswith("on the selection split, corrected minus corrected-step_warmup "
                           "over 3 seeds: step accuracy +0.100 [")
    assert "typed-text F1 on TYPE steps +0.000" in text
    assert text.endswith("Optimizer steps at learning rate 0 (mean per run): 9 without the "
                         "correction, 0 with it")


def test_support_names_the_metrics_whose_interval_excludes_zero():
    table = corrections.measure(records_with()).set_index("correction")
    assert corrections.support(table.loc["step_warmup"]) == "gain in step accuracy, tap accuracy on taps"
    assert corrections.support(table.loc["type_rows_query"]) == "gain in typed-text F1 on TYPE steps"
    flat = {f"{m}_{k}": v for m, _ in corrections.METRICS
            for k, v in (("diff", 0.0), ("low", -0.1), ("high", 0.1))}
    assert corrections.support(flat) == "no task gain measured"
    assert (corrections.support(flat | {"symptom": "steps at lr 0"})
            == "no task gain measured (the symptom only)")
    worse = flat | {"step_acc_low": -0.2, "step_acc_high": -0.01}
    assert corrections.support(worse) == "loss in step accuracy"


def test_the_report_table_gives_this_runs_confirmation_verdict():
    from harness.report import analysis as A
    records = records_with()
    effects = A.effects_table(records, 0.05)
    table, source = correction_evidence(records, effects)
    assert source == "this run"
    assert list(table.correction) == ["step_warmup", "type_rows_query"]
    verdicts = list(table["confirmation (held-out step accuracy: verdict, 95% interval)"])
    # held-out: corrected 10+s right of 40, each ablation 30+s: corrected is worse there
    assert all(v.startswith("hurts, -0.500 [") for v in verdicts), verdicts


def test_without_the_ablations_the_report_cites_the_committed_table(tmp_path, monkeypatch):
    committed = corrections.measure(records_with())
    path = tmp_path / "corrections.csv"
    committed.to_csv(path, index=False)
    monkeypatch.setattr(corrections, "COMMITTED", path)
    only = make_records({"corrected": CORRECTED.to_dict()}, SEEDS,
                        scores={("corrected", s): ones(10) for s in SEEDS})
    table, source = correction_evidence(only, pd.DataFrame())
    assert "committed run" in source
    assert "confirmation (held-out step accuracy: verdict, 95% interval)" not in table
    assert table["why (selection split)"].str.startswith("on the selection split").all()
    monkeypatch.setattr(corrections, "COMMITTED", tmp_path / "absent.csv")
    assert correction_evidence(only, pd.DataFrame()) == (None, None)


def test_the_readme_block_is_rendered_from_the_committed_files(tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import update_example_run as U
    corrections.measure(records_with()).to_csv(tmp_path / "corrections.csv", index=False)
    (tmp_path / "timing.json").write_text('{"command": "run_ablation.py --variants x", '
                                          '"cpu_model": "a CPU", "cores": 2, '
                                          '"total_seconds": 61}')
    pd.DataFrame([{"with_fix": "corrected", "without_fix": "corrected-step_warmup",
                   "verdict": "helps", "d_step_acc": 0.05, "d_step_acc_low": 0.01,
                   "d_step_acc_high": 0.09}]).to_csv(tmp_path / "effects.csv", index=False)
    block = U.render_corrections(tmp_path)
    assert "`run_ablation.py --variants x` on a CPU (2 cores, " in block
    line = next(l for l in block.splitlines() if l.startswith("| `step_warmup`"))
    assert "helps, +0.050 [+0.010, +0.090]" in line
    assert "step accuracy +0.100 [" in line
    other = next(l for l in block.splitlines() if l.startswith("| `type_rows_query`"))
    assert other.endswith("| n/a |")
    assert U.render_corrections(tmp_path / "none") == "(no corrections run committed)"
