"""The review's code as written, run once per run on the run's own first batch.

The harness adapts three of the review's snippets so that they run at all (see the
deviations table, :mod:`harness.deviations`). Each check here runs the snippet literally, on
the model's own outputs for a real batch at the run's batch size and device, and records what
happened: ``ran``, ``raised`` (with the exception's type and message) or ``not run`` (with the
reason, e.g. a check that only means something on CUDA). The checks touch nothing the run
uses: no gradient, no parameter, and the random number generators are forked.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.model.heads import HEAD_HIDDEN

RAN, RAISED, NOT_RUN = "ran", "raised", "not run: needs CUDA"


def _outcome(fn) -> dict:
    try:
        detail = fn()
    except Exception as exc:   # the point of the check: record what the literal code raises
        return {"outcome": RAISED, "error": f"{type(exc).__name__}: {exc}".strip()}
    return {"outcome": RAN, "error": "", "detail": detail or ""}


def item_routing(action_logits: torch.Tensor) -> dict:
    """Section 4 of the review: ``if action_code.item() == 3: ... elif action_code.item() in
    {4,5,6,7,10,11}: ...`` on the predicted action codes of the whole batch."""
    action_code = action_logits.argmax(dim=-1)

    def literal():
        if action_code.item() == 3:
            return "query head only"
        elif action_code.item() in {4, 5, 6, 7, 10, 11}:
            return "coordinate head only"
        return "neither head"

    return _outcome(literal)


def mlp_input_width(head_input: torch.Tensor) -> dict:
    """Section 1: ``nn.Linear(bert_output_size + self.lstm_hidden_size, lstm_hidden_size)`` as
    the first layer of the MLP coordinate head, fed what the fixed design feeds it: the
    per-head projection's output, ``bert_output_size`` wide."""
    bert_output_size = head_input.shape[-1]
    lstm_hidden_size = HEAD_HIDDEN

    def literal():
        gesture_coord = nn.Sequential(
            nn.Linear(bert_output_size + lstm_hidden_size, lstm_hidden_size), nn.ReLU(),
            nn.Linear(lstm_hidden_size, 4), nn.Sigmoid()).to(head_input.device)
        return f"output shape {tuple(gesture_coord(head_input).shape)}"

    return _outcome(literal)


def isin_cpu_codes(action_labels: torch.Tensor) -> dict:
    """Section 2: ``torch.isin(targets['action_labels'], torch.tensor([4,5,6,7,10,11]))``, the
    code set built on the CPU. On the CPU it cannot fail; it means something on CUDA only."""
    if action_labels.device.type != "cuda":
        return {"outcome": NOT_RUN, "error": "the labels are on the CPU, where a CPU code set "
                                             "cannot mismatch"}

    def literal():
        mask = torch.isin(action_labels, torch.tensor([4, 5, 6, 7, 10, 11]))
        return f"{int(mask.sum())} of {len(mask)} rows in the gesture set"

    return _outcome(literal)


#: name -> (the review's code, what the check feeds it)
CHECKS = {
    "item_routing": "if action_code.item() == 3: ... elif action_code.item() in {4,5,6,7,10,11}:",
    "mlp_input_width": "nn.Linear(bert_output_size + self.lstm_hidden_size, lstm_hidden_size)",
    "isin_cpu_codes": "torch.isin(targets['action_labels'], torch.tensor([4,5,6,7,10,11]))",
}


@torch.no_grad()
def literal_checks(model, batch: dict, outputs: dict) -> dict[str, dict]:
    """Every check on one real batch: ``{name: {"outcome", "error", "batch_size", ...}}``."""
    devices = [batch["action"].device] if batch["action"].device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        pooled, _ = model.encode(batch["input_ids"], batch["attention_mask"])
        head_input = (model.projections["coord"](pooled) if model.projections is not None
                      else pooled)
        results = {"item_routing": item_routing(outputs["action_logits"].detach()),
                   "mlp_input_width": mlp_input_width(head_input),
                   "isin_cpu_codes": isin_cpu_codes(batch["action"])}
    size = int(batch["action"].shape[0])
    device = str(batch["action"].device)
    return {name: {**result, "code": CHECKS[name], "batch_size": size, "device": device}
            for name, result in results.items()}
