"""The report's Findings section is generated from the records: fed made-up records, each
finding must appear when its evidence is there, change with the numbers, and disappear when
the evidence is absent."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.design import FIXED, ORIGINAL
from harness.report import analysis as A
from harness.report.claims import build_claims
from harness.report.findings import (SECTIONS, Finding, build_findings, findings_table,
                                     grouped)
from harness.report.load import GridRecords
from harness.report.stats import DEFAULT_MARGIN, EQUIVALENT, HELPS, HURTS, UNDECIDED

TEMPLATE = Path(__file__).resolve().parents[1] / "harness" / "report" / "template.html.j2"
SCORE_COLUMNS = ("action_acc", "step_acc", "tap_acc", "swipe_acc", "text_em", "text_f1",
                 "head_text_f1", "head_tap_acc", "head_swipe_acc")
N_ITEMS = 40


# --------------------------------------------------------------------------- made-up records

def design(base=ORIGINAL, **changes) -> dict:
    return base.replace(**changes).to_dict()


def scores_frame(values) -> pd.DataFrame:
    """Per-step held-out scores: ``values`` (one per item) for every metric column, or a
    dict metric -> values (missing metrics: the step_acc values)."""
    if not isinstance(values, dict):
        values = {"step_acc": values}
    base = np.asarray(values.get("step_acc", next(iter(values.values()))), dtype=float)
    frame = {"item": np.arange(len(base))}
    for column in (*SCORE_COLUMNS, *(c for c in values if c not in SCORE_COLUMNS)):
        frame[column] = np.asarray(values.get(column, base), dtype=float)
    return pd.DataFrame(frame)


def ones(n_right: int, n: int = N_ITEMS) -> np.ndarray:
    """0/1 per item: the first ``n_right`` right."""
    return (np.arange(n) < n_right).astype(float)


def make_records(variants: dict, seeds=(0, 1, 2), *, scores=None, steps=None, facts=None,
                 status=None, baseline=None) -> GridRecords:
    """GridRecords from a few arguments.

    ``variants``: name -> design dict. ``scores``: (variant, seed) -> per-item values (or a
    frame); a run without scores gets summary metrics only. ``steps``: rows (variant, seed,
    step, metric, value). ``facts``: (variant, seed) -> facts dict. ``status``: (variant,
    seed) -> status other than "ok". ``baseline``: the trivial baseline's per-item values.
    """
    scores = {k: v if isinstance(v, pd.DataFrame) else scores_frame(v)
              for k, v in (scores or {}).items()}
    status = status or {}
    rows = []
    for name in variants:
        for seed in seeds:
            row = {"variant": name, "seed": seed, "status": status.get((name, seed), "ok"),
                   "message": "", "steps_done": 30, "n_steps": N_ITEMS,
                   "step_time_s": 0.05, "peak_memory_mb": 100.0}
            frame = scores.get((name, seed))
            for metric in SCORE_COLUMNS:
                row[metric] = float(frame[metric].mean()) if frame is not None else math.nan
            rows.append(row)
    steps_frame = pd.DataFrame(steps or [], columns=["variant", "seed", "step", "metric",
                                                       "value"])
    all_facts = {(name, seed): {} for name in variants for seed in seeds}
    for key, value in (facts or {}).items():
        all_facts[key] = value
    ok_scores = {k: v for k, v in scores.items() if status.get(k, "ok") == "ok"}
    return GridRecords(
        root=Path("."), run={"settings": {"seeds": list(seeds)}}, summary=pd.DataFrame(rows),
        steps=steps_frame, facts=all_facts, errors={},
        variants=[{"name": n, "design": d} for n, d in variants.items()], scores=ok_scores,
        baseline_scores=None if baseline is None else scores_frame(baseline))


def findings_of(records: GridRecords, margin: float = DEFAULT_MARGIN) -> list[Finding]:
    summary = A.summary_table(records)
    effects = A.effects_table(records, margin)
    measured = A.claim_measurements(records)
    return build_findings(records, summary, effects, measured, margin)


def text_of(findings: list[Finding]) -> str:
    return "\n".join(f.text for f in findings)


def step_rows(variant: str, metric: str, values, seeds=(0, 1, 2)) -> list[tuple]:
    return [(variant, seed, step, metric, value) for seed in seeds
            for step, value in enumerate(values)]


def template_ids() -> set[str]:
    """Every element id index.html can hold: literal ids, the tables' ids (second argument
    of the ``frame`` macro) and the claim sections (claim-1 ... claim-7)."""
    text = TEMPLATE.read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([A-Za-z0-9_-]+)"', text))
    ids |= set(re.findall(r'frame\([^,()]+,\s*"([A-Za-z0-9_-]+)"\)', text))
    assert 'id="claim-{{ claim.number }}"' in text
    records = make_records({"original": design()})
    claims = build_claims(A.claim_measurements(records), A.effects_table(records))
    ids |= {f"claim-{c.number}" for c in claims}
    return ids


def check_links(findings: list[Finding]) -> None:
    ids = template_ids()
    for f in findings:
        assert f.link in ids, (f.link, f.text)


# --------------------------------------------------------------------------- original design

def probe_rows(variant: str, action: float, query: float, coord: float, grad_norm: float,
               n_steps: int = 5) -> list[tuple]:
    rows = []
    for seed in (0, 1, 2):
        for step in range(n_steps):
            rows += [(variant, seed, step, "probe/shared_grad_norm/action", action),
                     (variant, seed, step, "probe/shared_grad_norm/query", query),
                     (variant, seed, step, "probe/shared_grad_norm/coord", coord),
                     (variant, seed, step, "grad_norm", grad_norm)]
    return rows


def test_coordinate_dominance_appears_with_its_share_and_grad_norm():
    # coord^2 / (1 + 1 + 100) = 0.980
    records = make_records({"original": design()},
                           steps=probe_rows("original", 1.0, 1.0, 10.0, 250.0))
    found = [f for f in findings_of(records) if "coordinate loss" in f.text]
    assert len(found) == 1
    (f,) = found
    assert f.section == SECTIONS[0]
    assert "dominates" in f.text
    assert "98%" in f.text
    assert "250" in f.text                  # the median global gradient norm
    assert "10x the action head's" in f.text
    # the original clips at 1.0: the scale applied on a typical step is named
    assert "clipping at 1" in f.text and "about 0.004" in f.text
    check_links([f])


def test_coordinate_share_changes_and_dominance_disappears_when_small():
    # coord^2 / (9 + 9 + 1) = 5%
    records = make_records({"original": design()},
                           steps=probe_rows("original", 3.0, 3.0, 1.0, 0.5))
    found = [f for f in findings_of(records) if "coordinate loss" in f.text]
    assert len(found) == 1
    assert "dominates" not in found[0].text
    assert "5%" in found[0].text and "0.5" in found[0].text
    assert "clipping at" not in found[0].text       # below the clip norm: nothing scaled


def test_no_probe_records_no_dominance_finding():
    steps = step_rows("original", "grad_norm", [5.0] * 10)
    text = text_of(findings_of(make_records({"original": design()}, steps=steps)))
    assert "coordinate loss" not in text and "dominates" not in text


def test_normalized_coords_share_is_reported_next_to_the_original():
    steps = (probe_rows("original", 1.0, 1.0, 10.0, 250.0)
             + probe_rows("original+normalized_coords", 1.0, 1.0, 1.0, 2.0))
    records = make_records({"original": design(),
                            "original+normalized_coords": design(coord_units="screen")},
                           steps=steps)
    found = [f for f in findings_of(records) if "original+normalized_coords" in f.text
             and "share" in f.text]
    assert len(found) == 1 and "33%" in found[0].text


def test_no_original_variant_no_original_section():
    records = make_records({"fixed": design(FIXED)},
                           steps=probe_rows("fixed", 1.0, 1.0, 10.0, 250.0))
    assert not [f for f in findings_of(records) if f.section == SECTIONS[0]]


# --------------------------------------------------------------------------- zero learning rate

def test_zero_lr_span_is_found_with_steps_and_share():
    lr = [0.0] * 10 + [1e-4] * 20
    records = make_records({"fixed": design(FIXED)}, steps=step_rows("fixed", "lr", lr))
    found = [f for f in findings_of(records) if "learning rate at exactly 0" in f.text]
    assert len(found) == 1
    (f,) = found
    assert "steps 0-9" in f.text and "(10 steps, 33% of each run)" in f.text
    assert "1 variant: fixed" in f.text
    check_links([f])


def test_zero_lr_span_changes_with_the_epoch_length():
    lr = [0.0] * 3 + [1e-4] * 27
    records = make_records({"fixed": design(FIXED)}, steps=step_rows("fixed", "lr", lr))
    text = text_of(findings_of(records))
    assert "steps 0-2 (3 steps, 10% of each run)" in text


def test_no_zero_lr_no_finding():
    records = make_records({"fixed": design(FIXED)},
                           steps=step_rows("fixed", "lr", [1e-3] * 30))
    assert "exactly 0" not in text_of(findings_of(records))


def test_zero_lr_later_in_a_run_is_not_the_warmup_finding():
    lr = [1e-3] * 10 + [0.0] * 5 + [1e-3] * 15
    records = make_records({"fixed": design(FIXED)}, steps=step_rows("fixed", "lr", lr))
    assert "exactly 0" not in text_of(findings_of(records))


# --------------------------------------------------------------------------- routing

def routing_rows(variant: str, zero_share: float, n: int = 20) -> list[tuple]:
    zeros = round(zero_share * n)
    grads = [0.0] * zeros + [0.3] * (n - zeros)
    return (step_rows(variant, "grad_norm/query_decoder", grads)
            + step_rows(variant, "routing/query_rows", [0.05] * n))


def test_predicted_routing_starves_the_query_decoder():
    records = make_records({"fixed": design(FIXED)}, steps=routing_rows("fixed", 0.9))
    found = [f for f in findings_of(records) if "query decoder" in f.text]
    assert len(found) == 1
    (f,) = found
    assert "starves" in f.text and "90%" in f.text and "5% of rows" in f.text
    check_links([f])


def test_routing_by_the_target_is_not_counted_as_starved_by_predicted_routing():
    records = make_records({"fixed": design(FIXED), "corrected": design(CORRECTED)},
                           steps=routing_rows("fixed", 0.9) + routing_rows("corrected", 0.6))
    (f,) = [f for f in findings_of(records) if "query decoder" in f.text]
    assert "1 variant that route" in f.text and "(fixed)" in f.text
    assert "corrected" not in f.text and "90%" in f.text and "60%" not in f.text


def test_rarely_zero_query_gradient_is_not_starvation():
    records = make_records({"fixed": design(FIXED)}, steps=routing_rows("fixed", 0.1))
    found = [f for f in findings_of(records) if "query decoder" in f.text]
    assert len(found) == 1
    assert "starves" not in found[0].text and "10%" in found[0].text


def test_routing_all_gives_no_routing_finding():
    # the same zero gradients under routing "all" are not attributed to routing
    records = make_records({"original": design()}, steps=routing_rows("original", 0.9))
    assert "query decoder" not in text_of(findings_of(records))


# --------------------------------------------------------------------------- schedulers

def plateau_event(epoch: int, undone: bool, finite: bool = False) -> dict:
    return {"epoch": epoch, "step": 3 * (epoch + 1), "val_loss": 1.0 if finite else math.nan,
            "val_loss_finite": finite, "scheduler": "ReduceLROnPlateau",
            "cause": "no improvement for 10 epochs" if finite else "validation loss NaN",
            "lr_before": 1e-3, "lr_after": 1e-4, "undone_by_warmup": undone}


def test_plateau_cut_by_nan_losses_is_reported_with_its_epoch():
    facts = {("fixed-warmup", s): {"scheduler_events": [plateau_event(10, False)]}
             for s in (0, 1)}
    records = make_records({"fixed-warmup": design(FIXED, warmup="none")}, facts=facts)
    findings = findings_of(records)
    text = text_of(findings)
    assert "cut the learning rate 10x" in text
    assert "in 2 runs of 1 variant (fixed-warmup), at the end of epoch 10" in text
    assert "undone" not in text
    check_links([f for f in findings if "10x" in f.text])


def test_plateau_cut_undone_by_warmup_is_reported_instead():
    facts = {("fixed", s): {"scheduler_events": [plateau_event(10, True)]} for s in (0, 1, 2)}
    records = make_records({"fixed": design(FIXED)}, facts=facts)
    text = text_of(findings_of(records))
    assert "cut the learning rate 10x" not in text
    assert "In 3 runs with the per-epoch warmup (fixed) such a cut was undone at once" in text


def test_finite_plateau_cut_is_not_blamed_on_nan():
    facts = {("fixed", 0): {"scheduler_events": [plateau_event(11, False, finite=True)]}}
    records = make_records({"fixed": design(FIXED)}, facts=facts)
    text = text_of(findings_of(records))
    assert "10x" not in text and "undone" not in text


def test_no_scheduler_events_no_cut_finding():
    records = make_records({"fixed": design(FIXED)})
    text = text_of(findings_of(records))
    assert "ReduceLROnPlateau" not in text and "undone" not in text


def test_nan_validation_losses_are_reported_with_their_share():
    val = [math.nan, math.nan, math.nan, 0.7]          # NaN at 3 of 4 epoch ends
    records = make_records({"fixed-warmup": design(FIXED, warmup="none")},
                           steps=step_rows("fixed-warmup", "val/val_loss", val))
    found = [f for f in findings_of(records) if "NaN at" in f.text]
    assert len(found) == 1 and "NaN at 75% of epoch ends" in found[0].text
    finite = make_records({"fixed-warmup": design(FIXED, warmup="none")},
                          steps=step_rows("fixed-warmup", "val/val_loss", [0.9, 0.8, 0.7]))
    assert "NaN at" not in text_of(findings_of(finite))


def test_nan_finding_link_exists_without_any_scheduler_event():
    # NaN at every epoch end, but fewer epochs than the plateau patience: no cut, no event.
    records = make_records({"fixed-warmup": design(FIXED, warmup="none")},
                           steps=step_rows("fixed-warmup", "val/val_loss", [math.nan] * 5))
    (f,) = [f for f in findings_of(records) if "NaN at" in f.text]
    assert A.claim_measurements(records)["scheduler_events"].empty
    # the link target exists even when its table is empty: frame(df, id) gives the
    # "no data" note the table's id
    assert f.link == "scheduler-table"
    assert '<p class="note" id="{{ id }}">No data for this table' in TEMPLATE.read_text()


def test_nonfinite_loss_counts_are_reported():
    facts = {("fixed", 0): {"nonfinite_counts": {"query:survived": 4}},
             ("fixed", 1): {"nonfinite_counts": {"query:survived": 6}}}
    records = make_records({"fixed": design(FIXED)}, facts=facts)
    found = [f for f in findings_of(records) if "not finite" in f.text]
    assert len(found) == 1
    assert "The query loss is not finite on 4-6 training steps per run" in found[0].text
    assert "survived" in found[0].text
    check_links(found)


# --------------------------------------------------------------------------- backward agreement

def agreement(rel: float) -> dict:
    return {"backward_agreement": {"max_abs_diff": rel * 2.0, "rel_diff": rel,
                                   "single_norm": 2.0, "per_head_norm": 2.0 * (1 + rel)}}


def test_backward_agreement_same_gradient():
    facts = {("original", s): agreement(3e-8) for s in (0, 1, 2)}
    records = make_records({"original": design()}, facts=facts)
    found = [f for f in findings_of(records) if "backward" in f.text]
    assert len(found) == 1
    assert "same gradient" in found[0].text and "3.0e-08" in found[0].text
    assert "3 runs" in found[0].text
    check_links(found)


def test_backward_agreement_large_difference_differs():
    facts = {("original", 0): agreement(3e-8), ("original", 1): agreement(0.25)}
    records = make_records({"original": design()}, facts=facts)
    found = [f for f in findings_of(records) if "backward" in f.text]
    assert len(found) == 1
    assert "differ" in found[0].text and "same gradient" not in found[0].text
    assert "2.50e-01" in found[0].text


def test_no_agreement_facts_no_agreement_finding():
    records = make_records({"original": design()})
    assert "backward" not in text_of(findings_of(records))


# --------------------------------------------------------------------------- verdicts

PAIR = {"original": design(), "original+mlp_head": design(coord_head="mlp")}


def pair_scores(without, with_fix, seeds=(0, 1, 2)) -> dict:
    """Per-seed per-item scores of the comparison original -> original+mlp_head."""
    out = {}
    for seed in seeds:
        out[("original", seed)] = without(seed)
        out[("original+mlp_head", seed)] = with_fix(seed)
    return out


def verdict_of(records) -> str:
    effects = A.effects_table(records)
    (row,) = effects[effects.fix == "mlp_head"].itertuples()
    return row.verdict


def test_a_fix_that_wins_every_step_helps():
    scores = pair_scores(lambda s: ones(10), lambda s: ones(30 + s))
    records = make_records(PAIR, scores=scores)
    assert verdict_of(records) == HELPS
    found = [f for f in findings_of(records) if "mlp_head (original + fix)" in f.text]
    assert len(found) == 1
    (f,) = found
    assert f.text.startswith("Step accuracy: 1 fix comparison helps (difference with its "
                             "unadjusted 95% interval; decisions from a family of 1")
    assert "+0.525" in f.text                   # (20 + 21 + 22) / 3 / 40
    assert f.section == SECTIONS[2]
    check_links([f])


def test_a_fix_that_loses_every_step_hurts():
    scores = pair_scores(lambda s: ones(30), lambda s: ones(5 + s))
    records = make_records(PAIR, scores=scores)
    assert verdict_of(records) == HURTS
    text = text_of(findings_of(records))
    assert "1 fix comparison hurts" in text and "helps" not in text


def test_identical_scores_are_a_noop_not_an_equivalence():
    scores = pair_scores(lambda s: ones(20 + s), lambda s: ones(20 + s))
    records = make_records(PAIR, scores=scores)
    assert verdict_of(records) == EQUIVALENT
    text = text_of(findings_of(records))
    assert "No-ops (not one held-out prediction changed, on any seed): mlp_head " \
           "(original + fix)." in text
    assert "equivalent" not in text and "helps" not in text


def test_a_small_consistent_difference_is_equivalent():
    # one step in 40 changes on one seed: a difference, but within the margin
    scores = pair_scores(lambda s: ones(20), lambda s: ones(21 if s == 0 else 20))
    records = make_records(PAIR, scores=scores)
    assert verdict_of(records) == EQUIVALENT
    text = text_of(findings_of(records))
    assert "1 fix comparison is equivalent (within +-0.05, two one-sided tests at 5%)" in text
    assert "No-ops" not in text


def test_a_noisy_difference_is_undecided_with_the_seeds_that_would_decide():
    # seeds disagree on the sign: +0.25, -0.125, +0.375
    gains = {0: 30, 1: 15, 2: 35}
    scores = pair_scores(lambda s: ones(20), lambda s: ones(gains[s]))
    records = make_records(PAIR, scores=scores)
    assert verdict_of(records) == UNDECIDED
    (f,) = [f for f in findings_of(records) if "undecided" in f.text]
    assert f.text.startswith("Step accuracy: 1 comparison undecided at this budget")
    assert "mlp_head (original + fix)" in f.text
    assert "seeds would decide" in f.text or "not reachable with more seeds" in f.text


def test_a_fix_that_fails_crashes():
    scores = pair_scores(lambda s: ones(10), lambda s: ones(30))
    records = make_records(PAIR, scores=scores, status={("original+mlp_head", 1): "failed"})
    text = text_of(findings_of(records))
    assert "1 fix comparison crashes" in text


def test_verdicts_use_the_margin_given():
    # one step in 40 changes on one seed: [-0.031, +0.048], within 0.05 but not within 0.01
    scores = pair_scores(lambda s: ones(20), lambda s: ones(21 if s == 0 else 20))
    records = make_records(PAIR, scores=scores)
    assert "is equivalent (within +-0.05, two one-sided" in text_of(findings_of(records,
                                                                               margin=0.05))
    narrow = text_of(findings_of(records, margin=0.01))
    assert "equivalent" not in narrow and "1 comparison undecided" in narrow
    # two runs that change nothing: equivalent at any margin, worded as a no-op
    same = make_records(PAIR, scores=pair_scores(lambda s: ones(20), lambda s: ones(20)))
    assert "No-ops" in text_of(findings_of(same, margin=0.001))


def test_step_time_cost_is_reported_only_when_it_changes():
    scores = pair_scores(lambda s: ones(10), lambda s: ones(30))
    records = make_records(PAIR, scores=scores)
    assert not [f for f in findings_of(records) if f.section == SECTIONS[3]]
    records.summary.loc[records.summary.variant == "original+mlp_head", "step_time_s"] = 0.1
    (f,) = [f for f in findings_of(records) if f.section == SECTIONS[3]]
    assert "mlp_head (original + fix) 2.00x the step time" in f.text
    check_links([f])


def test_flops_cost_is_reported_beside_step_time():
    scores = pair_scores(lambda s: ones(10), lambda s: ones(30))
    facts = {("original", 0): {"flops_per_step": 4e9},
             ("original+mlp_head", 0): {"flops_per_step": 1e9}}
    (f,) = [f for f in findings_of(make_records(PAIR, scores=scores, facts=facts))
            if f.section == SECTIONS[3]]
    assert "mlp_head (original + fix) 0.25x the FLOPs, 1.00x the step time" in f.text
    # FLOPs counted for one side only: no FLOPs ratio, and nothing moved by 10%: no finding
    facts.pop(("original", 0))
    assert not [f for f in findings_of(make_records(PAIR, scores=scores, facts=facts))
                if f.section == SECTIONS[3]]


# --------------------------------------------------------------------------- best design

def test_best_design_is_named_with_its_runner_up():
    scores = pair_scores(lambda s: ones(10 + s), lambda s: ones(30 + s))
    records = make_records(PAIR, scores=scores)
    (best,) = [f for f in findings_of(records) if f.text.startswith("Best measured design")]
    assert best.text.startswith("Best measured design: original+mlp_head, AitW step accuracy "
                                "0.775")
    assert "over 3 seeds" in best.text
    assert "Against the runner-up original" in best.text and "a clear lead" in best.text
    assert best.section == SECTIONS[4]
    # reverse the scores: the other variant is best
    flipped = make_records(PAIR, scores=pair_scores(lambda s: ones(30 + s),
                                                    lambda s: ones(10 + s)))
    (best,) = [f for f in findings_of(flipped) if f.text.startswith("Best measured design")]
    assert best.text.startswith("Best measured design: original, ")
    assert "runner-up original+mlp_head" in best.text


def test_best_design_excludes_variants_with_failed_runs():
    scores = pair_scores(lambda s: ones(10), lambda s: ones(30))
    records = make_records(PAIR, scores=scores, status={("original+mlp_head", 2): "failed"})
    (best,) = [f for f in findings_of(records) if f.text.startswith("Best measured design")]
    assert best.text.startswith("Best measured design: original, ")


def test_best_design_against_the_trivial_baseline():
    scores = pair_scores(lambda s: ones(10), lambda s: ones(30 + s))
    above = make_records(PAIR, scores=scores, baseline=ones(5))
    (f,) = [f for f in findings_of(above) if "against the trivial baseline on the same" in f.text
            and f.text.startswith("original+mlp_head")]
    for head in ("action head (action accuracy)", "coordinate head (tap accuracy on taps)",
                 "typed-text head (typed-text word F1 on TYPE steps)"):
        assert head in f.text
    assert f.text.count("above the trivial baseline") == 3
    check_links([f])

    equal = make_records(PAIR, scores=pair_scores(lambda s: ones(10), lambda s: ones(30)),
                         baseline=ones(30))
    (f,) = [f for f in findings_of(equal) if f.text.startswith("original+mlp_head against")]
    assert f.text.count("not distinguishable from the trivial baseline") == 3
    assert "above" not in f.text

    below = make_records(PAIR, scores=pair_scores(lambda s: ones(10), lambda s: ones(30 + s)),
                         baseline=ones(N_ITEMS))
    (f,) = [f for f in findings_of(below) if f.text.startswith("original+mlp_head against")]
    assert f.text.count("below the trivial baseline") == 3


def test_no_baseline_scores_no_baseline_finding():
    records = make_records(PAIR, scores=pair_scores(lambda s: ones(10), lambda s: ones(30)))
    assert "trivial baseline" not in text_of(findings_of(records))


def test_original_against_the_baseline_in_its_own_section():
    records = make_records(PAIR, scores=pair_scores(lambda s: ones(10), lambda s: ones(30)),
                           baseline=ones(5))
    (f,) = [f for f in findings_of(records) if f.text.startswith("original's AitW step")]
    assert f.section == SECTIONS[0] and "+0.125" in f.text


# --------------------------------------------------------------------------- partial grids

def test_partial_grid_one_variant_one_seed():
    records = make_records({"original": design()}, seeds=(0,),
                           scores={("original", 0): ones(12)}, baseline=ones(4))
    findings = findings_of(records)
    assert not [f for f in findings if f.link == "effects-table"]
    text = text_of(findings)
    for word in ("helps", "hurts", "equivalent", "undecided", "No-ops"):
        assert word not in text
    (best,) = [f for f in findings if f.text.startswith("Best measured design")]
    assert "original" in best.text and "over 1 seed." in best.text
    assert "runner-up" not in best.text


def test_partial_grid_prints_no_nan():
    records = make_records({"original": design()}, seeds=(0,),
                           scores={("original", 0): ones(12)})
    assert "nan" not in text_of(findings_of(records))


def test_one_seed_comparison_does_not_claim_more_seeds_cannot_decide():
    records = make_records(PAIR, seeds=(0,),
                           scores={("original", 0): ones(10), ("original+mlp_head", 0): ones(30)})
    (f,) = [f for f in findings_of(records) if "undecided" in f.text]
    assert "not reachable with more seeds" not in f.text


def test_records_without_anything_give_no_findings_and_no_crash():
    records = make_records({"original": design(), "fixed": design(FIXED)},
                           status={(v, s): "missing" for v in ("original", "fixed")
                                   for s in (0, 1, 2)})
    findings = findings_of(records)
    assert findings == []
    table = findings_table(findings)
    assert list(table.columns) == ["section", "text", "link"] and table.empty
    assert grouped(findings) == []


def test_failed_runs_only_give_no_best_design():
    scores = pair_scores(lambda s: ones(10), lambda s: ones(30))
    status = {(v, s): "failed" for v in PAIR for s in (0, 1, 2)}
    findings = findings_of(make_records(PAIR, scores=scores, status=status))
    assert not [f for f in findings if f.section == SECTIONS[4]]


# --------------------------------------------------------------------------- table and links

def everything() -> GridRecords:
    steps = (probe_rows("original", 1.0, 1.0, 10.0, 250.0)
             + step_rows("original+warmup", "lr", [0.0] * 10 + [1e-4] * 20)
             + routing_rows("original+routing", 0.9)
             + step_rows("original+warmup", "val/val_loss", [math.nan, 0.5, math.nan]))
    variants = {"original": design(), "original+mlp_head": design(coord_head="mlp"),
                "original+warmup": design(warmup="epoch10"),
                "original+routing": design(routing="predicted")}
    scores = {}
    for seed in (0, 1, 2):
        scores[("original", seed)] = ones(10 + seed)
        scores[("original+mlp_head", seed)] = ones(30 + seed)
        scores[("original+warmup", seed)] = ones(10 + seed)
        scores[("original+routing", seed)] = ones([18, 5, 25][seed])
    facts = {("original", s): {**agreement(1e-8),
                               "nonfinite_counts": {"query:skipped": 3}} for s in (0, 1, 2)}
    facts[("original+warmup", 0)] = {"scheduler_events": [plateau_event(10, True)]}
    facts[("original+warmup", 1)] = {"scheduler_events": [plateau_event(10, False)]}
    records = make_records(variants, scores=scores, steps=steps, facts=facts, baseline=ones(5))
    records.summary.loc[records.summary.variant == "original+routing", "step_time_s"] = 0.2
    return records


def test_findings_table_columns_sections_and_links():
    findings = findings_of(everything())
    table = findings_table(findings)
    assert list(table.columns) == ["section", "text", "link"]
    assert len(table) == len(findings) and len(findings) >= 12
    assert set(table.section) <= set(SECTIONS)
    # every section has something in this grid, and they come in the declared order
    assert list(dict.fromkeys(table.section)) == list(SECTIONS)
    assert [s for s, _ in grouped(findings)] == list(SECTIONS)
    check_links(findings)
    for phrase in ("dominates", "steps 0-9", "starves", "NaN at", "cut the learning rate 10x",
                   "undone", "same gradient", "helps", "No-ops", "undecided",
                   "Best measured design: original+mlp_head", "above the trivial baseline"):
        assert phrase in "\n".join(table.text), phrase
    assert not table.text.str.contains(r"\bnan\b").any()


def test_findings_are_a_pure_function_of_the_records():
    a = findings_table(findings_of(everything()))
    b = findings_table(findings_of(everything()))
    pd.testing.assert_frame_equal(a, b)


def test_template_ids_include_every_link_target():
    ids = template_ids()
    for link in ("findings", "summary", "effects-table", "cost-choices-table", "zero-lr-table",
                 "nonfinite-table", "scheduler-table", "claim-3", "claim-4", "claim-5",
                 "claim-6"):
        assert link in ids


# --------------------------------------------------------------------------- recommended design

from harness.design import CORRECTED                                     # noqa: E402
from harness.report.findings import in_review                            # noqa: E402

THREE = {"original": design(), "fixed": design(FIXED),
         "fixed-warmup": design(FIXED, warmup="none"), "corrected": CORRECTED.to_dict()}


def three_scores(original, fixed, review, corrected, seeds=(0, 1, 2)) -> dict:
    out = {}
    for seed in seeds:
        for name, right in (("original", original), ("fixed", fixed), ("fixed-warmup", review),
                            ("corrected", corrected)):
            out[(name, seed)] = ones(right + seed)
    return out


def recommended(records) -> list[Finding]:
    return [f for f in findings_of(records) if f.section == "Recommended design"]


def test_in_review_tells_the_reviews_designs_from_the_corrected_one():
    assert in_review(ORIGINAL.to_dict()) and in_review(FIXED.to_dict())
    assert not in_review(CORRECTED.to_dict())


def with_selection(records, selection: dict | None = None):
    """``records`` with selection scores: ``selection`` ((variant, seed) -> per-item values),
    by default the held-out scores themselves."""
    records.selection_scores = ({k: scores_frame(v) for k, v in selection.items()}
                                if selection is not None else dict(records.scores))
    return records


def test_recommended_design_against_original_and_fixed():
    # chosen on the selection split (harness/report/recommend.py, tests/test_recommend.py)
    records = with_selection(make_records(THREE, scores=three_scores(5, 10, 20, 30)))
    (f,) = recommended(records)
    assert f.text.startswith("Recommended: corrected (14 changes from the original design), "
                             "by the rule: on the selection split")
    assert "it is the best on the selection split itself" in f.text
    assert "against original +0.625" in f.text and "against fixed +0.500" in f.text
    assert "(better)" in f.text
    assert "x original's" in f.text and "x fixed's" in f.text    # cost per step
    check_links([f])


def test_a_review_variant_that_wins_on_selection_is_recommended():
    records = with_selection(make_records(THREE, scores=three_scores(5, 10, 30, 20)))
    (f,) = recommended(records)
    assert f.text.startswith("Recommended: fixed-warmup (7 changes")
    assert "against original" in f.text and "against fixed " in f.text


def test_recommended_design_reports_a_held_out_loss_as_such():
    # selection: fixed-warmup best; held-out: fixed better than fixed-warmup
    records = with_selection(make_records(THREE, scores=three_scores(5, 30, 20, 20)),
                             three_scores(5, 10, 30, 20))
    (f,) = recommended(records)
    assert f.text.startswith("Recommended: fixed-warmup")
    assert "against fixed -0.250" in f.text and "(worse)" in f.text


def test_records_without_selection_scores_say_the_recommendation_needs_them():
    (f,) = recommended(make_records(THREE, scores=three_scores(5, 10, 20, 30)))
    assert f.text.startswith("No recommendation:") and "selection scores" in f.text


def test_no_finished_run_no_recommendation():
    records = make_records(THREE, status={(v, s): "failed" for v in THREE for s in (0, 1, 2)})
    assert recommended(records) == []


def _placebo_records(placebo_right):
    """fixed and placebo (the same design) with per-seed counts of right steps out of 40."""
    fixed_right = {0: 20, 1: 22, 2: 21}
    scores = {**{("fixed", s): ones(n) for s, n in fixed_right.items()},
              **{("placebo", s): ones(placebo_right[s]) for s in fixed_right}}
    return make_records({"fixed": design(FIXED), "placebo": design(FIXED)}, scores=scores)


def test_the_placebo_reads_as_the_noise_floor_outside_every_family():
    records = _placebo_records({0: 22, 1: 20, 2: 23})      # +0.017 on average, seeds disagree
    effects = A.effects_table(records)
    row = effects[effects.fix == "placebo"].iloc[0]
    assert row["family"] == "placebo" and row["multiplicity"] == "none"
    assert row["verdict"] in (EQUIVALENT, UNDECIDED)
    (line,) = [f.text for f in findings_of(records) if "noise stream" in f.text]
    assert line.startswith("Noise floor: the fixed design against itself")
    assert f": {row['verdict']}, as a comparison with no real difference should read" in line


def test_a_placebo_that_helps_raises_an_alarm_not_an_error():
    records = _placebo_records({0: 32, 1: 34, 2: 33})      # +0.3 on every seed
    effects = A.effects_table(records)
    assert effects[effects.fix == "placebo"].iloc[0]["verdict"] == HELPS
    (line,) = [f.text for f in findings_of(records) if "noise stream" in f.text]
    assert line.startswith("ALARM, noise floor") and "'helps'" in line
    assert "About 5% of reports show this by chance" in line
