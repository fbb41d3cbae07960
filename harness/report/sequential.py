"""Seeds added where they decide, without raising the error rates (``--until-decided``).

Looking at the verdicts and adding seeds where they are undecided is a sequential test: each
look is another chance of a false decision. The number of looks K and the largest seed count
are fixed in advance, and every look tests at ``alpha / K`` (inside the multiplicity procedure
of each family, and for the two one-sided equivalence tests), so by the union bound the
chance of a false decision at any look stays at most ``alpha``. A comparison's verdict is the
one of the first look that decided it: later seeds added for other comparisons do not
re-open it. The error rates of the whole procedure are measured by simulation
(:mod:`harness.report.simulation`).

Everything here is a pure function of estimates, so the grid (which adds the seeds) and the
report (which re-reads the seeds of every look from ``sequential.json``) decide identically.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.report import multiplicity
from harness.report.stats import (ALPHA, DEFAULT_MARGIN, UNDECIDED, Estimate, decide,
                                  seeds_needed)

LOOKS = 3          # default number of looks, counting the first (the default seeds)
MAX_SEEDS = 20     # default largest number of seeds any comparison gets
SEQUENTIAL_JSON = "sequential.json"
NOT_REACHABLE = "not reachable"


def look_level(alpha: float = ALPHA, looks: int = LOOKS) -> float:
    """The level every look tests at."""
    if looks < 1:
        raise ValueError(f"looks must be at least 1, got {looks}")
    return alpha / looks


def decisions(estimates: list[Estimate], families: list[str], margin: float = DEFAULT_MARGIN,
              procedure: str = multiplicity.DEFAULT, level: float = ALPHA) -> list[str]:
    """One look's verdicts (helps / hurts / equivalent / undecided): helps/hurts adjusted by
    ``procedure`` within each family at ``level``, equivalence tested at ``level``."""
    significant, _ = multiplicity.by_family([e.p_value() for e in estimates], families,
                                            procedure, level)
    return [decide(e, margin, level, bool(s), equivalence_alpha=level)
            for e, s in zip(estimates, significant)]


def first_decided(words_by_look: list[list[str]], size: int) -> list[int | None]:
    """For each of ``size`` comparisons, the 1-based look whose verdict
    (``words_by_look[j][k]``) first decided it, None while none has: the verdict a
    sequential grid keeps."""
    decided_at: list[int | None] = [None] * size
    for j, words in enumerate(words_by_look, start=1):
        for k, word in enumerate(words):
            if decided_at[k] is None and word != UNDECIDED:
                decided_at[k] = j
    return decided_at


def seeds_wanted(estimates: list[Estimate], families: list[str], words: list[str],
                 margin: float = DEFAULT_MARGIN, procedure: str = multiplicity.DEFAULT,
                 level: float = ALPHA, max_seeds: int = MAX_SEEDS) -> list[int | None]:
    """For each undecided comparison, the seeds the projection says would decide it at this
    look's level (the p-value the procedure would need for one more rejection in its family),
    at most ``max_seeds``; None where no number up to ``max_seeds`` would (not reachable);
    the current count for decided comparisons."""
    _, needed = multiplicity.by_family([e.p_value() for e in estimates], families,
                                       procedure, level)
    out: list[int | None] = []
    for k, (e, word) in enumerate(zip(estimates, words)):
        if word != UNDECIDED:
            out.append(e.n)
            continue
        out.append(seeds_needed(e, margin, max_seeds, alpha=float(needed[k])))
    return out


@dataclass
class SequentialState:
    """Where each comparison stands after some looks."""
    verdicts: list[str]            # the deciding look's verdict, or undecided / not reachable
    decided_at: list[int | None]   # 1-based look that decided it


def run_looks(estimates_by_look: list[list[Estimate]], families: list[str],
              margin: float = DEFAULT_MARGIN, procedure: str = multiplicity.DEFAULT,
              alpha: float = ALPHA, looks: int = LOOKS) -> SequentialState:
    """The verdicts after the looks made so far (``estimates_by_look[j]``: every comparison's
    estimate at look j + 1, over the seeds it had then). A comparison keeps the verdict of the
    first look that decided it."""
    if len(estimates_by_look) > looks:
        raise ValueError(f"{len(estimates_by_look)} looks made, at most {looks} planned")
    level = look_level(alpha, looks)
    words_by_look = [decisions(estimates, families, margin, procedure, level)
                     for estimates in estimates_by_look]
    decided_at = first_decided(words_by_look, len(families))
    verdicts = [words_by_look[j - 1][k] if j else UNDECIDED for k, j in enumerate(decided_at)]
    return SequentialState(verdicts, decided_at)


def describe(state: SequentialState, names: list[str], seeds_by_look: list[dict],
             looks: int = LOOKS) -> list[str]:
    """One line per comparison that got more seeds than the first look's: how many, and how it
    ended (``seeds_by_look``: each look made, the seeds per comparison name; ``looks``: how
    many were planned)."""
    lines = []
    first = seeds_by_look[0] if seeds_by_look else {}
    last = seeds_by_look[-1] if seeds_by_look else {}
    # the looks made, not the looks planned: a grid stops early when nothing more can be
    # decided in the time left
    made = len(seeds_by_look)
    for k, name in enumerate(names):
        before, after = first.get(name, 0), last.get(name, 0)
        if after <= before:
            continue
        end = (f"decided at look {state.decided_at[k]}: {state.verdicts[k]}"
               if state.decided_at[k] else
               f"still {state.verdicts[k]} after {made} of {looks} planned looks")
        lines.append(f"{name}: {before} -> {after} seeds ({end})")
    return lines


__all__ = ["LOOKS", "MAX_SEEDS", "SEQUENTIAL_JSON", "NOT_REACHABLE", "look_level", "decisions",
           "seeds_wanted", "first_decided", "SequentialState", "run_looks",
           "describe"]
