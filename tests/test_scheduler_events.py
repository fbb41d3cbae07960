"""The epoch schedulers' record of learning-rate changes (``EpochSchedulers.events``): a NaN
validation loss is never an improvement, so ReduceLROnPlateau cuts the rate once its patience
(10 epochs) runs out, and with the per-epoch warmup LambdaLR rewrites that cut at once. Checked
on the schedulers alone and end to end, from training through to the report."""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest
import torch

import variants
from harness import actions
from harness.config import DataSettings, Settings
from harness.prepare import encode_dataset
from harness.encoders import resolve_encoder
from harness.report import build_report
from harness.runner import run_grid
from harness.schedules import EpochSchedulers, warmup_factor
from harness.train import TrainSettings
from tests.conftest import TINY_ENCODER, toy_dataset

BASE_LR = 1e-3
PLATEAU = "ReduceLROnPlateau"
WARMUP = "LambdaLR warmup"
#: ReduceLROnPlateau's defaults: patience 10, factor 0.1. The cut comes when the count of bad
#: epochs exceeds the patience, i.e. at the 11th bad epoch end: epoch index 10 from 0.
FIRST_CUT_EPOCH = 10


def schedulers(warmup: str) -> EpochSchedulers:
    model = torch.nn.Linear(1, 1, bias=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=BASE_LR)
    return EpochSchedulers(optimizer, warmup)


def run_epochs(s: EpochSchedulers, losses, steps_per_epoch: int = 3) -> list[float]:
    """End one epoch per loss; the learning rate after each epoch end."""
    lrs = []
    with warnings.catch_warnings():
        # LambdaLR.step() before any optimizer.step(): expected here, no training happens.
        warnings.simplefilter("ignore", UserWarning)
        for epoch, loss in enumerate(losses):
            s.end_epoch(loss, epoch, steps_per_epoch * (epoch + 1))
            lrs.append(s.lr())
    return lrs


def plateau_events(s: EpochSchedulers) -> list[dict]:
    return [e for e in s.events if e["scheduler"] == PLATEAU]


def test_nan_losses_cut_once_at_epoch_10_without_warmup():
    s = schedulers("none")
    lrs = run_epochs(s, [math.nan] * 12)
    (cut,) = plateau_events(s)
    assert cut["epoch"] == FIRST_CUT_EPOCH
    assert cut["step"] == 3 * (FIRST_CUT_EPOCH + 1)
    assert cut["cause"] == "validation loss NaN"
    assert cut["val_loss_finite"] is False and math.isnan(cut["val_loss"])
    assert cut["lr_before"] == pytest.approx(BASE_LR)
    assert cut["lr_after"] == pytest.approx(BASE_LR * 0.1)
    assert cut["undone_by_warmup"] is False
    # nothing but that cut: no warmup events without a warmup
    assert len(s.events) == 1
    assert lrs[:FIRST_CUT_EPOCH] == pytest.approx([BASE_LR] * FIRST_CUT_EPOCH)
    assert lrs[FIRST_CUT_EPOCH:] == pytest.approx([BASE_LR * 0.1] * 2)


def test_ten_nan_epochs_are_not_enough_for_a_cut():
    s = schedulers("none")
    run_epochs(s, [math.nan] * FIRST_CUT_EPOCH)
    assert s.events == []
    assert s.lr() == pytest.approx(BASE_LR)


def test_none_counts_as_nan():
    s = schedulers("none")
    run_epochs(s, [None] * 11)
    (cut,) = plateau_events(s)
    assert cut["epoch"] == FIRST_CUT_EPOCH and cut["cause"] == "validation loss NaN"


def test_warmup_undoes_the_cut_at_once():
    s = schedulers("epoch10")
    lrs = run_epochs(s, [math.nan] * 12)
    (cut,) = plateau_events(s)
    assert cut["epoch"] == FIRST_CUT_EPOCH
    assert cut["cause"] == "validation loss NaN"
    assert cut["lr_before"] == pytest.approx(BASE_LR)
    assert cut["lr_after"] == pytest.approx(BASE_LR * 0.1)
    assert cut["undone_by_warmup"] is True
    # after that epoch end LambdaLR has rewritten the rate to base * factor(epoch + 1) = base
    assert lrs[FIRST_CUT_EPOCH] == pytest.approx(BASE_LR * warmup_factor(FIRST_CUT_EPOCH + 1))
    assert lrs[FIRST_CUT_EPOCH] == pytest.approx(BASE_LR)
    # the warmup event of the same epoch end restores the rate from the cut value
    same_epoch = [e for e in s.events if e["epoch"] == FIRST_CUT_EPOCH]
    assert [e["scheduler"] for e in same_epoch] == [PLATEAU, WARMUP]
    assert same_epoch[1]["lr_before"] == pytest.approx(BASE_LR * 0.1)
    assert same_epoch[1]["lr_after"] == pytest.approx(BASE_LR)


def test_warmup_events_carry_their_cause():
    s = schedulers("epoch10")
    assert s.lr() == 0.0            # LambdaLR sets base * 0 when it is built
    lrs = run_epochs(s, [1.0 / (e + 1) for e in range(12)])     # improving: no plateau cut
    assert plateau_events(s) == []
    warm = [e for e in s.events if e["scheduler"] == WARMUP]
    # epoch ends 0..9 raise the rate by base/10 each; from then on it stays at base
    assert [e["epoch"] for e in warm] == list(range(10))
    assert all(e["cause"] == "warmup factor min(1, epoch / 10)" for e in warm)
    assert all(e["undone_by_warmup"] is False and e["val_loss_finite"] for e in warm)
    assert warm[0]["lr_before"] == 0.0
    for e in warm:
        assert e["lr_after"] == pytest.approx(BASE_LR * warmup_factor(e["epoch"] + 1))
    assert lrs[9:] == pytest.approx([BASE_LR] * 3)


def test_improving_losses_make_no_plateau_event():
    s = schedulers("none")
    run_epochs(s, [1.0 / (e + 1) for e in range(25)])
    assert s.events == []
    assert s.lr() == pytest.approx(BASE_LR)


def test_a_finite_plateau_is_told_apart_from_nan():
    s = schedulers("none")
    run_epochs(s, [1.0] * 12)        # first epoch is the best; then 10 without improvement
    (cut,) = plateau_events(s)
    assert cut["epoch"] == 11
    assert cut["cause"] == "no improvement for 10 epochs"
    assert cut["val_loss_finite"] is True


def test_unknown_warmup_is_refused():
    from harness.axes import AxisMismatch
    with pytest.raises(AxisMismatch, match="warmup='linear' has no implementation"):
        schedulers("linear")


# --------------------------------------------------------------------------- end to end

BATCH = 4
TRAIN_STEPS = 12         # two toy episodes: 3 batches of 4 per epoch
EPOCHS = 12              # one more than the plateau patience allows
INTEGRATION = Settings(
    data=DataSettings(vocab_size=200, max_length=32, val_fraction=0.1, train_size=TRAIN_STEPS),
    train=TrainSettings(steps=EPOCHS * (TRAIN_STEPS // BATCH), batch_size=BATCH),
    encoder=TINY_ENCODER, seeds=(0,), device="cpu")


@pytest.mark.slow
def test_nan_validation_loss_cut_is_trained_recorded_and_reported(tmp_path):
    data = encode_dataset(toy_dataset(), INTEGRATION.data, resolve_encoder(TINY_ENCODER))
    assert len(data.train) == TRAIN_STEPS
    # The validation split is scored in batches of BATCH in order: at least one of them has
    # no TYPE step, so the standard loss's query term (and the total) is NaN at every epoch end.
    val_actions = data.val.action.tolist()
    chunks = [val_actions[i:i + BATCH] for i in range(0, len(val_actions), BATCH)]
    assert any(actions.TYPE not in c for c in chunks), val_actions

    variant = variants.get_variant("fixed-warmup")
    assert variant.design.loss == "standard" and variant.design.warmup == "none"
    summary = run_grid(INTEGRATION, [variant], tmp_path, show_progress=False, data=data)
    assert list(summary.status) == ["ok"]

    steps = pd.read_csv(tmp_path / "steps.csv")
    val_loss = steps[steps.metric == "val/val_loss"].sort_values("step")
    assert len(val_loss) == EPOCHS and val_loss.value.isna().all()

    build_report(tmp_path)
    events = pd.read_csv(tmp_path / "tables" / "scheduler_events.csv")
    cuts = events[events.scheduler == PLATEAU]
    assert len(cuts) == 1
    cut = cuts.iloc[0]
    assert cut.variant == "fixed-warmup" and cut.seed == 0
    assert cut.cause == "validation loss NaN"
    assert cut.epoch == FIRST_CUT_EPOCH
    assert cut.step == (FIRST_CUT_EPOCH + 1) * (TRAIN_STEPS // BATCH)
    assert cut.lr_before == pytest.approx(INTEGRATION.train.lr)
    assert cut.lr_after == pytest.approx(INTEGRATION.train.lr * 0.1)
    assert not cut.undone_by_warmup
    # and the learning rate the steps recorded after that epoch end is the cut rate
    lr = steps[steps.metric == "lr"].set_index("step").value
    assert lr[cut.step - 1] == pytest.approx(INTEGRATION.train.lr)
    assert lr[cut.step] == pytest.approx(INTEGRATION.train.lr * 0.1)

    findings = pd.read_csv(tmp_path / "tables" / "findings.csv")
    texts = " ".join(findings.text)
    assert "cut the learning rate 10x" in texts
    assert f"at the end of epoch {FIRST_CUT_EPOCH}" in texts
    assert "NaN at 100% of epoch ends" in texts
    page = (tmp_path / "index.html").read_text()
    assert "cut the learning rate 10x" in page
    assert "validation loss NaN" in page
    # every finding's evidence link lands on an element of the page
    for link in findings.link:
        assert f'id="{link}"' in page, link
