"""``--budget MINUTES``: as many seeds as fit in a wall-time budget, chosen from the measured
time of a first round (the first seed of every variant), not from a guess."""

from __future__ import annotations

import math

#: Seeds below which an interval is hardly informative (Student t factor 4.3 at 3 seeds) are
#: still run when the budget is smaller: the runner says so rather than refuse.
MAX_SEEDS = 50


def seeds_that_fit(budget_s: float, first_round_s: float, report_s: float,
                   max_seeds: int = MAX_SEEDS) -> int:
    """How many seeds in all (the first round included) fit in ``budget_s`` seconds when one
    round of every variant takes ``first_round_s`` and the report ``report_s``; at least 1."""
    if first_round_s <= 0:
        return max_seeds
    rounds = math.floor((budget_s - report_s) / first_round_s)
    return max(1, min(max_seeds, rounds))


def estimated_report_seconds(n_runs: int) -> float:
    """The report's build time grows with the records it reads: about 10 s plus 0.25 s a run
    on a 2-core CPU (measured on the default grid; a rough allowance, not a promise)."""
    return 10.0 + 0.25 * n_runs
