"""One progress bar over the whole grid: the current run, its per-head losses and an ETA."""

from __future__ import annotations

import math
import sys

from tqdm.auto import tqdm


class GridProgress:
    def __init__(self, n_runs: int, steps_per_run: int, enabled: bool = True):
        self.n_runs = n_runs
        self.steps_per_run = steps_per_run
        self.bar = tqdm(total=n_runs * steps_per_run, unit="step", dynamic_ncols=True,
                        disable=not enabled or n_runs == 0, file=sys.stderr,
                        bar_format="{desc} {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt} "
                                   "[{elapsed}<{remaining}, {rate_fmt}]{postfix}")
        self._done_in_run = 0
        self._base = 0

    def start_run(self, index: int, variant: str, seed: int) -> None:
        self._base = index * self.steps_per_run
        self._done_in_run = 0
        self.bar.set_description_str(f"run {index + 1}/{self.n_runs} {variant} seed{seed}")

    def on_step(self, step: int, losses: dict) -> None:
        self.bar.update(step - self._done_in_run)
        self._done_in_run = step
        self.bar.set_postfix_str(" ".join(f"{k}={_fmt(v)}" for k, v in losses.items()),
                                 refresh=False)

    def end_run(self, status: dict) -> None:
        # A run that stops early (diverged, failed) still counts as done for the ETA.
        self.bar.update(self.steps_per_run - self._done_in_run)
        if status.get("status") != "ok":
            self.bar.write(f"{status.get('variant')} seed{status.get('seed')}: "
                           f"{status.get('status')}: {status.get('message', '')}")

    def close(self) -> None:
        self.bar.close()


def _fmt(value: float) -> str:
    return "nan" if value is None or math.isnan(value) else f"{value:.3g}"
