"""What both log targets share: the targets and the extras that install them, a run's
hyper-parameters as both tools show them, and clock times for exported rows."""

from __future__ import annotations

import importlib.util

from harness.errors import HarnessInputError

#: --log targets, and the pip extra that installs what each one needs.
TARGETS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}
_MODULES = {"tensorboard": ("tensorboard",), "mlflow": ("mlflow", "sqlalchemy", "alembic")}


def require(targets) -> tuple[str, ...]:
    """The targets, checked before any training: an unknown name or a missing package is an
    error naming the pip extra now, not after hours of training."""
    targets = tuple(dict.fromkeys(targets or ()))
    for target in targets:
        if target not in TARGETS:
            raise HarnessInputError(f"unknown log target {target!r}; expected one of "
                                    f"{', '.join(TARGETS)}")
        missing = [m for m in _MODULES[target] if importlib.util.find_spec(m) is None]
        if missing:
            raise HarnessInputError(
                f"--log {target} needs {', '.join(missing)}: pip install -e "
                f"'.[{TARGETS[target]}]' (the optional extra {TARGETS[target]!r})")
    return targets


def hparam_text(value) -> str:
    """An axis value as the text both tools show and filter by: one type per axis, so that a
    value with no number (no clipping) sits in the same column as the numbers."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def design_params(variant: str, seed: int, design: dict) -> dict:
    """The run's hyper-parameters: its variant, its seed (an integer) and one entry per
    design axis, in the axis table's order (``harness.design.AXES``), so that every run of a
    grid has every column. An axis the review does not have is left out of a recorded design
    at its original value (``Design.to_dict``), so a run that does not name it has that
    value; an axis of the review that the records do not name (records made before the axis
    existed) is left out rather than guessed."""
    from harness.design import AXES
    params = {"variant": variant, "seed": int(seed)}
    for name, axis in AXES.items():
        if name in design:
            params[name] = hparam_text(design[name])
        elif not axis.in_review:
            params[name] = hparam_text(axis.original)
    return params


def step_wall_times(status: dict, steps) -> list[float]:
    """Wall-clock seconds for exported rows, whose records keep no clock: spread evenly over
    the run's start and end, so that relative-time axes still read sensibly."""
    started = status.get("started")
    finished = status.get("finished") or started
    steps = [int(s) for s in steps]
    if started is None:
        return [0.0] * len(steps)
    last = max(steps, default=0) or 1
    return [started + (finished - started) * s / last for s in steps]
