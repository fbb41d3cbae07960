"""``--search greedy``: a measured path from the original design to the best combination of
axis values, one change at a time, chosen on the selection split and confirmed on the
held-out (confirmation) split with seeds it never used.

Each round trains every single-axis change of the current design (every other value of every
axis in the table, the review's and those marked "not in the review") on the grid's seeds,
estimates each change's improvement of the search metric (``--search-metric``: step accuracy
by default) over the current design on the selection split, paired by seed and by selection
step, and keeps the change whose lower 95% bound is highest, if that bound is above zero. It
stops when no bound is. A leave-one-out pass then removes each kept change whose removal
leaves the point estimate equal or higher (a change kept early can become redundant once
later ones are in). Every one of these choices reads the selection split only.

Confirmation: choosing the best of many candidates on one sample overstates the winner's gain
(the winner's curse), so the numbers the choice was made on are not the verdict. The designs of
the path (``original``, then each kept change added in turn), the final design and
``corrected`` are trained again on fresh seeds (by default as many as the search used, numbered
after them) and compared on the held-out split, which no choice read; finalists that were not
kept are not. ``search.json`` shows each kept change's selection estimate beside its
confirmation estimate, and the final design against ``corrected`` on both.

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
``search.json`` (each round's candidates with intervals, the choice, the confirmation), the
final design as a variants file (``searched_variant.py``, accepted by ``--variants-file``), and
leaves the folder listing every design it trained on the search's seeds, so ``--report-only``
reports them all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.design import AXES, CORRECTED, ORIGINAL
from harness.io import atomic_write_json, atomic_write_text
from harness.lock import locks_output
from harness.metrics import PER_STEP_METRICS
from harness.report.stats import Estimate, paired_per_step
from harness.results import (SEARCH_JSON, RunPaths, read_heldout_scores, read_selection_scores,
                             score_matrix)
from variants.registry import Variant

PRIMARY = "step_acc"
SCREEN_SEEDS = 1      # seeds every change of a round is trained on first (0: every seed)
FINALISTS = 4         # changes per round that go on to every seed
VARIANTS_FILE = "searched_variant.py"
SEARCHED = "searched"
WEIGHTED = "weighted:"

#: The two splits the search reads: every choice on the selection split, the verdicts on the
#: held-out (confirmation) split.
SELECTION = "selection"
CONFIRMATION = "confirmation"
_READERS = {SELECTION: read_selection_scores, CONFIRMATION: read_heldout_scores}


# --------------------------------------------------------------------------- the metric

@dataclass(frozen=True)
class SearchMetric:
    """What the search maximises: one per-step metric, or a weighted sum of the means of
    several (``weights``: (metric, weight) pairs, positive, summing to 1)."""

    weights: tuple[tuple[str, float], ...]

    @property
    def name(self) -> str:
        if len(self.weights) == 1 and self.weights[0][1] == 1.0:
            return self.weights[0][0]
        return WEIGHTED + ",".join(f"{m}={w:g}" for m, w in self.weights)

    def per_step(self, frame) -> np.ndarray | None:
        """Each step's share of the metric in one run's scores (NaN outside a single metric's
        scope); None when the frame lacks a metric. A weighted metric's share of step i is
        sum over metrics of weight * score_i * N / N_m (0 outside the metric's N_m steps), so
        that the mean over all N steps is the weighted sum of the metrics' means, and a paired
        difference of these shares is the difference of the weighted metric."""
        if any(m not in frame for m, _ in self.weights):
            return None
        if self.name in PER_STEP_METRICS:
            return frame[self.name].to_numpy(dtype=float)
        total = np.zeros(len(frame))
        for metric, weight in self.weights:
            values = frame[metric].to_numpy(dtype=float)
            scope = np.isfinite(values)
            if not scope.any():
                return None
            total += weight * np.where(scope, values, 0.0) * len(values) / scope.sum()
        return total


def parse_search_metric(text: str) -> SearchMetric:
    """``step_acc`` (any per-step metric) or ``weighted:step_acc=0.7,text_f1=0.3``; a
    ValueError that says what is expected otherwise."""
    known = ", ".join(PER_STEP_METRICS)
    text = text.strip()
    if not text.startswith(WEIGHTED):
        if text not in PER_STEP_METRICS:
            raise ValueError(f"expected a per-step metric ({known}) or weighted:METRIC=W,..., "
                             f"got {text!r}")
        return SearchMetric(((text, 1.0),))
    weights = []
    for part in text[len(WEIGHTED):].split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"expected METRIC=WEIGHT in {text!r}, got {part!r}") from None
        if name not in PER_STEP_METRICS:
            raise ValueError(f"expected metrics among {known} in {text!r}, got {name!r}")
        if not (weight > 0 and math.isfinite(weight)):
            raise ValueError(f"expected a positive weight for {name} in {text!r}, got {value}")
        if name in dict(weights):
            raise ValueError(f"expected each metric once in {text!r}; {name} appears twice")
        weights.append((name, weight))
    if abs(sum(w for _, w in weights) - 1.0) > 1e-9:
        raise ValueError(f"expected weights that sum to 1 in {text!r}, got "
                         f"{sum(w for _, w in weights):g}")
    return SearchMetric(tuple(weights))


DEFAULT_METRIC = SearchMetric(((PRIMARY, 1.0),))


# --------------------------------------------------------------------------- designs

def design_name(design) -> str:
    """A variant name for any design: ``original`` plus each axis it changes, in table order
    (the same design always gets the same name, so its runs are reused)."""
    changes = [f"{a}={getattr(design, a)}" for a in AXES if getattr(design, a) != getattr(
        ORIGINAL, a)]
    return "original" + "".join(f"+{c}" for c in changes)


def as_variant(design, purpose: str) -> Variant:
    return Variant(design_name(design), purpose, design, source="search", in_all=False)


def single_axis_changes(design) -> list[tuple[str, object]]:
    """Every (axis, value) that differs from ``design`` on exactly one axis, in table order, of
    the axes the search tries (``Axis.searched``: the aggregators are compared with their sum
    base in a report section of their own, and trying them would add eight candidates a round
    and need torchjd)."""
    return [(axis.name, value) for axis in AXES.values() if axis.searched
            for value in axis.choices if value != getattr(design, axis.name)]


def fresh_seeds(seeds) -> list[int]:
    """As many seeds as ``seeds``, numbered after the largest: seeds no choice has seen."""
    start = max(seeds) + 1
    return list(range(start, start + len(seeds)))


# --------------------------------------------------------------------------- estimates

def _scores(paths: RunPaths, variant: str, seeds, metric: SearchMetric, split: str):
    """(seeds x steps) per-step shares of ``metric`` on ``split`` and each step's episode
    (None: no episode column); None unless every seed finished ok and scored the split."""
    frames = [_READERS[split](paths.run_dir(variant, seed)) for seed in seeds]
    if any(f is None for f in frames):
        return None
    rows = [metric.per_step(f) for f in frames]
    if any(r is None for r in rows) or len({len(r) for r in rows}) != 1:
        return None
    episodes = list(frames[0]["episode"].astype(str)) if "episode" in frames[0] else None
    return np.vstack(rows), episodes


def improvement(paths: RunPaths, with_change: str, without: str, seeds,
                metric: SearchMetric = DEFAULT_METRIC, split: str = SELECTION) -> Estimate | None:
    """(with_change - without) in ``metric`` on ``split``, paired by seed and step (steps of
    one episode as a cluster); None when either side has a seed that did not finish ok (a
    change that crashes is never kept)."""
    a = _scores(paths, with_change, seeds, metric, split)
    b = _scores(paths, without, seeds, metric, split)
    if a is None or b is None or a[0].shape != b[0].shape:
        return None
    return paired_per_step(a[0], b[0], a[1])


def estimate_row(e: Estimate | None) -> dict:
    """An estimate as search.json holds it (None values where there is none)."""
    finite = lambda x: x if e is not None and math.isfinite(x) else None
    return {"d": finite(e.mean) if e else None, "low": finite(e.low) if e else None,
            "high": finite(e.high) if e else None, "seeds": e.n if e else 0}


@dataclass
class Candidate:
    axis: str
    value: object
    variant: str
    estimate: Estimate | None          # over every seed (None: screened out, or a seed failed)
    screen: Estimate | None = None     # over the screening seeds (None: no screening)
    finalist: bool = True              # went on to every seed
    metric: str = PRIMARY

    def row(self) -> dict:
        e, s = self.estimate, self.screen
        row = {"axis": self.axis, "value": repr(self.value), "variant": self.variant,
               "d": e.mean if e else None, "low": e.low if e else None,
               "high": e.high if e else None, "screen_d": s.mean if s else None,
               "finalist": self.finalist}
        # the report's search table reads these step-accuracy names
        step_acc = self.metric == PRIMARY
        row["d_step_acc"] = row["d"] if step_acc else None
        row["screen_d_step_acc"] = row["screen_d"] if step_acc else None
        return row


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


# --------------------------------------------------------------------------- the search

@locks_output("out")   # one writer per output folder (harness.lock)
def greedy_search(settings, out, train, log=print, max_rounds: int | None = None,
                  screen_seeds: int = SCREEN_SEEDS, finalist_count: int = FINALISTS,
                  metric: SearchMetric | str = DEFAULT_METRIC,
                  confirm_seeds=None) -> dict:
    """Run the search; ``train(variants, seeds)`` trains the given variants on ``seeds`` (None:
    ``settings.seeds``) into ``out`` (the runner, with finished runs reused). ``metric``: what
    each round maximises on the selection split; ``confirm_seeds``: the fresh seeds of the
    confirmation (default :func:`fresh_seeds`). Returns what ``search.json`` holds."""
    metric = parse_search_metric(metric) if isinstance(metric, str) else metric
    paths = RunPaths(Path(out))
    seeds = list(settings.seeds)
    confirm = list(confirm_seeds) if confirm_seeds is not None else fresh_seeds(seeds)
    if set(confirm) & set(seeds) or not confirm:
        raise ValueError(f"confirmation seeds must be fresh: {confirm} against the search's "
                         f"{seeds}")
    screen = seeds[:screen_seeds] if 0 < screen_seeds < len(seeds) else None
    if finalist_count < 1:
        raise ValueError(f"finalist_count must be at least 1, got {finalist_count}")
    started = time.perf_counter()
    current, kept, rounds, trained, path = ORIGINAL, [], [], {}, [ORIGINAL]
    chosen_estimates = []
    gain = lambda a, b, on: improvement(paths, a, b, on, metric, SELECTION)

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
            candidates = [Candidate(a, v, design_name(d), gain(design_name(d), base, seeds),
                                    metric=metric.name)
                          for (a, v), (d, _) in zip(changes, designs)]
        else:
            log(f"search round {number}: {len(designs)} single-axis changes of {base} x "
                f"{len(screen)} screening seed(s), then the best {finalist_count} x "
                f"{len(seeds)} seeds")
            run(designs, screen)
            candidates = [Candidate(a, v, design_name(d), None,
                                    gain(design_name(d), base, screen), finalist=False,
                                    metric=metric.name)
                          for (a, v), (d, _) in zip(changes, designs)]
            best_few = finalists(candidates, finalist_count)
            by_name = dict((design_name(d), (d, p)) for d, p in designs)
            run([by_name[c.variant] for c in best_few])
            for c in best_few:
                c.finalist = True
                c.estimate = gain(c.variant, base, seeds)
        best = max(candidates, key=_bound, default=None)
        chosen = best if best is not None and _bound(best) > 0 else None
        rounds.append({"current": base, "candidates": [c.row() for c in candidates],
                       "chosen": chosen.row() if chosen else None})
        if chosen is None:
            break
        log(f"  kept {chosen.axis}={chosen.value!r}: {metric.name} on the selection split "
            f"{chosen.estimate.mean:+.3f} [{chosen.estimate.low:+.3f}, "
            f"{chosen.estimate.high:+.3f}]")
        current = current.replace(**{chosen.axis: chosen.value})
        kept.append(chosen.axis)
        path.append(current)
        chosen_estimates.append(chosen.estimate)

    current, removed = leave_one_out(current, kept, paths, seeds, run, log, metric)
    final = design_name(current)
    against = against_corrected(current, paths, seeds, run, metric)
    confirmation = confirm_path(path, current, kept, chosen_estimates, removed, paths,
                                seeds, confirm, train, metric, log)
    against.update(confirmation.pop("against_corrected"))

    # Every design trained on every seed, listed in run.json, so the report covers them.
    train(list(trained.values()), None)
    result = {"strategy": "greedy", "seeds": seeds, "metric": metric.name,
              "splits": {"choices": SELECTION, "verdicts": CONFIRMATION},
              "screening": {"seeds": screen, "finalists": finalist_count} if screen else None,
              "rounds": rounds, "leave_one_out": removed,
              "final": {"variant": final, "design": current.to_dict(),
                        "changes": {a: repr(getattr(current, a)) for a in AXES
                                    if getattr(current, a) != getattr(ORIGINAL, a)}},
              "against_corrected": against, "confirmation": confirmation,
              "seconds": round(time.perf_counter() - started, 1)}
    atomic_write_json(paths.root / SEARCH_JSON, result)
    atomic_write_text(paths.root / VARIANTS_FILE, variants_file(current, final))
    return result


def against_corrected(design, paths: RunPaths, seeds, run,
                      metric: SearchMetric = DEFAULT_METRIC) -> dict:
    """The final design's difference to ``corrected`` in ``metric`` on the selection split,
    paired by seed and step (``corrected`` trained here under its design name if it is not
    yet); :func:`confirm_path` adds the confirmation."""
    name = design_name(CORRECTED)
    run([(CORRECTED, "search: the corrected design, to compare the final design with")])
    e = improvement(paths, design_name(design), name, seeds, metric, SELECTION)
    return {"corrected": name, "same_design": design == CORRECTED, "metric": metric.name,
            "selection": estimate_row(e)}


def confirm_path(path: list, final, kept: list[str], chosen: list, removed: list,
                 paths: RunPaths, seeds, confirm, train, metric: SearchMetric,
                 log=print) -> dict:
    """Train the path's designs, the final design and ``corrected`` on the fresh seeds
    ``confirm`` and compare them on the held-out split: each kept change (its selection
    estimate beside its confirmation estimate), the final design against ``original`` and
    against ``corrected`` (in the search metric, and in every per-step metric)."""
    designs = list(path) + [d for d in (final, CORRECTED) if d not in path]
    unique = list({design_name(d): d for d in designs}.values())
    log(f"search confirmation: {len(unique)} design(s) x {len(confirm)} fresh seed(s), scored "
        "on the held-out split")
    train([as_variant(d, "search confirmation: on fresh seeds, the held-out split")
           for d in unique], confirm)
    on = lambda a, b, m=metric: improvement(paths, design_name(a), design_name(b), confirm,
                                            m, CONFIRMATION)
    dropped = {r["axis"] for r in removed if r["removed"]}
    changes = []
    for i, axis in enumerate(kept):
        after, before = path[i + 1], path[i]
        confirmed = on(after, before)
        changes.append({"axis": axis, "value": repr(getattr(after, axis)),
                        "variant": design_name(after), "from": design_name(before),
                        "selection": estimate_row(chosen[i]),
                        "confirmation": estimate_row(confirmed),
                        "dropped_by_leave_one_out": axis in dropped})
        if confirmed is not None:
            log(f"  {axis}={getattr(after, axis)!r}: selection {chosen[i].mean:+.3f}, "
                f"confirmation {confirmed.mean:+.3f} [{confirmed.low:+.3f}, "
                f"{confirmed.high:+.3f}]")
    by_metric = {m: estimate_row(on(final, CORRECTED, SearchMetric(((m, 1.0),))))
                 for m in PER_STEP_METRICS}
    versus = on(final, CORRECTED)
    step_acc = by_metric[PRIMARY]
    return {"seeds": list(confirm), "split": "held-out (confirmation)",
            "kept_changes": changes,
            "final_against_original": estimate_row(on(final, ORIGINAL)),
            "against_corrected": {
                "confirmation": estimate_row(versus), "confirmation_by_metric": by_metric,
                # the report reads these step-accuracy names: the confirmed comparison
                "d_step_acc": step_acc["d"], "low": step_acc["low"],
                "high": step_acc["high"]}}


def leave_one_out(current, kept: list[str], paths: RunPaths, seeds, run, log=print,
                  metric: SearchMetric = DEFAULT_METRIC):
    """Drop each kept change (in the order kept) whose removal leaves the search metric's
    point estimate on the selection split equal or higher; returns the final design and what
    was checked."""
    checked = []
    for axis in kept:
        without = current.replace(**{axis: getattr(ORIGINAL, axis)})
        run([(without, f"search leave-one-out: without {axis}={getattr(current, axis)!r}")])
        e = improvement(paths, design_name(current), design_name(without), seeds, metric,
                        SELECTION)
        entry = {"axis": axis, "value": repr(getattr(current, axis)),
                 "without": design_name(without),
                 "d": e.mean if e else None, "low": e.low if e else None,
                 "high": e.high if e else None, "removed": bool(e is not None and e.mean <= 0)}
        entry["d_step_acc"] = entry["d"] if metric.name == PRIMARY else None
        checked.append(entry)
        if entry["removed"]:
            log(f"  leave-one-out: dropping {axis} (without it, {metric.name} "
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
