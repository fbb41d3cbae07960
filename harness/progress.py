"""One progress bar over the whole grid: the current runs, their per-head losses and an ETA.

On a terminal (or in a notebook) the bar redraws itself; when the output goes to a file or
a pipe, where each redraw would be one more carriage return on one endless line, tqdm's own
check of the stream (``disable=None``) turns the bar off and a line is printed per finished
run instead."""

from __future__ import annotations

import math
import sys

from tqdm.auto import tqdm


class GridProgress:
    """Counts optimizer steps over all runs; several runs may be in flight (``--jobs``)."""

    def __init__(self, n_runs: int, steps_per_run: int, enabled: bool = True):
        self.n_runs = n_runs
        self.steps_per_run = steps_per_run
        shown = enabled and n_runs > 0
        # None: tqdm decides, and leaves the bar out when stderr is not a terminal
        self.bar = tqdm(total=n_runs * steps_per_run, unit="step", dynamic_ncols=True,
                        disable=None if shown else True, file=sys.stderr,
                        bar_format="{desc} {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt} "
                                   "[{elapsed}<{remaining}, {rate_fmt}]{postfix}")
        #: no terminal: one plain line per finished run, ok ones too
        self.lines = shown and self.bar.disable
        self._done: dict[int, int] = {}
        self._names: dict[int, str] = {}
        self._finished = 0

    def start_run(self, index: int, variant: str, seed: int) -> None:
        self._done[index] = 0
        self._names[index] = f"{variant} seed{seed}"
        self._describe()

    def on_step(self, index: int, step: int, losses: dict) -> None:
        self.bar.update(step - self._done.get(index, 0))
        self._done[index] = step
        self.bar.set_postfix_str(" ".join(f"{k}={_fmt(v)}" for k, v in losses.items()),
                                 refresh=False)

    def end_run(self, index: int, status: dict) -> None:
        # A run that stops early (diverged, failed) still counts as done for the ETA.
        self.bar.update(self.steps_per_run - self._done.pop(index, 0))
        self._names.pop(index, None)
        self._finished += 1
        if self.lines:
            print(finished_line(status, self._finished, self.n_runs), file=sys.stderr,
                  flush=True)
        elif status.get("status") != "ok":
            self.bar.write(f"{status.get('variant')} seed{status.get('seed')}: "
                           f"{status.get('status')}: {status.get('message', '')}")
        self._describe()

    def _describe(self) -> None:
        running = ", ".join(self._names.values())
        self.bar.set_description_str(f"runs {self._finished}/{self.n_runs} | {running}"
                                     if running else f"runs {self._finished}/{self.n_runs}")

    def close(self) -> None:
        self.bar.close()


def finished_line(status: dict, finished: int, n_runs: int) -> str:
    """``run 3/8 original seed1: ok, 200 steps in 41 s``, with the message of a run that
    did not end ok."""
    line = (f"run {finished}/{n_runs} {status.get('variant')} seed{status.get('seed')}: "
            f"{status.get('status')}")
    steps, seconds = status.get("steps_done"), status.get("train_seconds")
    if steps is not None:
        line += f", {steps} steps"
        if seconds is not None:
            line += f" in {seconds:.1f} s" if seconds < 10 else f" in {seconds:.0f} s"
    if status.get("status") != "ok" and status.get("message"):
        line += ": " + " ".join(str(status["message"]).split())    # one line, whatever it holds
    return line


def _fmt(value: float) -> str:
    return "nan" if value is None or math.isnan(value) else f"{value:.3g}"
