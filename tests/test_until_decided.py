"""``--until-decided``: which comparisons get seeds, which seeds, how the looks are recorded,
and that the report re-reads them and decides as the grid did (every look at alpha / K, the
first deciding look kept). The grid is a made-up trainer writing held-out scores with a known
effect; no model is trained."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from harness.design import ORIGINAL
from harness.errors import HarnessInputError
from harness.io import atomic_write_json
from harness.report import sequential
from harness.report.analysis import comparisons, effects_table, paired_difference
from harness.report.load import load_records
from harness.report.stats import HELPS, UNDECIDED
from harness.results import HELDOUT_SCORES, SEQUENTIAL_JSON, STEPS_CSV, RunPaths, listed_runs
from harness.until_decided import plan_next_look, run_until_decided, seed_pool

N_ITEMS, EPISODE = 300, 10
VARIANTS = {"original": ORIGINAL, "original+mlp_head": ORIGINAL.replace(coord_head="mlp")}


def fake_grid(effect: float, seed_sd: float):
    """A ``run_grid`` stand-in: the base gets item i right when u_i < 0.5, the fix when
    u_i < 0.5 + effect + seed_sd * z_seed; records every (variant, seed) it was asked for."""
    u = np.random.default_rng(0).random(N_ITEMS)
    asked = []

    def run_grid(settings, chosen, out, seeds_by_variant=None, **_):
        paths = RunPaths(out)
        paths.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(paths.run_json, {
            "settings": {"seeds": list(settings.seeds)},
            "variants": [{"name": v.name, "design": v.design.to_dict()} for v in chosen]})
        for v in chosen:
            for seed in (seeds_by_variant or {}).get(v.name, settings.seeds):
                run_dir = paths.run_dir(v.name, seed)
                if (run_dir / "status.json").is_file():
                    continue                      # reused, as the real grid does
                asked.append((v.name, seed))
                shift = 0.0
                if v.name != "original":
                    shift = effect + seed_sd * np.random.default_rng(100 + seed).normal()
                right = (u < 0.5 + shift).astype(float)
                run_dir.mkdir(parents=True, exist_ok=True)
                pd.DataFrame({"item": range(N_ITEMS),
                              "episode": [f"e{i // EPISODE}" for i in range(N_ITEMS)],
                              "step_acc": right}).to_csv(run_dir / HELDOUT_SCORES, index=False)
                # a finished run always has its step records; the looks do not read them
                (run_dir / STEPS_CSV).write_text("step,metric,value\n0,loss/total,1.0\n")
                atomic_write_json(run_dir / "status.json",
                                  {"variant": v.name, "seed": seed, "status": "ok"})
        return pd.DataFrame()
    return run_grid, asked


def chosen():
    return [SimpleNamespace(name=n, design=d) for n, d in VARIANTS.items()]


def test_seed_pool_continues_after_the_default_seeds():
    assert seed_pool([0, 1, 2], 6) == [0, 1, 2, 3, 4, 5]
    assert seed_pool([3, 7], 4) == [3, 7, 8, 9]


def effects_row(fix, with_fix, without_fix, needed, verdict=UNDECIDED):
    return {"fix": fix, "direction": "original + fix", "with_fix": with_fix,
            "without_fix": without_fix, "family": "effects", "verdict": verdict,
            "seeds_needed": needed, "level_needed": 0.01}


def test_plan_takes_cheapest_first_shares_bases_and_stops_at_the_time_left():
    effects = pd.DataFrame([
        effects_row("a", "A", "base", 8),          # 3 + 3 runs more
        effects_row("b", "B", "base", 6),          # 1 run more once base has 8
        effects_row("c", "C", "base", 20),         # too costly
        effects_row("d", "D", "base", float("nan")),                 # not reachable
        effects_row("e", "E", "base", 7, verdict=HELPS)])            # decided
    have = {name: [0, 1, 2, 3, 4] for name in ("A", "B", "C", "D", "E", "base")}
    pool = seed_pool([0, 1, 2, 3, 4], 20)
    seconds = dict.fromkeys(have, 10.0)
    new, entries = plan_next_look(effects, have, pool, seconds, seconds_left=100.0)
    # b first (2 runs: B and base to 6), then a (3 runs of A, 2 more of base), c does not fit
    assert new == {"A": [5, 6, 7], "B": [5], "base": [5, 6, 7]}
    by_name = {e["comparison"]: e for e in entries}
    assert (by_name["a (original + fix)"]["to"], by_name["b (original + fix)"]["to"]) == (8, 6)
    assert by_name["c (original + fix)"]["to"] == 5
    assert "do not fit" in by_name["c (original + fix)"]["why"]
    assert "d (original + fix)" not in by_name and "e (original + fix)" not in by_name


def test_a_real_effect_undecided_at_three_seeds_is_decided_with_more(tmp_path):
    run_grid, asked = fake_grid(effect=0.06, seed_sd=0.04)
    settings = SimpleNamespace(seeds=(0, 1, 2))
    run_until_decided(settings, chosen(), tmp_path, {}, run_grid, minutes=5,
                      log=lambda *_: None)
    record = json.loads((tmp_path / SEQUENTIAL_JSON).read_text())
    assert len(record["looks"]) >= 2 and record["level"] == pytest.approx(0.05 / 3)
    added = record["looks"][1]["seeds"]
    # the same new seeds on both sides, numbered on from the default ones
    assert added["original"] == added["original+mlp_head"] and added["original"][0] == 3
    records = load_records(tmp_path)
    effects = effects_table(records)
    row = effects[effects.fix == "mlp_head"].iloc[0]
    assert row["verdict"] == HELPS and row["decided_at_look"] >= 2
    assert row["pairs"] > 3 and row["test_level"] == pytest.approx(0.05 / 3)
    # the report decides as the sequential rule does, from the same looks
    looks = records.look_seeds()
    found = comparisons(records)
    by_look = [[paired_difference(records, c.with_fix, c.without_fix, "step_acc",
                                  within=set(look[c.with_fix]) & set(look[c.without_fix]))
                for c in found] for look in looks]
    state = sequential.run_looks(by_look, [c.family for c in found])
    assert state.verdicts[0] == row["verdict"] and state.decided_at[0] == row["decided_at_look"]
    # every run asked for once; the exports see the added seeds too
    assert len(asked) == len(set(asked))
    _, seeds = listed_runs(tmp_path)
    assert seeds["original"] == sorted(s for (v, s) in asked if v == "original")


def test_at_the_default_seeds_the_same_records_read_at_alpha_over_k(tmp_path):
    run_grid, _ = fake_grid(effect=0.06, seed_sd=0.04)
    run_until_decided(SimpleNamespace(seeds=(0, 1, 2)), chosen(), tmp_path, {}, run_grid,
                      minutes=5, looks=1, log=lambda *_: None)
    record = json.loads((tmp_path / SEQUENTIAL_JSON).read_text())
    assert len(record["looks"]) == 1 and record["stopped"] == "all 1 planned looks made"
    row = effects_table(load_records(tmp_path)).iloc[0]
    assert row["test_level"] == pytest.approx(0.05) and row["pairs"] == 3


def test_a_rerun_under_another_plan_is_refused(tmp_path):
    run_grid, asked = fake_grid(effect=0.06, seed_sd=0.04)
    settings = SimpleNamespace(seeds=(0, 1, 2))
    run_until_decided(settings, chosen(), tmp_path, {}, run_grid, minutes=5,
                      log=lambda *_: None)
    trained = len(asked)
    run_until_decided(settings, chosen(), tmp_path, {}, run_grid, minutes=5,
                      log=lambda *_: None)
    assert len(asked) == trained                 # resumed: nothing trained again
    with pytest.raises(HarnessInputError, match="looks_planned=3"):
        run_until_decided(settings, chosen(), tmp_path, {}, run_grid, minutes=5, looks=4,
                          log=lambda *_: None)


def test_bad_minutes_and_seed_counts_are_refused(tmp_path):
    run_grid, _ = fake_grid(effect=0.0, seed_sd=0.04)
    with pytest.raises(HarnessInputError, match="positive number of minutes"):
        run_until_decided(SimpleNamespace(seeds=(0, 1)), chosen(), tmp_path, {}, run_grid,
                          minutes=float("nan"))
    with pytest.raises(HarnessInputError, match="at least 2 default seeds"):
        run_until_decided(SimpleNamespace(seeds=(0,)), chosen(), tmp_path, {}, run_grid,
                          minutes=5)


def test_a_damaged_sequential_record_names_the_file(tmp_path):
    run_grid, _ = fake_grid(effect=0.0, seed_sd=0.04)
    run_until_decided(SimpleNamespace(seeds=(0, 1)), chosen(), tmp_path, {}, run_grid,
                      minutes=5, looks=1, log=lambda *_: None)
    (tmp_path / SEQUENTIAL_JSON).write_text('{"looks": [')
    with pytest.raises(HarnessInputError, match=SEQUENTIAL_JSON):
        load_records(tmp_path)
