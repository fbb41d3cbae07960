"""The design's forward pass and loss on one batch, shared by training, validation and
held-out scoring, so that a validation loss is the training loss on other data."""

from __future__ import annotations

import torch

from harness.data.tensors import design_targets
from harness.data.types import Units
from harness.losses import LOSSES
from harness.precision import autocast, to_fp32


def forward_and_loss(model, batch: dict, units: Units, device: torch.device,
                     precision: str = "fp32") -> tuple[dict, dict]:
    """Outputs (autocast when the run asks for bf16, then fp32) and the design's loss terms,
    in fp32, on a batch already on the device; targets in the design's coordinate units."""
    design = model.design
    with autocast(device, precision):
        outputs = model(batch["input_ids"], batch["attention_mask"])
    outputs = to_fp32(outputs)
    targets = {**batch, **design_targets(batch, units, design.coord_units)}
    return outputs, LOSSES[design.loss](outputs, targets)
