"""The vocabulary of the records: the names that the trainer and the instruments write and the
report, the exporters and the tests read. Defined once here, without torch, so that a record
key is never typed again as a string literal in another layer.

Per-step record keys (``steps.csv``: step, metric, value), written by the training loop:

- ``loss/<term>`` for each of :data:`LOSS_TERMS`; ``lr``; ``grad_norm`` (global, before
  clipping); ``clipped`` (1 when clipping changed the gradient); ``skipped/<head>`` (the
  per-head backward skipped a non-finite term); ``val/<metric>`` at each validation;
  ``heldout/<metric>`` once, at the last step.

Each instrument declares the keys it adds (:mod:`harness.instruments.registry`).
"""

from __future__ import annotations

import itertools

#: The model's heads, in the order their losses are computed and back-propagated.
HEADS = ("action", "query", "coord")
#: Loss terms recorded every step: one per head and their weighted total.
LOSS_TERMS = (*HEADS, "total")
#: The pairs of heads compared at probe steps, as named in the records ("action-query", ...).
HEAD_PAIRS = tuple(itertools.combinations(HEADS, 2))
PAIR_NAMES = tuple(f"{a}-{b}" for a, b in HEAD_PAIRS)
#: Module groups, the unit of the gradient-norm instruments: each is the model attribute of
#: that name (:meth:`harness.model.agent.AgentModel.module_groups`).
MODULE_GROUPS = ("encoder", "post_norm", "projections", "action_head", "query_decoder",
                 "coord_head")
#: Groups every head's gradient flows through.
SHARED_GROUPS = ("encoder", "post_norm")

# Per-step keys of the training loop.
LR = "lr"
GRAD_NORM = "grad_norm"
CLIPPED = "clipped"


def loss_key(term: str) -> str:
    return f"loss/{term}"


def skipped_key(head: str) -> str:
    return f"skipped/{head}"


def val_key(metric: str) -> str:
    return f"val/{metric}"


def heldout_key(metric: str) -> str:
    return f"heldout/{metric}"


# --------------------------------------------------------------------------- run settings

#: Values of the ``precision`` run setting (implemented in :mod:`harness.precision`).
PRECISIONS = ("fp32", "bf16")


def describe_precision(precision: str) -> str:
    """How a run's ``precision`` setting computes, in words (run.json -> report)."""
    if precision == "bf16":
        return "bf16 autocast for the forward pass (matmuls and attention in bfloat16), " \
               "loss and optimizer state in fp32"
    return "fp32 throughout"
