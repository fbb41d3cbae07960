"""TensorBoard: one run per (variant, seed) in ``<out>/tensorboard/<variant>/seed<k>/``.

Each run's folder holds its scalars (every row of its per-step records, tag = metric name,
so TensorBoard groups them by prefix: ``loss/``, ``grad_norm/``, ``probe/``, ``val/``,
``heldout/``) and the HParams plugin's session entries: the session's start (its
hyper-parameters, in the session group named after its variant, so that the plugin averages
the seeds of a variant) and end. The entries go through the run's own ``FileWriter`` rather
than ``SummaryWriter.add_hparams``, which would put them in a sub-folder of their own, away
from the scalars the HParams table reads its metric columns from.

The experiment (one hyper-parameter per design axis that any run of the grid names, with
the axis table's domain; variant and seed, the seed an integer domain; the held-out metrics)
is one file at the top, ``<out>/tensorboard/events.out.tfevents.experiment``, written from
``run.json`` whenever a run of the grid starts or is exported: the plugin reads one
experiment entry (the first it finds), so one entry describes the whole grid rather than
the first run's design. The entries are made by TensorBoard's own HParams summary functions
(``tensorboard.plugins.hparams.summary_v2``); the session end, which that module lacks
(only its TensorFlow-based predecessor has it), is the same plugin data wrapped by the
plugin's own ``metadata.create_summary_metadata``.

Written live by :class:`LiveTensorBoard`, a hook that ``harness.execute.run_one`` attaches
in whichever process trains the run, or from the records on disk by :func:`export_run`
(``--export-logs``, and the driver under Ray, whose workers may share no file system with
it). Both write through :class:`RunEvents`. Values are float32 in the events file.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from harness.io import atomic_write_bytes, read_json
from harness.logs.common import design_params, hparam_text, step_wall_times
from harness.results import RunPaths, listed_runs, planned_runs, read_status, read_steps
from harness.train import Hooks

#: Seconds between flushes of a live events file: TensorBoard itself reloads every 5 s.
FLUSH_SECS = 5.0
EVENTS_GLOB = "events.out.tfevents.*"
#: The grid's HParams experiment, at the top of the tensorboard folder ("tfevents" in the
#: name is what TensorBoard looks for).
EXPERIMENT_FILE = "events.out.tfevents.experiment"

# harness status -> the HParams plugin's session status
_SESSION_STATUS = {"ok": "STATUS_SUCCESS", "diverged": "STATUS_FAILURE",
                   "failed": "STATUS_FAILURE", "interrupted": "STATUS_ABORTED"}


def open_command(root: Path) -> str:
    return f"tensorboard --logdir {Path(root) / 'tensorboard'}"


def session_start(variant: str, seed: int, design: dict, started: float | None):
    """The HParams session-start summary of one run: its hyper-parameters, in the session
    group of its variant (the plugin groups, and averages, the seeds of a group)."""
    from tensorboard.plugins.hparams import summary_v2
    return summary_v2.hparams_pb(design_params(variant, seed, design), trial_id=str(variant),
                                 start_time_secs=time.time() if started is None else started)


def session_end(status: str, finished: float | None):
    """The HParams session-end summary (TensorBoard's status name of ``status``)."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import metadata
    from tensorboard.plugins.hparams.api_pb2 import Status
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo
    info = SessionEndInfo(status=Status.Value(_SESSION_STATUS[status]),
                          end_time_secs=time.time() if finished is None else finished)
    summary = Summary()
    summary.value.add(tag=metadata.SESSION_END_INFO_TAG, tensor=metadata.NULL_TENSOR,
                      metadata=metadata.create_summary_metadata(
                          HParamsPluginData(session_end_info=info)))
    return summary


def experiment_summary(variants: list[dict], seeds, created: float | None = None):
    """The HParams experiment of a grid (``variants`` as ``run.json`` lists them): variant,
    seed, and every design axis that any of its runs names (the union, in the axis table's
    order), each with its domain; the metrics are the held-out means. ``seeds`` as
    :func:`harness.results.planned_runs` takes them."""
    from tensorboard.plugins.hparams import summary_v2 as hp

    from harness.design import AXES
    from harness.metrics import PER_STEP_METRICS
    from harness.schema import heldout_key

    named = set()
    for variant in variants:
        named.update(design_params(variant["name"], 0, variant.get("design") or {}))
    names = [str(v["name"]) for v in variants]
    all_seeds = sorted({int(seed) for _, seed in planned_runs(names, seeds)})
    hparams = [hp.HParam("variant", hp.Discrete(names, dtype=str)),
               hp.HParam("seed", hp.Discrete(all_seeds, dtype=int))]
    hparams += [hp.HParam(name, hp.Discrete([hparam_text(c) for c in axis.choices], dtype=str),
                          description=axis.doc)
                for name, axis in AXES.items() if name in named]
    metrics = [hp.Metric(heldout_key(m), display_name=heldout_key(m))
               for m in PER_STEP_METRICS]
    return hp.hparams_config_pb(hparams, metrics, time_created_secs=created)


def write_experiment(root: Path) -> Path:
    """``<root>/tensorboard/events.out.tfevents.experiment`` from the grid's ``run.json``,
    replaced atomically: runs starting in several processes at once write the same bytes."""
    import io

    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    root = Path(root)
    variants, seeds = listed_runs(root)
    created = read_json(RunPaths(root).run_json).get("written")
    summary = experiment_summary(variants, seeds, created)
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    wall = float(created or 0.0)
    writer.write(Event(wall_time=wall, file_version="brain.Event:2").SerializeToString())
    writer.write(Event(wall_time=wall, step=0, summary=summary).SerializeToString())
    path = root / "tensorboard" / EXPERIMENT_FILE
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _grid_root(folder: Path, variant: str, seed: int) -> Path | None:
    """The output folder whose events folder of (variant, seed) is ``folder``, if any."""
    folder = Path(folder)
    if len(folder.parents) < 3:
        return None
    paths = RunPaths(folder.parents[2])
    if paths.tensorboard_dir(variant, seed) != folder or not paths.run_json.is_file():
        return None
    return paths.root


def _grid_experiment(folder: Path, variant: str, seed: int) -> None:
    root = _grid_root(folder, variant, seed)
    if root is None:
        return
    try:
        write_experiment(root)
    except Exception as exc:  # the records are the result; a log is a copy of them
        warnings.warn(f"no HParams experiment in {root / 'tensorboard'} ({type(exc).__name__}: "
                      f"{exc}); --export-logs writes it later", stacklevel=2)


_checksums_checked = False


def _fast_checksums() -> None:
    """TensorBoard's record writer checksums every event with a pure-Python CRC-32C, about
    0.5 us a byte: most of what live events cost a training step (a step writes ~1 KB), and
    it holds the GIL the training thread needs. The ``crc32c`` package (part of the
    ``tensorboard`` extra) computes the same checksum in C; it replaces the pure-Python one
    in the record writer, once, after both agree on a probe. Without the package the events
    are the same, only slower to write."""
    global _checksums_checked
    if _checksums_checked:
        return
    _checksums_checked = True
    try:
        import crc32c
    except ImportError:
        return
    from tensorboard.summary.writer import record_writer
    original = record_writer.masked_crc32c

    def masked_crc32c(data) -> int:
        crc = crc32c.crc32c(data)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    probe = bytes(range(256)) * 3
    if all(masked_crc32c(probe[:n]) == original(probe[:n]) for n in (0, 1, 8, 13, 768)):
        record_writer.masked_crc32c = masked_crc32c


class RunEvents:
    """One run's events file. Opening it removes the folder's older events files: a run that
    is trained or exported again replaces its log instead of being drawn twice."""

    def __init__(self, folder: Path, flush_secs: float = FLUSH_SECS):
        from torch.utils.tensorboard.writer import FileWriter
        _fast_checksums()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(EVENTS_GLOB):
            old.unlink()
        self.folder = folder
        self.writer = FileWriter(str(folder), max_queue=100, flush_secs=flush_secs)
        self._started = False

    def start(self, variant: str, seed: int, design: dict, started: float | None) -> None:
        self.writer.add_summary(session_start(variant, seed, design, started), global_step=0,
                                walltime=started)
        self._started = True

    def scalars(self, rows, wall_times=None) -> None:
        """Rows of (step, metric, value): one event per step, steps in increasing order
        (a flush on CUDA holds 25 steps, whose timings come after their losses). A float64
        beyond float32's range becomes +-inf, as the protobuf runtime converts it."""
        from tensorboard.compat.proto.summary_pb2 import Summary
        if not all(a[0] <= b[0] for a, b in zip(rows, rows[1:])):
            order = sorted(range(len(rows)), key=lambda i: rows[i][0])
            rows = [rows[i] for i in order]
            wall_times = None if wall_times is None else [wall_times[i] for i in order]
        summary = step = walltime = add = None
        for i, (row_step, metric, value) in enumerate(rows):
            if row_step != step:
                if summary is not None:
                    self.writer.add_summary(summary, global_step=int(step), walltime=walltime)
                summary, step = Summary(), row_step
                walltime = None if wall_times is None else wall_times[i]
                add = summary.value.add
            add(tag=metric, simple_value=value)
        if summary is not None:
            self.writer.add_summary(summary, global_step=int(step), walltime=walltime)

    def end(self, status: str, finished: float | None) -> None:
        """The session's end, unless the run has none yet (still running, or killed)."""
        if status not in _SESSION_STATUS or not self._started:
            return
        self.writer.add_summary(session_end(status, finished), walltime=finished)

    def close(self) -> None:
        self.writer.close()


class LiveTensorBoard(Hooks):
    """Writes a run's rows as they are flushed. It reads them from the run's records rather
    than from ``after_flush``'s argument, so that rows flushed outside the hooks (the last
    ones, when the records close) are written too, by :meth:`finish`."""

    def __init__(self, folder: Path, records, variant: str, seed: int, design: dict,
                 started: float | None, flush_secs: float = FLUSH_SECS):
        self.records = records
        self.written = 0
        self.events = RunEvents(folder, flush_secs)
        self.events.start(variant, seed, design, started)
        _grid_experiment(folder, variant, seed)

    def after_flush(self, run, rows) -> None:
        self._write_new()

    def _write_new(self) -> None:
        rows = self.records.rows
        if len(rows) > self.written:
            self.events.scalars(rows[self.written:])
            self.written = len(rows)

    def finish(self, status: dict) -> None:
        """After the records are closed: the remaining rows, the session's end, the file."""
        try:
            self._write_new()
            self.events.end(status.get("status"), status.get("finished"))
        finally:
            self.events.close()


def export_run(run_dir: Path, folder: Path, variant: str | None = None,
               seed: int | None = None, design: dict | None = None) -> bool:
    """One run's events from its records on disk; False when there is nothing to write, or
    when the run is still "running" and already has events (a live writer may hold them)."""
    status = read_status(run_dir)
    if status is None:
        return False
    if status.get("status") == "running" and any(Path(folder).glob(EVENTS_GLOB)):
        return False
    steps = read_steps(run_dir)
    variant, seed = status.get("variant", variant), status.get("seed", seed)
    events = RunEvents(folder)
    try:
        events.start(variant, seed, status.get("design") or design or {},
                     status.get("started"))
        if steps is not None and len(steps):
            rows = list(zip(steps["step"].tolist(), steps["metric"].tolist(),
                            steps["value"].tolist()))
            events.scalars(rows, step_wall_times(status, steps["step"].tolist()))
        events.end(status.get("status"), status.get("finished"))
    finally:
        events.close()
    _grid_experiment(folder, variant, seed)
    return True


def export_tensorboard(root: Path) -> int:
    """Every listed run of an output folder; returns how many were written."""
    root = Path(root)
    variants, seeds = listed_runs(root)
    paths = RunPaths(root)
    designs = {variant["name"]: variant.get("design") for variant in variants}
    written = 0
    for name, seed in planned_runs(list(designs), seeds):
        written += export_run(paths.run_dir(name, seed), paths.tensorboard_dir(name, seed),
                              name, seed, designs[name])
    write_experiment(root)
    return written


def has_events(folder: Path) -> bool:
    return any(Path(folder).glob(EVENTS_GLOB))
