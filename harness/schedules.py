"""Learning-rate schedules, stepped once per epoch as the user's trainer steps them, and a
per-step warmup that is not in the review.

Both designs step ``ReduceLROnPlateau`` on the validation loss; the ``warmup`` axis adds the
review's ``LambdaLR(lambda epoch: min(1.0, epoch / 10))``. Reproduced as stated:
``LambdaLR`` sets the rate to ``base * 0 = 0`` when it is built, so nothing is learned during
the first epoch, and full rate is reached only at epoch 10. Order at an epoch's end: the
plateau scheduler first, then the warmup, whose ``step`` rewrites every group's rate to
``base * factor`` and so undoes any plateau reduction while it runs.

The corrected value ``linear_steps:N`` warms up over optimizer steps instead: step ``s``
(from 0) runs at ``base * min(1, (s + 1) / N)``, so the first step already learns and full
rate comes after N steps; once there it stops stepping, so it never undoes a plateau cut.
"""

from __future__ import annotations

import math

from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from harness.axes import AxisRegistry
from harness.design import AXES


def warmup_factor(epoch: int) -> float:
    return min(1.0, epoch / 10)


class EpochWarmup:
    """The review's warmup: LambdaLR stepped at every epoch end."""

    per_step = False

    def __init__(self, optimizer):
        self.scheduler = LambdaLR(optimizer, lr_lambda=warmup_factor)

    def step(self) -> None:
        self.scheduler.step()


class LinearStepWarmup:
    """Linear warmup over the first ``steps`` optimizer steps, stepped after each of them."""

    per_step = True

    def __init__(self, optimizer, steps: int):
        if steps < 1:
            raise ValueError(f"a linear warmup needs at least 1 step, got {steps}")
        self.steps = steps
        # LambdaLR's counter is the number of optimizer steps done: step s runs at factor(s).
        self.scheduler = LambdaLR(optimizer, lr_lambda=self.factor)

    def factor(self, done: int) -> float:
        return min(1.0, (done + 1) / self.steps)

    @property
    def done(self) -> bool:
        return self.scheduler.last_epoch >= self.steps - 1

    def step(self) -> None:
        if not self.done:
            self.scheduler.step()


LINEAR_STEPS = "linear_steps:"


def linear_steps(value: str) -> int:
    """The number of warmup steps of a ``linear_steps:N`` value."""
    return int(value[len(LINEAR_STEPS):])


#: The ``warmup`` axis: optimizer -> the warmup (per epoch or per step), or None. Every
#: ``linear_steps:N`` value of the axis table is bound here, so a new N is a table edit.
WARMUPS = AxisRegistry("warmup")
WARMUPS.register("none", lambda optimizer: None)
WARMUPS.register("epoch10", EpochWarmup)
for _value in AXES["warmup"].choices:
    if isinstance(_value, str) and _value.startswith(LINEAR_STEPS):
        WARMUPS.register(_value, lambda optimizer, n=linear_steps(_value):
                         LinearStepWarmup(optimizer, n))
WARMUPS.check()


class EpochSchedulers:
    """The schedulers of a design, stepped at epoch ends (and after every optimizer step, for
    a per-step warmup), and a record of every learning-rate change they make (``events``):
    which scheduler, at which epoch and step, why (the validation loss it saw, NaN or not),
    and whether the warmup rewrote a plateau cut straight away."""

    def __init__(self, optimizer, warmup: str):
        self.optimizer = optimizer
        self.plateau = ReduceLROnPlateau(optimizer)
        self.events: list[dict] = []
        self.warmup = WARMUPS[warmup](optimizer)

    def end_step(self, step: int, epoch: int = 0) -> None:
        """After optimizer step ``step`` (from 0): a per-step warmup moves the rate; nothing
        else does, so a design without one gets the same steps as before it existed."""
        if self.warmup is None or not self.warmup.per_step or self.warmup.done:
            return
        before = self.lr()
        self.warmup.step()
        after = self.lr()
        if after != before:
            # no validation loss is involved: the event has none
            self.events.append({"epoch": epoch, "step": step + 1, "scheduler": "linear warmup",
                                "cause": f"linear warmup over {self.warmup.steps} steps",
                                "lr_before": before, "lr_after": after,
                                "undone_by_warmup": False})

    def end_epoch(self, val_loss: float, epoch: int = 0, step: int = 0) -> None:
        loss = val_loss if val_loss is not None else math.nan
        before = self.lr()
        # ReduceLROnPlateau compares with `<`, so a NaN validation loss counts as no improvement.
        self.plateau.step(loss)
        after_plateau = self.lr()
        if self.warmup is not None and not self.warmup.per_step:
            self.warmup.step()
        after = self.lr()
        common = {"epoch": epoch, "step": step, "val_loss": loss,
                  "val_loss_finite": math.isfinite(loss)}
        if after_plateau != before:
            self.events.append({**common, "scheduler": "ReduceLROnPlateau",
                                "cause": "validation loss NaN" if not math.isfinite(loss)
                                         else "no improvement for 10 epochs",
                                "lr_before": before, "lr_after": after_plateau,
                                "undone_by_warmup": self.warmup is not None
                                                    and after >= before})
        if after != after_plateau:
            self.events.append({**common, "scheduler": "LambdaLR warmup",
                                "cause": "warmup factor min(1, epoch / 10)",
                                "lr_before": after_plateau, "lr_after": after,
                                "undone_by_warmup": False})

    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])
