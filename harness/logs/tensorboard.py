"""TensorBoard: one run per (variant, seed) in ``<out>/tensorboard/<variant>/seed<k>/``.

Each run's folder holds its scalars (every row of its per-step records, tag = metric name,
so TensorBoard groups them by prefix: ``loss/``, ``grad_norm/``, ``probe/``, ``val/``,
``heldout/``) and the HParams plugin's entries: the experiment (one hyper-parameter per design
axis, with its domain, plus variant and seed; the held-out metrics) and the session's start
and end. The entries go through the run's own ``FileWriter`` rather than
``SummaryWriter.add_hparams``, which would put them in a sub-folder of their own, away from
the scalars the HParams table reads its metric columns from. Every run carries the same
experiment entry: the plugin takes the first one it finds.

Written live by :class:`LiveTensorBoard`, a hook that ``harness.execute.run_one`` attaches
in whichever process trains the run, or from the records on disk by :func:`export_run`
(``--export-logs``, and the driver under Ray, whose workers may share no file system with
it). Both write through :class:`RunEvents`. Values are float32 in the events file.
"""

from __future__ import annotations

import math
from pathlib import Path

from harness.logs.common import design_params, hparam_text, step_wall_times
from harness.results import RunPaths, listed_runs, planned_runs, read_status, read_steps
from harness.train import Hooks

#: Seconds between flushes of a live events file: TensorBoard itself reloads every 5 s.
FLUSH_SECS = 5.0
EVENTS_GLOB = "events.out.tfevents.*"

# harness status -> the HParams plugin's session status
_SESSION_STATUS = {"ok": "STATUS_SUCCESS", "diverged": "STATUS_FAILURE",
                   "failed": "STATUS_FAILURE", "interrupted": "STATUS_ABORTED"}


def open_command(root: Path) -> str:
    return f"tensorboard --logdir {Path(root) / 'tensorboard'}"


def hparams_summaries(variant: str, seed: int, design: dict, started: float | None):
    """The HParams plugin's experiment and session-start summaries of one run; the same
    experiment for every run of every grid (axes and their domains come from the axis table,
    metrics are the held-out means), so whichever the plugin reads first describes them all."""
    from torch.utils.tensorboard.summary import hparams

    from harness.design import AXES
    from harness.metrics import PER_STEP_METRICS
    from harness.schema import heldout_key

    params = design_params(variant, seed, design)
    domains = {name: [hparam_text(c) for c in axis.choices] for name, axis in AXES.items()
               if name in params}
    metrics = {heldout_key(m): math.nan for m in PER_STEP_METRICS}
    experiment, start, end = hparams(params, metrics, domains)
    if started is not None:
        _edit_plugin_data(start, lambda d: setattr(d.session_start_info, "start_time_secs",
                                                   float(started)))
    return experiment, start, end


def _edit_plugin_data(summary, change) -> None:
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData
    plugin_data = summary.value[0].metadata.plugin_data
    data = HParamsPluginData.FromString(plugin_data.content)
    change(data)
    plugin_data.content = data.SerializeToString()


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
        self._end = None

    def start(self, variant: str, seed: int, design: dict, started: float | None) -> None:
        experiment, start, self._end = hparams_summaries(variant, seed, design, started)
        self.writer.add_summary(experiment, global_step=0, walltime=started)
        self.writer.add_summary(start, global_step=0, walltime=started)

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
        if status not in _SESSION_STATUS or self._end is None:
            return
        from tensorboard.plugins.hparams.api_pb2 import Status

        def change(data):
            data.session_end_info.status = Status.Value(_SESSION_STATUS[status])
            if finished is not None:
                data.session_end_info.end_time_secs = float(finished)
        _edit_plugin_data(self._end, change)
        self.writer.add_summary(self._end, walltime=finished)

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
    events = RunEvents(folder)
    try:
        events.start(status.get("variant", variant), status.get("seed", seed),
                     status.get("design") or design or {}, status.get("started"))
        if steps is not None and len(steps):
            rows = list(zip(steps["step"].tolist(), steps["metric"].tolist(),
                            steps["value"].tolist()))
            events.scalars(rows, step_wall_times(status, steps["step"].tolist()))
        events.end(status.get("status"), status.get("finished"))
    finally:
        events.close()
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
    return written


def has_events(folder: Path) -> bool:
    return any(Path(folder).glob(EVENTS_GLOB))
