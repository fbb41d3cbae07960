"""Held-out evaluation: the design's own validation loss (what ReduceLROnPlateau sees) and the
task metrics of AitW action matching, with predictions converted to AitW's convention."""

from __future__ import annotations

import torch

from harness import actions
from harness.data.tensors import EncodedSplit, boxes_to_aitw, design_divisor, to_aitw_yx
from harness.data.types import Units
from harness.forward import forward_and_loss
from harness.metrics import Predictions, Targets, per_step_scores, task_metrics


def split_targets(split: EncodedSplit, units: Units) -> Targets:
    """The split's true actions in AitW's convention: (y, x) points and (y, x, h, w) boxes as
    screen fractions, whatever the data's units."""
    scale = units.scale()
    touch = split.touch.numpy()
    lift = split.lift.numpy()
    no_point = split.action.numpy() != actions.DUAL_POINT
    touch_yx, lift_yx = to_aitw_yx(touch, scale), to_aitw_yx(lift, scale)
    # AitW keeps (-1, -1) for "no point" whatever the units; keep the sentinel as it is.
    touch_yx[no_point] = -1.0
    lift_yx[no_point] = -1.0
    boxes = [boxes_to_aitw(split.boxes[i, :int(split.box_count[i])].numpy(), scale)
             for i in range(len(split))]
    return Targets(action_type=split.action.numpy().copy(), touch_yx=touch_yx, lift_yx=lift_yx,
                   text=list(split.target_text), boxes=boxes)


def decode_text(token_ids: torch.Tensor, tokenizer) -> str:
    """Greedy decoder output -> text: stop at the first [SEP] or padding, drop specials."""
    ids = []
    for token in token_ids.tolist():
        if token in (tokenizer.sep_token_id, tokenizer.pad_token_id, 0):
            break
        ids.append(token)
    return tokenizer.decode(ids, skip_special_tokens=True)


@torch.no_grad()
def evaluate(model, split: EncodedSplit, targets: Targets, units: Units, tokenizer,
             batch_size: int, device: torch.device, trim_padding: bool = True,
             precision: str = "fp32", scores_out: dict | None = None,
             predictions_out: list | None = None) -> dict[str, float]:
    """Validation loss (mean over steps of the design's loss terms) and task metrics; with
    ``scores_out``, also each step's score behind each metric (``per_step_scores``); with
    ``predictions_out``, the :class:`Predictions` is appended to it."""
    design = model.design
    was_training = model.training
    model.eval()
    sums = {"action": 0.0, "query": 0.0, "coord": 0.0, "total": 0.0}
    pred_type, pred_coords, texts = [], [], []
    for start in range(0, len(split), batch_size):
        index = torch.arange(start, min(start + batch_size, len(split)))
        batch = {k: v.to(device) for k, v in split.batch(index, trim_padding).items()}
        outputs, losses = forward_and_loss(model, batch, units, device, precision)
        for name in sums:
            sums[name] += float(losses[name]) * len(index)
        predicted = outputs["action_logits"].argmax(dim=-1).cpu()
        pred_type.append(predicted)
        pred_coords.append(outputs["coordinates"].float().cpu())
        query_ids = outputs["query_logits"].argmax(dim=-1).cpu()
        rows = outputs["query_rows"]
        rows = rows.cpu() if rows is not None else torch.ones(len(index), dtype=torch.bool)
        texts.extend(decode_text(query_ids[i], tokenizer) if rows[i] else ""
                     for i in range(len(index)))
    if was_training:
        model.train()

    coords = torch.cat(pred_coords).numpy()
    # Coordinates leave the head in the design's units; undo its division, then go to AitW's.
    sx, sy = design_divisor(units, design.coord_units)
    sx0, sy0 = units.scale()
    divisor = (sx0 / sx, sy0 / sy)
    predictions = Predictions(action_type=torch.cat(pred_type).numpy(),
                              touch_yx=to_aitw_yx(coords[:, :2], divisor),
                              lift_yx=to_aitw_yx(coords[:, 2:], divisor), text=texts)
    metrics = task_metrics(predictions, targets)
    if predictions_out is not None:
        predictions_out.append(predictions)
    if scores_out is not None:
        scores_out.update(per_step_scores(predictions, targets))
    n = max(len(split), 1)
    metrics.update({f"val_loss/{name}" if name != "total" else "val_loss": value / n
                    for name, value in sums.items()})
    return metrics
