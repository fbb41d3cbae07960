"""Many comparisons, one error rate: which of a family's helps/hurts tests stay significant.

A report makes many comparisons at once (every fix in both directions, each metric); testing
each at 5% makes at least one false "helps" or "hurts" likely. Each family's p-values go
through one procedure: Benjamini-Hochberg (the default: the expected share of false decisions
among the decisions made stays at most ``alpha``), Holm (the chance of any false decision stays
at most ``alpha``), or none. The error rates of both, with the report's shared base runs, are
measured by :mod:`harness.report.simulation`.
"""

from __future__ import annotations


import numpy as np

PROCEDURES = ("bh", "holm", "none")
DEFAULT = "bh"
LABELS = {"bh": "Benjamini-Hochberg (false discovery rate 5%)",
          "holm": "Holm (family-wise error 5%)", "none": "none (each test at 5%)"}


def _check(procedure: str) -> None:
    if procedure not in PROCEDURES:
        raise ValueError(f"multiplicity procedure {procedure!r}: expected one of "
                         f"{', '.join(PROCEDURES)}")


def rejected(p_values, procedure: str = DEFAULT, alpha: float = 0.05) -> np.ndarray:
    """Which hypotheses of one family are rejected (NaN p-values: never, and not counted in
    the family's size)."""
    _check(procedure)
    p = np.asarray(p_values, dtype=float)
    out = np.zeros(p.shape, dtype=bool)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    if m == 0:
        return out
    if procedure == "none":
        out[tested] = p[tested] < alpha
        return out
    order = tested[np.argsort(p[tested], kind="stable")]
    ranked = p[order]
    if procedure == "holm":
        # step down: reject the k-th smallest while it is below alpha / (m - k + 1)
        passes = ranked < alpha / (m - np.arange(m))
        stop = m if passes.all() else int(np.argmin(passes))
        out[order[:stop]] = True
    else:
        # step up: the largest k with p_(k) <= k alpha / m, and every smaller p with it
        passes = np.flatnonzero(ranked <= alpha * np.arange(1, m + 1) / m)
        if len(passes):
            out[order[:passes[-1] + 1]] = True
    return out


def family_size(p_values) -> int:
    return int(np.isfinite(np.asarray(p_values, dtype=float)).sum())


def level_for_one_more(p_values, index: int, procedure: str = DEFAULT,
                       alpha: float = 0.05) -> float:
    """The p-value that hypothesis ``index`` of the family would need to be rejected, the
    others' decisions as they are: alpha for none; Holm alpha / (m - R); BH alpha (R + 1) / m,
    where R counts the others already rejected. What the seeds-needed projection aims at."""
    _check(procedure)
    p = np.asarray(p_values, dtype=float)
    m = max(family_size(p), 1)
    if procedure == "none":
        return alpha
    done = rejected(p, procedure, alpha)
    others = int(done.sum()) - int(done[index]) if 0 <= index < len(p) else int(done.sum())
    if procedure == "holm":
        return alpha / max(m - others, 1)
    return alpha * min(others + 1, m) / m


def by_family(p_values, families: list[str], procedure: str = DEFAULT,
              alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Each hypothesis tested within its own family (``families[k]``: hypothesis k's): whether
    it is rejected after ``procedure``, and the p-value it would need for one more rejection
    (:func:`level_for_one_more`). What every verdict of the report and of the sequential
    looks is decided by."""
    p = np.asarray(p_values, dtype=float)
    significant = np.zeros(len(p), dtype=bool)
    needed = np.full(len(p), alpha)
    names = np.asarray(families)
    for family in dict.fromkeys(families):
        members = np.flatnonzero(names == family)
        significant[members] = rejected(p[members], procedure, alpha)
        for k, index in enumerate(members):
            needed[index] = level_for_one_more(p[members], k, procedure, alpha)
    return significant, needed


def describe(procedure: str, size: int) -> str:
    _check(procedure)
    if procedure == "none":
        return f"{size} comparisons, each tested at 5% (no adjustment for their number)"
    return f"a family of {size} comparisons, adjusted by {LABELS[procedure]}"


__all__ = ["PROCEDURES", "DEFAULT", "LABELS", "rejected", "family_size", "level_for_one_more",
           "describe"]
