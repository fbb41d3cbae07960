"""The design's forward pass and loss on one batch, shared by training, validation and
held-out scoring, so that a validation loss is the training loss on other data. Only training
hands the targets to the model (``training=True``): the values that train on them (routing by
the target action, teacher forcing) must not see them when a model is evaluated, so
evaluation routes by the predicted action and decodes greedily."""

from __future__ import annotations

import torch

from harness.data.tensors import design_targets
from harness.data.types import Units
from harness.losses import design_loss
from harness.precision import autocast, to_fp32


def forward_and_loss(model, batch: dict, units: Units, device: torch.device,
                     precision: str = "fp32", training: bool = False) -> tuple[dict, dict]:
    """Outputs (autocast when the run asks for bf16, then fp32) and the design's loss terms,
    in fp32, on a batch already on the device; targets in the design's coordinate units.
    ``training``: the model also gets the batch's target action and tokens."""
    design = model.design
    seen = ({"action": batch["action"], "query_labels": batch["query_labels"]} if training
            else None)
    with autocast(device, precision):
        outputs = model(batch["input_ids"], batch["attention_mask"], targets=seen)
    outputs = to_fp32(outputs)
    targets = {**batch, **design_targets(batch, units, design.coord_units)}
    return outputs, design_loss(design, outputs, targets)
