"""Learning-rate schedules, stepped once per epoch as the user's trainer steps them.

Both designs step ``ReduceLROnPlateau`` on the validation loss; the ``warmup`` axis adds the
review's ``LambdaLR(lambda epoch: min(1.0, epoch / 10))``. Reproduced as stated:
``LambdaLR`` sets the rate to ``base * 0 = 0`` when it is built, so nothing is learned during
the first epoch, and full rate is reached only at epoch 10. Order at an epoch's end: the
plateau scheduler first, then the warmup, whose ``step`` rewrites every group's rate to
``base * factor`` and so undoes any plateau reduction while it runs.
"""

from __future__ import annotations

import math

from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from harness.axes import AxisRegistry


def warmup_factor(epoch: int) -> float:
    return min(1.0, epoch / 10)


#: The ``warmup`` axis: optimizer -> the epoch-stepped warmup scheduler, or None.
WARMUPS = AxisRegistry("warmup")
WARMUPS.register("none", lambda optimizer: None)
WARMUPS.register("epoch10", lambda optimizer: LambdaLR(optimizer, lr_lambda=warmup_factor))
WARMUPS.check()


class EpochSchedulers:
    """The epoch-end schedulers of a design, and a record of every learning-rate change they
    make (``events``): which scheduler, at which epoch and step, why (the validation loss it
    saw, NaN or not), and whether the warmup rewrote a plateau cut straight away."""

    def __init__(self, optimizer, warmup: str):
        self.optimizer = optimizer
        self.plateau = ReduceLROnPlateau(optimizer)
        self.events: list[dict] = []
        self.warmup = WARMUPS[warmup](optimizer)

    def end_epoch(self, val_loss: float, epoch: int = 0, step: int = 0) -> None:
        loss = val_loss if val_loss is not None else math.nan
        before = self.lr()
        # ReduceLROnPlateau compares with `<`, so a NaN validation loss counts as no improvement.
        self.plateau.step(loss)
        after_plateau = self.lr()
        if self.warmup is not None:
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
