"""harness.report.sequential: the look-by-look rule of --until-decided (every look at
alpha / K inside each family's multiplicity procedure, the first deciding look's verdict kept,
the seeds projected at the level one more rejection needs). Its error rates are measured in
tests/test_calibration.py; these check the rule itself on hand-made estimates."""

from __future__ import annotations

import pytest

from harness.report import sequential
from harness.report.stats import (EQUIVALENT, HELPS, HURTS, UNDECIDED, Estimate, t975,
                                  t_quantile)

LEVEL = 0.05 / 3


def make(mean: float, se: float, df: float = 8.0, n: int = 5, heldout_var: float = 0.0,
         interaction_var: float = 0.0) -> Estimate:
    """An estimate with the given mean and standard error, all of it from seeds unless
    ``heldout_var`` is given (61 episodes, 379 steps, like the default held-out split)."""
    seed_var = se ** 2 - heldout_var
    half = t975(df) * se
    return Estimate(mean, mean - half, mean + half, n, t975(df) * seed_var ** 0.5,
                    t975(df) * heldout_var ** 0.5, seed_var, heldout_var, df,
                    interaction_var, 61, 379)


def with_p(p: float, se: float = 0.03, df: float = 8.0, sign: int = 1) -> Estimate:
    """An estimate whose two-sided p-value is ``p``."""
    return make(sign * t_quantile(1 - p / 2, df) * se, se, df)


def test_every_look_tests_at_alpha_over_k():
    assert sequential.look_level() == pytest.approx(0.05 / sequential.LOOKS)
    assert sequential.look_level(0.05, 1) == 0.05
    with pytest.raises(ValueError):
        sequential.look_level(0.05, 0)


def test_the_procedure_adjusts_within_each_family_at_the_look_level():
    estimates = [with_p(0.004), with_p(0.009), with_p(0.6)]
    assert with_p(0.004).p_value() == pytest.approx(0.004)
    families = ["effects"] * 3
    # Holm: 0.004 < L/3, but 0.009 > L/2; BH: 0.009 <= 2L/3 takes both
    assert sequential.decisions(estimates, families, procedure="holm", level=LEVEL) == [
        HELPS, UNDECIDED, UNDECIDED]
    assert sequential.decisions(estimates, families, procedure="bh", level=LEVEL) == [
        HELPS, HELPS, UNDECIDED]
    # two families of one: each tested alone at the level
    pair = [with_p(0.009), with_p(0.009, sign=-1)]
    assert sequential.decisions(pair, ["a", "b"], procedure="holm", level=LEVEL) == [
        HELPS, HURTS]
    assert sequential.decisions(pair, ["a", "a"], procedure="holm", level=LEVEL) == [
        UNDECIDED, UNDECIDED]


def test_equivalence_is_tested_at_the_look_level():
    """Equivalent at 5% (two one-sided tests) but not at alpha / 3: undecided at a look."""
    tight, loose = make(0.0, 0.01, df=20), make(0.0, 0.05 / 2.0, df=20)
    assert sequential.decisions([tight], ["f"], level=LEVEL) == [EQUIVALENT]
    assert sequential.decisions([loose], ["f"], level=0.05) == [EQUIVALENT]
    assert sequential.decisions([loose], ["f"], level=LEVEL) == [UNDECIDED]


def test_a_comparison_keeps_the_verdict_of_the_first_look_that_decided_it():
    families = ["effects"] * 2
    look1 = [with_p(0.001), with_p(0.2)]
    look2 = [with_p(0.3), with_p(0.0005)]
    state = sequential.run_looks([look1, look2], families, procedure="holm")
    assert state.verdicts == [HELPS, HELPS] and state.decided_at == [1, 2]
    state = sequential.run_looks([look1], families, procedure="holm")
    assert state.verdicts == [HELPS, UNDECIDED] and state.decided_at == [1, None]


def test_a_look_is_stricter_than_a_single_test():
    """p = 0.03 decides a fixed-seed comparison at 5%, not a look of three."""
    assert sequential.run_looks([[with_p(0.03)]], ["f"], looks=1).verdicts == [HELPS]
    assert sequential.run_looks([[with_p(0.03)]], ["f"], looks=3).verdicts == [UNDECIDED]


def test_more_looks_than_planned_is_an_error():
    with pytest.raises(ValueError, match="at most 3 planned"):
        sequential.run_looks([[with_p(0.5)]] * 4, ["f"], looks=3)


def test_seeds_wanted_projects_undecided_comparisons_only():
    decided, open_, blocked = with_p(0.0001), make(0.06, 0.03), make(0.01, 0.06,
                                                                      heldout_var=0.05 ** 2)
    families = ["effects"] * 3
    words = sequential.decisions([decided, open_, blocked], families, level=LEVEL)
    assert words == [HELPS, UNDECIDED, UNDECIDED]
    wanted = sequential.seeds_wanted([decided, open_, blocked], families, words, level=LEVEL)
    assert wanted[0] == decided.n                     # decided: nothing more
    assert 5 < wanted[1] <= sequential.MAX_SEEDS       # more seeds decide it
    assert wanted[2] is None                           # the held-out part alone is too wide
    # a tighter cap than the projection needs: not reachable
    capped = sequential.seeds_wanted([decided, open_, blocked], families, words, level=LEVEL,
                                     max_seeds=wanted[1] - 1)
    assert capped[1] is None


def test_seeds_wanted_aims_at_the_level_one_more_rejection_needs():
    """Among many untouched comparisons Holm asks for p below L / m: more seeds than alone."""
    open_ = make(0.04, 0.03)
    crowd = [open_] + [with_p(0.9)] * 9
    families = ["effects"] * 10
    words = sequential.decisions(crowd, families, procedure="holm", level=LEVEL)
    alone = sequential.seeds_wanted([open_], ["effects"], [UNDECIDED], procedure="holm",
                                    level=LEVEL)[0]
    among = sequential.seeds_wanted(crowd, families, words, procedure="holm", level=LEVEL,
                                    max_seeds=100)[0]
    assert alone is not None and among is not None and among > alone


def test_describe_names_the_comparisons_that_got_seeds():
    state = sequential.SequentialState([HELPS, UNDECIDED, EQUIVALENT], [2, None, 1])
    seeds = [{"a": 5, "b": 5, "c": 5}, {"a": 9, "b": 12, "c": 5}]
    lines = sequential.describe(state, ["a", "b", "c"], seeds)
    assert lines == ["a: 5 -> 9 seeds (decided at look 2: helps)",
                     "b: 5 -> 12 seeds (still undecided after 2 of 3 planned looks)"]
    assert sequential.describe(state, ["a"], []) == []
