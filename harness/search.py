"""``--search greedy``: a measured path from the original design to the best combination of
axis values, one change at a time.

Each round trains every single-axis change of the current design (every other value of every
axis in the table, the review's and those marked "not in the review") on the grid's seeds,
estimates each change's step-accuracy improvement over the current design paired by seed and
by held-out step, and keeps the change whose lower 95% bound is highest, if that bound is
above zero. It stops when no bound is. A leave-one-out pass then removes each kept change whose
removal leaves the point estimate equal or higher (a change kept early can become redundant
once later ones are in). The final design is then compared with ``corrected``.

Screening (on by default, so that the search fits an hour on a 2-core CPU): a round first
trains every change on the first ``screen_seeds`` seeds only, and only the ``finalists`` changes
with the highest positive mean gain there go on to every seed; the choice is then made among
them by the rule above, on every seed. A change whose screening mean is zero or below cannot
be kept. This is successive halving with one cut (Jamieson and Talwalkar 2016, "Non-stochastic
Best Arm Identification and Hyperparameter Optimization"): it trusts that a change whose gain
over all seeds would have the highest lower bound ranks among the best few on the screening
seeds. A change that only helps by a little, inside seed-to-seed noise, can be screened out;
such a change would seldom clear a lower bound above zero anyway. ``screen_seeds=0`` trains
every change on every seed.

All runs go into one output folder, named by design, so a run is trained once however many
rounds ask for it, and an interrupted search resumes where it stopped. The search writes
``search.json`` (each round's candidates with intervals, and the choice), the final design as a
variants file (``searched_variant.py``, accepted by ``--variants-file``), and leaves the folder
listing every design it trained, so ``--report-only`` reports them all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.design import AXES, CORRECTED, ORIGINAL
from harness.io import atomic_write_json, atomic_write_text
from harness.report.stats import Estimate, paired_per_step
from harness.results import SEARCH_JSON, RunPaths, read_heldout_scores, score_matrix
from variants.registry import Variant

PRIMARY = "step_acc"
SCREEN_SEEDS = 1      # seeds every change of a round is trained on first (0: every seed)
FINALISTS = 4         # changes per round that go on to every seed
VARIANTS_FILE = "searched_variant.py"
SEARCHED = "searched"


def design_name(design) -> str:
    """A variant name for any design: ``original`` plus each axis it changes, in table order
    (the same design always gets the same name, so its runs are reused)."""
    changes = [f"{a}={getattr(design, a)}" for a in AXES if getattr(design, a) != getattr(
        ORIGINAL, a)]
    return "original" + "".join(f"+{c}" for c in changes)


def as_variant(design, purpose: str) -> Variant:
    return Variant(design_name(design), purpose, design, source="search", in_all=False)


def single_axis_changes(design) -> list[tuple[str, object]]:
    """Every (axis, value) that differs from ``design`` on exactly one axis, in table order."""
    return [(axis.name, value) for axis in AXES.values() for value in axis.choices
            if value != getattr(design, axis.name)]


def _scores(paths: RunPaths, variant: str, seeds) -> np.ndarray | None:
    """(seeds x held-out steps) step-accuracy scores, None unless every seed finished ok."""
    return score_matrix([read_heldout_scores(paths.run_dir(variant, seed)) for seed in seeds],
                        PRIMARY)


def improvement(paths: RunPaths, with_change: str, without: str, seeds) -> Estimate | None:
    """(with_change - without) in step accuracy, paired by seed and held-out step; None when
    either side has a seed that did not finish ok (a change that crashes is never kept)."""
    a, b = _scores(paths, with_change, seeds), _scores(paths, without, seeds)
    if a is None or b is None or a.shape != b.shape:
        return None
    return paired_per_step(a, b)


@dataclass
class Candidate:
    axis: str
    value: object
    variant: str
    estimate: Estimate | None          # over every seed (None: screened out, or a seed failed)
    screen: Estimate | None = None     # over the screening seeds (None: no screening)
    finalist: bool = True              # went on to every seed

    def row(self) -> dict:
        e, s = self.estimate, self.screen
        return {"axis": self.axis, "value": repr(self.value), "variant": self.variant,
                "d_step_acc": e.mean if e else None, "low": e.low if e else None,
                "high": e.high if e else None,
                "screen_d_step_acc": s.mean if s else None,
                "finalist": self.finalist}


def _screen_mean(candidate: Candidate) -> float:
    s = candidate.screen
    return s.mean if s is not None and math.isfinite(s.mean) else -math.inf


def finalists(candidates: list[Candidate], count: int) -> list[Candidate]:
    """The ``count`` candidates with the highest positive screening mean (ties: table order)."""
    hopeful = [c for c in candidates if _screen_mean(c) > 0]
    return sorted(hopeful, key=_screen_mean, reverse=True)[:count]


def _bound(candidate: Candidate) -> float:
    e = candidate.estimate
    return e.low if e is not None and math.isfinite(e.low) else -math.inf


def greedy_search(settings, out, train, log=print, max_rounds: int | None = None,
                  screen_seeds: int = SCREEN_SEEDS, finalist_count: int = FINALISTS) -> dict:
    """Run the search; ``train(variants, seeds)`` trains the given variants on ``seeds`` (None:
    ``settings.seeds``) into ``out`` (the runner, with finished runs reused). Returns what
    ``search.json`` holds."""
    paths = RunPaths(Path(out))
    seeds = list(settings.seeds)
    screen = seeds[:screen_seeds] if 0 < screen_seeds < len(seeds) else None
    if finalist_count < 1:
        raise ValueError(f"finalist_count must be at least 1, got {finalist_count}")
    started = time.perf_counter()
    current, kept, rounds, trained = ORIGINAL, [], [], {}

    def run(designs_and_purposes, on_seeds=None) -> None:
        variants = [as_variant(d, p) for d, p in designs_and_purposes]
        if on_seeds is None:     # only designs trained on every seed are listed for the report
            for v in variants:
                trained.setdefault(v.name, v)
        train(variants, on_seeds)

    while max_rounds is None or len(rounds) < max_rounds:
        number = len(rounds) + 1
        changes = single_axis_changes(current)
        designs = [(current.replace(**{a: v}), f"search round {number}: {a}={v!r}")
                   for a, v in changes]
        base = design_name(current)
        run([(current, "search: the current design")])
        if screen is None:
            log(f"search round {number}: {len(designs)} single-axis changes of {base} x "
                f"{len(seeds)} seeds")
            run(designs)
            candidates = [Candidate(a, v, design_name(d),
                                    improvement(paths, design_name(d), base, seeds))
                          for (a, v), (d, _) in zip(changes, designs)]
        else:
            log(f"search round {number}: {len(designs)} single-axis changes of {base} x "
                f"{len(screen)} screening seed(s), then the best {finalist_count} x "
                f"{len(seeds)} seeds")
            run(designs, screen)
            candidates = [Candidate(a, v, design_name(d), None,
                                    improvement(paths, design_name(d), base, screen),
                                    finalist=False)
                          for (a, v), (d, _) in zip(changes, designs)]
            best_few = finalists(candidates, finalist_count)
            by_name = dict((design_name(d), (d, p)) for d, p in designs)
            run([by_name[c.variant] for c in best_few])
            for c in best_few:
                c.finalist = True
                c.estimate = improvement(paths, c.variant, base, seeds)
        best = max(candidates, key=_bound, default=None)
        chosen = best if best is not None and _bound(best) > 0 else None
        rounds.append({"current": base, "candidates": [c.row() for c in candidates],
                       "chosen": chosen.row() if chosen else None})
        if chosen is None:
            break
        log(f"  kept {chosen.axis}={chosen.value!r}: step accuracy "
            f"{chosen.estimate.mean:+.3f} [{chosen.estimate.low:+.3f}, "
            f"{chosen.estimate.high:+.3f}]")
        current = current.replace(**{chosen.axis: chosen.value})
        kept.append(chosen.axis)

    current, removed = leave_one_out(current, kept, paths, seeds, run, log)
    final = design_name(current)
    against = against_corrected(current, paths, seeds, run)

    # Every design trained on every seed, listed in run.json, so the report covers them.
    train(list(trained.values()), None)
    result = {"strategy": "greedy", "seeds": seeds,
              "screening": {"seeds": screen, "finalists": finalist_count} if screen else None,
              "rounds": rounds, "leave_one_out": removed,
              "final": {"variant": final, "design": current.to_dict(),
                        "changes": {a: repr(getattr(current, a)) for a in AXES
                                    if getattr(current, a) != getattr(ORIGINAL, a)}},
              "against_corrected": against,
              "seconds": round(time.perf_counter() - started, 1)}
    atomic_write_json(paths.root / SEARCH_JSON, result)
    atomic_write_text(paths.root / VARIANTS_FILE, variants_file(current, final))
    return result


def against_corrected(design, paths: RunPaths, seeds, run) -> dict:
    """The final design's step-accuracy difference to ``corrected``, paired by seed and
    held-out step (``corrected`` trained here under its design name if it is not yet)."""
    name = design_name(CORRECTED)
    run([(CORRECTED, "search: the corrected design, to compare the final design with")])
    e = improvement(paths, design_name(design), name, seeds)
    return {"corrected": name, "same_design": design == CORRECTED,
            "d_step_acc": e.mean if e else None, "low": e.low if e else None,
            "high": e.high if e else None}


def leave_one_out(current, kept: list[str], paths: RunPaths, seeds, run, log=print):
    """Drop each kept change (in the order kept) whose removal leaves the step accuracy's
    point estimate equal or higher; returns the final design and what was checked."""
    checked = []
    for axis in kept:
        without = current.replace(**{axis: getattr(ORIGINAL, axis)})
        run([(without, f"search leave-one-out: without {axis}={getattr(current, axis)!r}")])
        e = improvement(paths, design_name(current), design_name(without), seeds)
        entry = {"axis": axis, "value": repr(getattr(current, axis)),
                 "without": design_name(without),
                 "d_step_acc": e.mean if e else None, "low": e.low if e else None,
                 "high": e.high if e else None, "removed": bool(e is not None and e.mean <= 0)}
        checked.append(entry)
        if entry["removed"]:
            log(f"  leave-one-out: dropping {axis} (without it, step accuracy "
                f"{-e.mean:+.3f}: equal or higher)")
            current = without
    return current, checked


def variants_file(design, found_as: str) -> str:
    """A file for ``--variants-file`` that registers the search's final design as
    ``searched``."""
    changes = ", ".join(f"{a}={getattr(design, a)!r}" for a in AXES
                        if getattr(design, a) != getattr(ORIGINAL, a))
    return ("# Written by `run_ablation.py --search greedy`: the design the search ended at\n"
            f"# (its runs in this folder are named {found_as!r}).\n"
            "from harness.design import ORIGINAL\n"
            "from variants import register_variant\n\n"
            f"register_variant({SEARCHED!r}, 'the design found by the greedy search', "
            f"ORIGINAL.replace({changes}))\n")
