"""Read an output folder's records (what training wrote) for analysis; nothing is recomputed
from models, so a report can be rebuilt at any time, also over a partial or failed grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.errors import HarnessInputError
from harness.io import read_json
from harness.results import (BASELINE_SCORES, ERROR_TXT, RunPaths, episode_ids, gather,
                             read_heldout_scores, read_selection_scores, read_sequential,
                             score_matrix, sequential_seeds)


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
    with status ``missing``; runs still in progress with what they flushed so far."""
    root = Path(root)
    paths = RunPaths(root)
    if not paths.run_json.is_file():
        raise HarnessInputError(f"{root}: no run.json here; --report-only takes the output "
                                "folder of an earlier run")
    run = read_json(paths.run_json)
    variants = run.get("variants", [])
    sequential = read_sequential(root)
    names = [v["name"] for v in variants]
    planned = run["settings"]["seeds"]
    if sequential is not None:
        added = sequential_seeds(sequential)
        planned = {name: sorted(set(planned) | set(added.get(name, ()))) for name in names}
    found = gather(paths, names, planned)
    summary = found.summary.copy()
    summary.loc[summary.status == "running", "status"] = "interrupted"
    facts = {key: status.get("facts") or {} for key, status in found.statuses.items()}
    errors = {}
    for (name, seed) in found.statuses:
        error = paths.run_dir(name, seed) / ERROR_TXT
        if error.is_file():
            errors[(name, seed)] = error.read_text(encoding="utf-8")
    scores = {}
    for (name, seed), status in found.statuses.items():
        frame = read_heldout_scores(paths.run_dir(name, seed), status)
        if frame is not None:
            scores[(name, seed)] = frame
    selection = {}
    for (name, seed), status in found.statuses.items():
        frame = read_selection_scores(paths.run_dir(name, seed), status)
        if frame is not None:
            selection[(name, seed)] = frame
    baseline_path = root / BASELINE_SCORES
    baseline = pd.read_csv(baseline_path) if baseline_path.is_file() else None
    return GridRecords(root, run, summary, found.steps, facts, errors, variants, scores,
                       baseline, sequential, selection)
