"""The recommendation rule (issue 22, part 4): the simplest measured design that is as good as
the best, chosen on the selection split only.

On the selection split, among the measured designs whose lower 95% bound of the step-accuracy
difference to the best is above minus the equivalence margin, the one with the fewest changes
from the user's original design (ties: the higher selection mean, then the name). The best is
the highest mean selection step accuracy among the variants whose runs all finished ok. Every
difference is :func:`~harness.report.stats.paired_per_step` on the selection scores, paired by
seed and selection step, with the selection steps' episodes as clusters.

Nothing here reads the held-out (confirmation) scores: the report judges the chosen design on
them afterwards. A pure function of the records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.design import AXES
from harness.report.analysis import ok_seeds
from harness.report.load import GridRecords
from harness.report.stats import DEFAULT_MARGIN, Estimate, paired_per_step

#: The metric the rule reads (on the selection split).
METRIC = "step_acc"


def rule_text(margin: float) -> str:
    """The rule in one sentence, for the report."""
    return (f"on the selection split, among the measured designs whose lower 95% bound of the "
            f"step-accuracy difference to the best is above -{margin:g} (the equivalence "
            f"margin), the one with the fewest changes from the original design (ties: the "
            f"higher selection mean)")


def change_count(design: dict) -> int:
    """How many axes of ``design`` differ from the user's original design (an axis missing
    from a design's record is at its original value)."""
    return sum(design.get(name, axis.original) != axis.original for name, axis in AXES.items())


@dataclass(frozen=True)
class Candidate:
    variant: str
    changes: int
    seeds: tuple                 # the seeds whose selection scores were read
    selection_mean: float        # mean selection step accuracy over those seeds
    to_best: Estimate | None     # (variant - best) on the selection split; None for the best
    within: bool                 # lower bound above -margin (the best: True)


@dataclass(frozen=True)
class Recommendation:
    margin: float
    chosen: str | None = None
    best: str | None = None
    candidates: tuple = ()       # every measured design with selection scores, best first
    #: complete variants left out for lack of selection scores
    without_selection: tuple = ()
    #: why there is no recommendation (None when there is one)
    reason: str | None = None

    def candidate(self, variant: str) -> Candidate:
        return next(c for c in self.candidates if c.variant == variant)

    @property
    def richer(self) -> list[Candidate]:
        """Designs within the margin with more changes than the chosen one, fewest first."""
        if self.chosen is None:
            return []
        n = self.candidate(self.chosen).changes
        return sorted((c for c in self.candidates if c.within and c.changes > n),
                      key=lambda c: (c.changes, -c.selection_mean, c.variant))


def complete_variants(records: GridRecords) -> list[str]:
    """Variants with at least one run ok and none failed or diverged, in grid order."""
    s = records.summary
    out = []
    for name in records.variant_names():
        runs = s[s.variant == name]
        if (runs.status == "ok").any() and not runs.status.isin(("failed", "diverged")).any():
            out.append(name)
    return out


def selection_difference(records: GridRecords, a: str, b: str,
                         metric: str = METRIC) -> Estimate | None:
    """(a - b) on the selection split over the seeds where both finished ok; None when a
    run lacks its selection scores."""
    seeds = ok_seeds(records, a, b)
    if not seeds:
        return None
    x = records.selection_matrix(a, seeds, metric)
    y = records.selection_matrix(b, seeds, metric)
    if x is None or y is None or x.shape != y.shape:
        return None
    return paired_per_step(x, y, records.selection_episodes(a, seeds))


def recommend(records: GridRecords, margin: float = DEFAULT_MARGIN) -> Recommendation:
    """Apply the rule to the records (selection scores only)."""
    complete = complete_variants(records)
    if not complete:
        return Recommendation(margin, reason="no variant has finished runs")
    measured, missing = [], []
    for name in complete:
        seeds = ok_seeds(records, name)
        matrix = records.selection_matrix(name, seeds, METRIC)
        if matrix is None or not np.isfinite(matrix).any():
            missing.append(name)
            continue
        measured.append((name, tuple(seeds), float(np.nanmean(np.nanmean(matrix, axis=1)))))
    if not measured:
        return Recommendation(
            margin, without_selection=tuple(missing),
            reason=("the records hold no selection scores (selection_scores.csv, written by "
                    "runs since the selection split); the recommendation is made on the "
                    "selection split only and never falls back to the held-out split"))
    measured.sort(key=lambda m: (-m[2], m[0]))
    best = measured[0][0]
    candidates = []
    for name, seeds, mean in measured:
        changes = change_count(records.design(name))
        if name == best:
            candidates.append(Candidate(name, changes, seeds, mean, None, True))
            continue
        d = selection_difference(records, name, best)
        within = bool(d is not None and d.has_interval and d.low > -margin)
        candidates.append(Candidate(name, changes, seeds, mean, d, within))
    eligible = [c for c in candidates if c.within]
    chosen = min(eligible, key=lambda c: (c.changes, -c.selection_mean, c.variant))
    return Recommendation(margin, chosen.variant, best, tuple(candidates), tuple(missing))
