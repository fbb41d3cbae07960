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


def warmup_factor(epoch: int) -> float:
    return min(1.0, epoch / 10)


class EpochSchedulers:
    def __init__(self, optimizer, warmup: str):
        self.optimizer = optimizer
        self.plateau = ReduceLROnPlateau(optimizer)
        if warmup == "epoch10":
            self.warmup = LambdaLR(optimizer, lr_lambda=warmup_factor)
        elif warmup == "none":
            self.warmup = None
        else:
            raise ValueError(f"unknown warmup {warmup!r}")

    def end_epoch(self, val_loss: float) -> None:
        # ReduceLROnPlateau compares with `<`, so a NaN validation loss counts as no improvement.
        self.plateau.step(val_loss if val_loss is not None else math.nan)
        if self.warmup is not None:
            self.warmup.step()

    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])
