"""Read an output folder's records (what training wrote) for analysis; nothing is recomputed
from models, so a report can be rebuilt at any time, also over a partial or failed grid."""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path

import pandas as pd

from harness.errors import HarnessInputError
from harness.io import read_json
from harness.results import (BASELINE_SCORES, BASELINE_SELECTION_SCORES, ERROR_TXT,
                             HELDOUT_SCORES, INFRASTRUCTURE, READ_ERRORS, SELECTION_SCORES,
                             RunPaths, episode_ids, first_line, gather, read_heldout_scores,
                             read_selection_scores, read_sequential, score_matrix,
                             sequential_seeds, unreadable_run)


@dataclass
class GridRecords:
    root: Path
    run: dict                       # run.json
    summary: pd.DataFrame           # one row per (variant, seed), status "missing" included
    steps: pd.DataFrame             # long: variant, seed, step, metric, value
    facts: dict = field(default_factory=dict)     # (variant, seed) -> status["facts"]
    errors: dict = field(default_factory=dict)    # (variant, seed) -> error text
    variants: list[dict] = field(default_factory=list)
    #: (variant, seed) -> each held-out step's scores (``heldout_scores.csv``), runs that have it
    scores: dict = field(default_factory=dict)
    baseline_scores: pd.DataFrame | None = None   # the trivial baseline's, same steps
    #: ``sequential.json`` of an ``--until-decided`` grid (its looks' seeds), else None
    sequential: dict | None = None
    #: (variant, seed) -> each selection step's scores (``selection_scores.csv``), runs that
    #: have it; what choices (the recommendation) read, never the held-out scores
    selection_scores: dict = field(default_factory=dict)
    #: "path: unreadable (why)" for each record that could not be read; a run with one
    #: counts as missing (the report lists them; nothing is dropped silently)
    unreadable: list[str] = field(default_factory=list)

    def score_matrix(self, variant: str, seeds, metric: str):
        """(seeds x held-out steps) scores of one metric, rows in the order of ``seeds``;
        None when a run lacks its per-step scores (records older than this file format)."""
        return score_matrix([self.scores.get((variant, seed)) for seed in seeds], metric)

    def selection_matrix(self, variant: str, seeds, metric: str):
        """(seeds x selection steps) scores of one metric, rows in the order of ``seeds``;
        None when a run lacks its selection scores (records older than the selection split)."""
        return score_matrix([self.selection_scores.get((variant, seed)) for seed in seeds],
                            metric)

    def selection_episodes(self, variant: str, seeds):
        """Each selection step's episode, from the runs' selection scores; None without."""
        return episode_ids([self.selection_scores.get((variant, seed)) for seed in seeds])

    def episodes(self, variant: str, seeds):
        """Each held-out step's episode (the clusters of a paired comparison), from the runs'
        per-step scores or the baseline's; None for records without episode ids."""
        frames = [self.scores.get((variant, seed)) for seed in seeds] + [self.baseline_scores]
        return episode_ids(frames)

    @property
    def seeds(self) -> list[int]:
        """Every seed of the grid: the settings' and those ``--until-decided`` added."""
        default = list(self.run["settings"]["seeds"])
        if not self.sequential:
            return default
        added = sorted({s for seeds in sequential_seeds(self.sequential).values()
                        for s in seeds} - set(default))
        return default + added

    def look_seeds(self) -> list[dict[str, list[int]]] | None:
        """Each look's seeds per variant (cumulative), for an ``--until-decided`` grid."""
        if not self.sequential:
            return None
        out, have = [], {}
        for look in self.sequential["looks"]:
            for variant, seeds in look["seeds"].items():
                have[variant] = have.get(variant, []) + [s for s in seeds
                                                         if s not in have.get(variant, [])]
            out.append({v: list(s) for v, s in have.items()})
        return out

    def variant_names(self) -> list[str]:
        return [v["name"] for v in self.variants]

    def design(self, variant: str) -> dict:
        return next(v["design"] for v in self.variants if v["name"] == variant)

    def metric(self, name: str) -> pd.DataFrame:
        return self.steps[self.steps.metric == name]

    def runs(self, variant: str) -> pd.DataFrame:
        """The summary rows of one variant, one per seed."""
        return self.summary[self.summary.variant == variant]

    def step_values(self, variant: str, metric: str) -> pd.DataFrame:
        """One variant's records of one per-step metric, every seed (rows in file order)."""
        index = self.__dict__.get("_step_index")
        if index is None:
            # Grouped once: the report asks for hundreds of (variant, metric) slices, and
            # filtering the whole long table for each took most of its build time.
            index = {key: rows for key, rows in
                     self.steps.groupby(["variant", "metric"], sort=False).indices.items()}
            self.__dict__["_step_index"] = index
        rows = index.get((variant, metric))
        if rows is None:
            return self.steps.iloc[0:0]
        return self.steps.iloc[rows]


def load_records(root) -> GridRecords:
    """The records of an output folder. Runs listed in run.json but absent on disk come back
    with status ``missing``; runs still in progress with what they flushed so far.

    A damaged folder is read as far as it can be: each per-run file that cannot be read
    (garbled, empty, truncated, not UTF-8, a folder where a file should be, or deleted
    although the run finished ok) is named in ``unreadable`` and its run counts as missing,
    never dropped silently: a run without its per-step scores would change the intervals
    unnoticed. A damaged run.json or sequential.json is an error naming it (without them
    the grid's runs and looks are unknown)."""
    root = Path(root)
    paths = RunPaths(root)
    if not paths.run_json.is_file():
        raise HarnessInputError(f"{root}: no run.json here; --report-only takes the output "
                                "folder of an earlier run")
    run, variants, default_seeds = _read_run_json(paths.run_json)
    sequential = read_sequential(root)
    names = [v["name"] for v in variants]
    planned = default_seeds
    if sequential is not None:
        added = sequential_seeds(sequential)
        planned = {name: sorted(set(planned) | set(added.get(name, ()))) for name in names}
    found = gather(paths, names, planned)
    unreadable = list(found.unreadable)
    summary = found.summary.copy()
    summary.loc[summary.status == "running", "status"] = "interrupted"
    # A run the machine lost (a dead worker, a full disk) is not a finding of its design: it
    # counts as interrupted (the report asks for a rerun), never as a crash of the design.
    lost = [key for key, status in found.statuses.items()
            if status.get("status") == "failed" and status.get("failure") == INFRASTRUCTURE]
    for name, seed in lost:
        summary.loc[(summary.variant == name) & (summary.seed == seed), "status"] = "interrupted"
    facts = {key: status.get("facts") or {} for key, status in found.statuses.items()}
    errors = {}
    for (name, seed) in found.statuses:
        error = paths.run_dir(name, seed) / ERROR_TXT
        if error.is_file():
            errors[(name, seed)] = _read_text(error)
    baseline = _baseline(root / BASELINE_SCORES, unreadable,
                         (run.get("data") or {}).get("heldout_steps"))

    def mark_missing(name, seed, path, exc):
        missing, problem = unreadable_run(name, seed, path, exc)
        unreadable.append(problem)
        row = (summary.variant == name) & (summary.seed == seed)
        summary.loc[row, "status"] = "missing"
        summary.loc[row, "message"] = missing["message"]

    scores, selection = {}, {}
    # Per-step scores exist for every ok run of a folder written since they were introduced
    # (with the baseline's): one missing there is damage; only older folders lack them all.
    for target, file, reader, baseline_file in (
            (scores, HELDOUT_SCORES, read_heldout_scores, BASELINE_SCORES),
            (selection, SELECTION_SCORES, read_selection_scores, BASELINE_SELECTION_SCORES)):
        expected = (root / baseline_file).exists() or any(
            (paths.run_dir(n, s) / file).exists() for n, s in found.statuses)
        for (name, seed), status in found.statuses.items():
            run_dir = paths.run_dir(name, seed)
            if (summary.loc[(summary.variant == name) & (summary.seed == seed),
                            "status"] == "missing").all():
                continue                  # already counted as missing
            try:
                frame = reader(run_dir, status)
                if frame is None and status.get("status") == "ok" and expected:
                    raise FileNotFoundError("no such file, although the run finished ok")
                if frame is not None:
                    target[(name, seed)] = _checked_scores(frame)
            except READ_ERRORS as exc:
                scores.pop((name, seed), None)
                selection.pop((name, seed), None)
                mark_missing(name, seed, run_dir / file, exc)
    return GridRecords(root, run, summary, found.steps, facts, errors, variants, scores,
                       baseline, sequential, selection, unreadable)


def _read_run_json(path: Path) -> tuple[dict, list[dict], list[int]]:
    """run.json, its variants and seeds; a clear error naming it when it is damaged (without
    it the report cannot know which runs belong to the grid)."""
    try:
        run = read_json(path)
        variants = list(run.get("variants", []))
        seeds = [int(s) for s in run["settings"]["seeds"]]
        if not all(isinstance(v["name"], str) and isinstance(v["design"], dict)
                   for v in variants):
            raise ValueError("a variant without a name or a design")
    except (*READ_ERRORS, AttributeError) as exc:
        raise HarnessInputError(f"{path}: unreadable ({first_line(exc)}); the report needs it "
                                "to know the grid's variants and seeds (rerun the grid into "
                                "this folder, or into another --out, to write it again)") from None
    return run, variants, seeds


def _baseline(path: Path, unreadable: list[str], steps: int | None) -> pd.DataFrame | None:
    """The trivial baseline's per-step scores, or None (named in ``unreadable``) when the
    file is damaged (``steps``: the held-out steps run.json counts, which it must have):
    comparisons with the baseline are then left out."""
    if not os.path.lexists(path):
        return None
    try:
        frame = _checked_scores(pd.read_csv(path))
        if steps is not None and len(frame) != steps:
            raise ValueError(f"{len(frame)} rows, run.json counts {steps} held-out steps")
        return frame
    except READ_ERRORS as exc:
        unreadable.append(f"{path}: unreadable ({first_line(exc)}); comparisons with the "
                          "trivial baseline are left out")
        return None


def _checked_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-step scores as the analysis reads them: rows, score columns, numbers."""
    if frame.empty:
        raise ValueError("no rows")
    numeric = [c for c in frame.columns if c not in ("item", "episode")]
    if not numeric:
        raise ValueError(f"no score columns (columns {list(frame.columns)})")
    for column in numeric:
        pd.to_numeric(frame[column], errors="raise")
    return frame


def _read_text(path: Path) -> str:
    """error.txt as text: a byte that is not UTF-8 is shown replaced, not a reason to fail."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(unreadable: {first_line(exc)})"
