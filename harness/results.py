"""The results layer: where a grid's records live on disk, and how they are read back.

Everything that writes records (the trainer, the runner, the executors) and everything that
reads them (the report, ``harness.compare``, the log exporters) goes through the names and
functions here, so the layout is defined once. Nothing here imports torch or the trainer: a
report can be rebuilt on a machine that cannot train.

Output folder::

    run.json                       settings, environment, versions, command, data, variants
    baseline_scores.csv            the trivial baseline's score on each held-out step
    baseline_selection_scores.csv  the same on each selection step
    sequential.json                --until-decided: the planned looks, each look's seeds per
                                   variant and why seeds were added
    summary.csv                    one row per (variant, seed): status, final metrics, cost
    steps.csv, steps.parquet       every run's per-step records: variant, seed, step, metric, value
    runs/<variant>/seed<k>/        status.json, steps.csv (steps.partial.csv while running),
                                   heldout_scores.csv, selection_scores.csv, error.txt
                                   when the run failed
    tensorboard/<variant>/seed<k>/ TensorBoard events of one run (--log tensorboard)
    mlflow/                        the MLflow store: mlflow.db and artifacts/ (--log mlflow)
    .harness.lock                  the command writing the folder (harness.lock)

The per-run ``steps.csv`` stays CSV because it is appended to while the run trains (an
interrupted run keeps every flushed line); the grid-wide tables are rebuilt whole, so they
also come as Parquet, which keeps dtypes and a tenth of the bytes. A NaN value (a diverged
loss, a metric with nothing to score) is NaN in both: ``nan`` in the CSV files, a float NaN
(not null) in the Parquet file.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import HarnessInputError
from harness.io import atomic_write_csv, atomic_write_file, read_json

# --------------------------------------------------------------------------- file names

RUN_JSON = "run.json"
SUMMARY_CSV = "summary.csv"
STEPS_CSV = "steps.csv"                  # grid-wide, and each run's own when it finished
STEPS_PARQUET = "steps.parquet"          # grid-wide, the same table as steps.csv
STEPS_PARTIAL = "steps.partial.csv"      # a run's records while it trains
STATUS_JSON = "status.json"
ERROR_TXT = "error.txt"
HELDOUT_SCORES = "heldout_scores.csv"    # each held-out step's score behind each metric
BASELINE_SCORES = "baseline_scores.csv"  # the same for the trivial baseline, at the root
SELECTION_SCORES = "selection_scores.csv"   # each selection step's score (what choices read)
BASELINE_SELECTION_SCORES = "baseline_selection_scores.csv"   # the baseline's, at the root
SEARCH_JSON = "search.json"              # --search: each round's candidates and choice
SEQUENTIAL_JSON = "sequential.json"      # --until-decided: the looks and their seeds
TENSORBOARD_DIR = "tensorboard"          # harness.logs.tensorboard: one events folder per run
MLFLOW_DIR = "mlflow"                    # harness.logs.mlflow_store: the SQLite store

#: A run in one of these states is not recomputed by the next invocation (but see
#: :func:`needs_retry`: a run the machine lost is).
FINISHED = ("ok", "diverged", "failed")
#: Why a run failed (status.json "failure"): the design's code raised (a finding, kept on
#: rerun), or the machine lost it (a dead worker, a full disk: retried on rerun).
DESIGN, INFRASTRUCTURE = "design", "infrastructure"
STEP_COLUMNS = ["variant", "seed", "step", "metric", "value"]
# Fixed, so that the Parquet file of an empty or partial grid has the schema of a full one.
STEP_DTYPES = {"variant": "str", "seed": "int64", "step": "int64", "metric": "str",
               "value": "float64"}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+=@-]{1,80}$")


def run_folder_name(variant_name: str) -> str:
    """A folder name for any variant name: the name itself when it is safe on every file
    system, else a slug plus a hash, so that distinct names never share a folder."""
    if _SAFE_NAME.match(variant_name) and variant_name not in (".", ".."):
        return variant_name
    slug = re.sub(r"[^A-Za-z0-9_.+=@-]+", "_", variant_name).strip("._")[:40] or "variant"
    return f"{slug}-{hashlib.sha256(variant_name.encode()).hexdigest()[:10]}"


@dataclass
class RunPaths:
    root: Path

    def run_dir(self, variant: str, seed: int) -> Path:
        return self.root / "runs" / run_folder_name(variant) / f"seed{seed}"

    @property
    def run_json(self) -> Path:
        return self.root / RUN_JSON

    @property
    def summary_csv(self) -> Path:
        return self.root / SUMMARY_CSV

    def tensorboard_dir(self, variant: str, seed: int) -> Path:
        """One TensorBoard run per (variant, seed), named like its records' folder."""
        return self.root / TENSORBOARD_DIR / run_folder_name(variant) / f"seed{seed}"

    @property
    def steps_csv(self) -> Path:
        return self.root / STEPS_CSV

    @property
    def steps_parquet(self) -> Path:
        return self.root / STEPS_PARQUET

    @property
    def mlflow_dir(self) -> Path:
        return self.root / MLFLOW_DIR

    @property
    def baseline_scores(self) -> Path:
        return self.root / BASELINE_SCORES

    @property
    def baseline_selection_scores(self) -> Path:
        return self.root / BASELINE_SELECTION_SCORES

    @property
    def sequential_json(self) -> Path:
        return self.root / SEQUENTIAL_JSON


def read_sequential(root: Path) -> dict | None:
    """``sequential.json`` of a grid run with ``--until-decided`` (None for any other grid),
    each look's seeds as {variant: [seeds]}. A damaged file is an error naming it: reading
    the grid without its looks would test every comparison at the wrong level."""
    path = RunPaths(Path(root)).sequential_json
    if not path.is_file():
        return None
    try:
        record = read_json(path)
        looks = record["looks"]
        planned = int(record["looks_planned"])
        for look in looks:
            look["seeds"] = {str(v): [int(s) for s in seeds]
                             for v, seeds in look["seeds"].items()}
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise HarnessInputError(f"{path}: not a sequential record of --until-decided "
                                f"({type(exc).__name__}: {exc})") from exc
    if not looks or len(looks) > planned:
        raise HarnessInputError(f"{path}: {len(looks)} looks recorded, {planned} planned")
    return record


def sequential_seeds(record: dict) -> dict[str, list[int]]:
    """Every variant's seeds over all looks of a sequential record."""
    out: dict[str, list[int]] = {}
    for look in record["looks"]:
        for variant, seeds in look["seeds"].items():
            have = out.setdefault(variant, [])
            have.extend(s for s in seeds if s not in have)
    return out


def run_fingerprint(settings, variant) -> str:
    """What determines one run's numbers: the settings' fingerprint and the variant's design
    (``settings`` and ``variant`` as the runner holds them; only these two methods are used)."""
    text = settings.fingerprint() + repr(sorted(variant.design.to_dict().items()))
    if getattr(variant, "noise_salt", 0):     # absent at 0: earlier fingerprints stay valid
        text += f"/noise{variant.noise_salt}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_status(run_dir: Path) -> dict | None:
    path = run_dir / STATUS_JSON
    if not path.is_file():
        return None
    try:
        return read_json(path)
    except ValueError:
        return None      # written atomically, so only a foreign file can be unreadable


def needs_retry(status: dict | None) -> bool:
    """True for a run the next invocation trains (again): never finished, or failed for a
    reason outside its design (:data:`INFRASTRUCTURE`)."""
    return (not status or status.get("status") not in FINISHED
            or status.get("failure") == INFRASTRUCTURE)


def check_reusable(status: dict | None, fingerprint: str, where: Path,
                   data: dict | None = None) -> bool:
    """True when a finished run with the same settings, design and data can be kept; an error
    when a finished run was made with other settings or on other data (mixing them would
    compare unlike with unlike), or before runs recorded their data, so that this cannot be
    told. ``data``: the grid's data identity (:func:`harness.data.fingerprint.data_identity`);
    None skips the data check. A run the machine lost is never kept (:func:`needs_retry`)."""
    if needs_retry(status):
        return False
    if status.get("fingerprint") != fingerprint:
        raise HarnessInputError(
            f"{where} holds a finished run made with different settings or design; pass "
            "--force to recompute every run, or choose another --out")
    if data is None:
        return True
    recorded = status.get("data")
    if not isinstance(recorded, dict) or "fingerprint" not in recorded:
        raise HarnessInputError(
            f"{where} holds a finished run recorded before runs recorded a fingerprint of "
            "their data, so whether it used this data cannot be told; pass --force to "
            "recompute every run, or choose another --out")
    if recorded["fingerprint"] != data["fingerprint"]:
        raise HarnessInputError(
            f"{where} holds a finished run trained on other data: "
            f"{describe_data_change(recorded, data)}; mixing its numbers with runs on this data "
            "would compare unlike with unlike. Pass --force to recompute every run, or "
            "choose another --out")
    return True


SPLIT_LABELS = {"train": "training", "val": "validation", "selection": "selection",
                "heldout": "held-out"}


def describe_data_change(recorded: dict, now: dict) -> str:
    """What differs between two data identities (status.json ``data``, made by
    :func:`harness.data.fingerprint.data_identity`), in words."""
    changes = []
    old_read, new_read = recorded.get("read") or {}, now.get("read") or {}
    if old_read != new_read:
        if old_read.get("steps") != new_read.get("steps"):
            changes.append(f"{new_read.get('steps')} steps in {new_read.get('episodes')} "
                           f"episodes read now, {old_read.get('steps')} in "
                           f"{old_read.get('episodes')} then")
        else:
            changes.append(f"the same {new_read.get('steps')} steps read, with other content")
    old_splits, new_splits = recorded.get("splits") or {}, now.get("splits") or {}
    # other words make every split's token ids differ: "other content" would say nothing
    vocabulary_changed = recorded.get("vocabulary") != now.get("vocabulary")
    for name in [*new_splits, *(n for n in old_splits if n not in new_splits)]:
        old, new = old_splits.get(name), new_splits.get(name)
        label = f"the {SPLIT_LABELS.get(name, name)} split"
        if old == new:
            continue
        if old is None or new is None:
            changes.append(f"{label} {'is new' if old is None else 'is gone'}")
        elif old.get("steps") != new.get("steps"):
            changes.append(f"{label} has {new.get('steps')} steps ({new.get('episodes')} "
                           f"episodes), the recorded runs {old.get('steps')} "
                           f"({old.get('episodes')} episodes)")
        elif not vocabulary_changed:
            changes.append(f"{label} has the same {new.get('steps')} steps with other content")
    if vocabulary_changed:
        changes.append("the tokenizer's vocabulary differs (so every split's encoding does)")
    return "; ".join(changes) or "the data fingerprint differs"


#: A finished run's record files, each one's size and SHA-256 kept in its status.json
#: (``files``), so that a file damaged or cut after the run wrote it is found, not read.
RECORD_FILES = (STEPS_CSV, HELDOUT_SCORES, SELECTION_SCORES)


def record_files(run_dir: Path) -> dict:
    """``{file: {"bytes": n, "sha256": hex}}`` of the run's record files that exist."""
    files = {}
    for name in RECORD_FILES:
        path = run_dir / name
        if path.is_file():
            data = path.read_bytes()
            files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return files


def check_record_files(run_dir: Path, status: dict) -> None:
    """Raise :class:`RecordChanged` naming the first record file that differs from what the
    run wrote (status.json ``files``; runs recorded before it are not checked)."""
    for name, expected in (status.get("files") or {}).items():
        path = run_dir / name
        if not path.is_file():
            raise RecordChanged(path, "gone, or not a regular file, although the run wrote it")
        data = path.read_bytes()
        if len(data) != expected.get("bytes"):
            raise RecordChanged(path, f"{len(data)} bytes, the run wrote {expected.get('bytes')}")
        if hashlib.sha256(data).hexdigest() != expected.get("sha256"):
            raise RecordChanged(path, "its content differs from what the run wrote "
                                      "(SHA-256 in status.json)")


class RecordChanged(ValueError):
    """A record file that is not what its run wrote (``path``: the file)."""

    def __init__(self, path: Path, why: str):
        super().__init__(why)
        self.path = path


def read_steps(run_dir: Path) -> pd.DataFrame | None:
    """A run's step records: the final file, else what a running or interrupted run has
    flushed so far (a line being written at this moment is skipped, not an error)."""
    if (run_dir / STEPS_CSV).is_file():
        return pd.read_csv(run_dir / STEPS_CSV)
    partial = run_dir / STEPS_PARTIAL
    if not partial.is_file():
        return None
    text = partial.read_bytes()
    # A line without its newline is still being written: it may be cut inside a number,
    # which would parse as a plausible wrong value, so it is left for the next read.
    text = text[:text.rfind(b"\n") + 1]
    try:
        steps = pd.read_csv(io.BytesIO(text), on_bad_lines="skip")
    except pd.errors.EmptyDataError:
        return None
    steps["step"] = pd.to_numeric(steps["step"], errors="coerce")
    steps["value"] = pd.to_numeric(steps["value"], errors="coerce")
    return steps.dropna(subset=["step", "metric"]).astype({"step": "int64"})


# --------------------------------------------------------------------------- summary rows

def read_heldout_scores(run_dir: Path, status: dict | None = None) -> pd.DataFrame | None:
    """A run's score on each held-out step (:data:`HELDOUT_SCORES`); None unless the run ended
    ok (``status``, read from the folder when not given) and wrote them."""
    status = read_status(run_dir) if status is None else status
    path = run_dir / HELDOUT_SCORES
    if (status or {}).get("status") != "ok" or not path.is_file():
        return None
    return pd.read_csv(path)


def read_selection_scores(run_dir: Path, status: dict | None = None) -> pd.DataFrame | None:
    """A run's score on each selection step (:data:`SELECTION_SCORES`), what every choice
    reads; None unless the run ended ok and wrote them (runs older than the selection split
    did not)."""
    status = read_status(run_dir) if status is None else status
    path = run_dir / SELECTION_SCORES
    if (status or {}).get("status") != "ok" or not path.is_file():
        return None
    return pd.read_csv(path)


def score_matrix(frames: list, metric: str) -> np.ndarray | None:
    """(runs x held-out steps) scores of one metric from per-run frames (seeds in order), the
    input of a paired comparison; None when a frame is missing or lacks the metric, or when
    the runs were scored on different numbers of steps."""
    rows = []
    for frame in frames:
        if frame is None or metric not in frame:
            return None
        rows.append(frame[metric].to_numpy(dtype=float))
    if not rows or len({len(r) for r in rows}) != 1:
        return None
    return np.vstack(rows)


def episode_ids(frames: list) -> np.ndarray | None:
    """Each held-out step's episode, from the first per-step frame that records it (every run
    of a grid is scored on the same steps); None for records written before episodes were
    (then each step counts as an episode of its own)."""
    for frame in frames:
        if frame is not None and "episode" in frame:
            return frame["episode"].astype(str).to_numpy()
    return None


def summary_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of summary rows, or NaNs where no run wrote it (an instrument that was off,
    records older than the column)."""
    return frame[name] if name in frame.columns else pd.Series(math.nan, index=frame.index)


SUMMARY_FIRST = ["variant", "seed", "status", "message", "steps_done", "epochs_done",
                 "diverged_at", "train_seconds"]


def summary_row(status: dict, steps: pd.DataFrame | None) -> dict:
    """One row of summary.csv: status, final held-out metrics, then each registered
    instrument's summary columns (:mod:`harness.instruments.registry`)."""
    from harness.instruments.registry import summary_columns
    row = {k: status.get(k) for k in SUMMARY_FIRST}
    row.update({k: v for k, v in (status.get("final") or {}).items()})
    row.update(summary_columns(steps, status.get("facts") or {}))
    return row


@dataclass
class Gathered:
    summary: pd.DataFrame              # one row per (variant, seed), status "missing" included
    steps: pd.DataFrame                # every run's records, long form
    statuses: dict                     # (variant, seed) -> status.json as read
    #: "path: unreadable (why)" for each record that could not be read; its run is missing
    unreadable: list = field(default_factory=list)


def planned_runs(variant_names: list[str], seeds) -> list[tuple[str, int]]:
    """(variant, seed) pairs in grid order (seed-major). ``seeds``: one list for every variant,
    or a mapping variant -> its seeds (``--until-decided`` gives some variants more)."""
    if isinstance(seeds, dict):
        order = sorted({s for name in variant_names for s in seeds.get(name, ())})
        return [(name, seed) for seed in order for name in variant_names
                if seed in seeds.get(name, ())]
    return [(name, seed) for seed in seeds for name in variant_names]


def runs_to_retry(root, variant_names: list[str], seeds) -> list[str]:
    """``variant seedK: cause`` for each planned run (``seeds`` as :func:`planned_runs` takes
    them) that the next invocation of the same command trains again (:func:`needs_retry`)."""
    paths = RunPaths(Path(root))
    lines = []
    for name, seed in planned_runs(variant_names, seeds):
        status = read_status(paths.run_dir(name, seed)) or {}
        if needs_retry(status):
            cause = status.get("message") or status.get("status") or "missing"
            lines.append(f"{name} seed{seed}: {cause}")
    return lines


def gather(paths: RunPaths, variant_names: list[str], seeds) -> Gathered:
    """Read every (variant, seed) run folder: what ``summary.csv``, ``steps.csv`` and the
    report are built from (``seeds`` as :func:`planned_runs` takes them). A run with no
    folder is status ``missing``; a run that was still running when its process died is
    ``interrupted``."""
    rows, frames, statuses, unreadable = [], [], {}, []
    for name, seed in planned_runs(variant_names, seeds):
        status, steps, problem = _read_run(paths.run_dir(name, seed), name, seed)
        if problem:
            unreadable.append(problem)
        if steps is not None and not steps.empty:
            frames.append(steps.assign(variant=name, seed=seed)[STEP_COLUMNS])
        rows.append(summary_row(status, steps))
        statuses[(name, seed)] = status
    steps_all = (pd.concat(frames, ignore_index=True) if frames
                 else pd.DataFrame(columns=STEP_COLUMNS))
    steps_all = steps_all.astype(STEP_DTYPES)
    return Gathered(pd.DataFrame(rows), steps_all, statuses, unreadable)


#: What reading a damaged record raises: bad JSON or CSV (ValueError, pandas' parser errors
#: and UnicodeDecodeError among them), a folder or a FIFO where a file should be (OSError),
#: a table without its columns (KeyError), a JSON value of the wrong type (TypeError).
READ_ERRORS = (ValueError, OSError, KeyError, TypeError)


def first_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = f"{type(exc).__name__}: {exc}".strip()
    return (text.splitlines() or [""])[0][:200]


def unreadable_run(name: str, seed: int, path: Path, exc: BaseException) -> tuple[dict, str]:
    """The status of a run whose record ``path`` cannot be read (it counts as missing, and
    says why), and the line naming the file."""
    problem = f"{path}: unreadable ({first_line(exc)})"
    return {"variant": name, "seed": seed, "status": "missing",
            "message": f"counted as missing: {problem}"}, problem


def _read_run(run_dir: Path, name: str, seed: int) -> tuple[dict, pd.DataFrame | None,
                                                             str | None]:
    """(status, step records, problem) of one run folder. A record that cannot be read makes
    the run missing with the file named, rather than a traceback or a silent gap."""
    path = run_dir / STATUS_JSON
    if not os.path.lexists(path):
        return {"variant": name, "seed": seed, "status": "missing"}, None, None
    try:
        if not path.is_file():
            raise IsADirectoryError("not a regular file")
        status = read_json(path)
        if not isinstance(status, dict):
            raise TypeError(f"a JSON {type(status).__name__}, not an object")
    except READ_ERRORS as exc:
        missing, problem = unreadable_run(name, seed, path, exc)
        return missing, None, problem
    try:
        check_record_files(run_dir, status)
    except READ_ERRORS as exc:
        where = getattr(exc, "path", None) or Path(getattr(exc, "filename", None) or run_dir)
        missing, problem = unreadable_run(name, seed, where, exc)
        return missing, None, problem
    try:
        steps = read_steps(run_dir)
        if steps is not None:
            if not set(STEP_COLUMNS[2:]) <= set(steps.columns):
                raise KeyError(f"columns {list(steps.columns)}, expected {STEP_COLUMNS[2:]}")
            # a garbled value would otherwise reach the analysis as text
            steps = steps.assign(step=pd.to_numeric(steps["step"], errors="raise"),
                                 value=pd.to_numeric(steps["value"], errors="raise"))
        if steps is None and status.get("status") in ("ok", "diverged"):
            raise FileNotFoundError("no such file, although the run finished")
    except READ_ERRORS as exc:
        where = run_dir / (STEPS_CSV if os.path.lexists(run_dir / STEPS_CSV) else STEPS_PARTIAL)
        missing, problem = unreadable_run(name, seed, where, exc)
        return missing, None, problem
    return status, steps, None


def collect(paths: RunPaths, variant_names: list[str], seeds) -> tuple[pd.DataFrame,
                                                                        pd.DataFrame]:
    """Rebuild the grid-wide ``summary.csv``, ``steps.csv`` and ``steps.parquet`` from the
    run folders."""
    found = gather(paths, variant_names, seeds)
    atomic_write_csv(paths.summary_csv, found.summary)
    atomic_write_csv(paths.steps_csv, found.steps, na_rep="nan")   # as each run's steps.csv
    try:
        write_steps_parquet(paths.steps_parquet, found.steps)
    except ImportError as exc:  # an install without pyarrow must not lose the end of a grid
        warnings.warn(f"{paths.steps_parquet} not written ({exc}); pip install pyarrow",
                      stacklevel=2)
    return found.summary, found.steps


def write_steps_parquet(path: Path, steps: pd.DataFrame) -> None:
    """The long per-step table as Parquet, replaced atomically like every other record.

    A NaN value is stored as NaN, not as null: pandas' ``to_parquet`` (pyarrow's
    ``from_pandas``) turns NaN into null, which duckdb's ``isnan`` and polars' ``is_nan`` do
    not find and which ``avg`` silently skips. A measured NaN (a diverged loss) is a value;
    no value of this table is missing."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    steps = steps.astype(STEP_DTYPES)
    table = pa.Table.from_pandas(steps, preserve_index=False)
    # from a numpy array (not from pandas) pyarrow keeps NaN as a float
    values = pa.array(steps["value"].to_numpy(dtype="float64"), type=pa.float64())
    table = table.set_column(table.schema.get_field_index("value"), "value", values)
    atomic_write_file(path, lambda tmp: pq.write_table(table, tmp))


def read_steps_table(root: Path) -> pd.DataFrame:
    """The grid-wide per-step table of an output folder: ``steps.parquet``, or ``steps.csv``
    in folders written before the Parquet file existed."""
    paths = RunPaths(Path(root))
    if paths.steps_parquet.is_file():
        return pd.read_parquet(paths.steps_parquet, engine="pyarrow")
    if paths.steps_csv.is_file():
        return pd.read_csv(paths.steps_csv).astype(STEP_DTYPES)
    raise HarnessInputError(f"{root}: neither {STEPS_PARQUET} nor {STEPS_CSV} here; is this "
                            "the output folder of a grid?")


def listed_runs(root: Path) -> tuple[list[dict], list[int] | dict[str, list[int]]]:
    """The variants (as ``run.json`` lists them: name, purpose, design) and seeds of an output
    folder: what an export walks, finished or not. The seeds as :func:`planned_runs` takes
    them: one list, or each variant's own where ``--until-decided`` added some."""
    path = RunPaths(Path(root)).run_json
    if not path.is_file():
        raise HarnessInputError(f"{path}: no such file; expected the output folder of an "
                                "earlier run")
    try:
        run = read_json(path)
        variants, seeds = list(run["variants"]), [int(s) for s in run["settings"]["seeds"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessInputError(f"{path}: not a run.json written by the harness "
                                f"({type(exc).__name__}: {exc})") from None
    sequential = read_sequential(Path(root))
    if sequential is None:
        return variants, seeds
    added = sequential_seeds(sequential)
    return variants, {v["name"]: sorted(set(seeds) | set(added.get(v["name"], ())))
                      for v in variants}


def format_summary(summary: pd.DataFrame, baselines: dict | None = None) -> str:
    """A plain-text table: one line per variant, means over its finished seeds."""
    metrics = ["action_acc", "step_acc", "tap_acc", "swipe_acc", "text_em"]
    present = [m for m in metrics if m in summary.columns]
    lines = []
    header = f"{'variant':30s} {'runs':>9s} " + " ".join(f"{m:>10s}" for m in present)
    lines.append(header)
    lines.append("-" * len(header))
    for variant, group in summary.groupby("variant", sort=False):
        counts = group["status"].value_counts()
        runs = ",".join(f"{counts[s]}{s[0]}" for s in counts.index)
        values = " ".join(f"{_mean(group, m):>10s}" for m in present)
        lines.append(f"{variant[:30]:30s} {runs:>9s} {values}")
    if baselines:
        values = " ".join(f"{_fmt(baselines.get('baseline/' + m)):>10s}" for m in present)
        lines.append(f"{'(trivial baseline)':30s} {'':>9s} {values}")
    lines.append("runs: o = ok, d = diverged, f = failed, m = missing; metrics: mean over ok "
                 "runs of the held-out split, scored at the end")
    return "\n".join(lines)


def _mean(group: pd.DataFrame, metric: str) -> str:
    ok = group[group["status"] == "ok"][metric].dropna()
    return _fmt(ok.mean()) if len(ok) else "-"


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}"
