"""The agent model assembled from a design.

Axes implemented here, each through its registry: ``routing`` (which rows each head runs on),
``gesture_codes`` (the codes routing and the standard loss's mask treat as gestures),
``projections`` (a Linear per head or a shared vector) and ``post_norm`` (LayerNorm after the
encoder). The coordinate head's and the query decoder's axes live in
:mod:`harness.model.heads`.

The forward pass takes the batch's targets in training only (``targets``): routing by the
target action and teacher forcing read them; at evaluation the model sees none, so it routes
by its own prediction and decodes greedily whatever the design.
"""

from __future__ import annotations

import torch
from torch import nn

from harness import actions
from harness.axes import AxisRegistry
from harness.design import Design
from harness.encoders import hidden_size
from harness.model.heads import COORD_HEADS, QUERY_DECODINGS, QUERY_HEADS, ActionHead
from harness.schema import HEADS, MODULE_GROUPS
from harness.seeding import seeded

#: The review's routing set and the fixed loss's mask: AitW's gesture code 4 and, as written,
#: the non-gesture codes 5, 6, 7, 10 and 11.
GESTURE_CODES = (4, 5, 6, 7, 10, 11)

#: The ``gesture_codes`` axis: the codes that routing and the standard loss's mask treat as
#: gestures. DUAL_POINT is the only AitW action with a point; the others store (-1, -1).
GESTURE_SETS = AxisRegistry("gesture_codes")
GESTURE_SETS.register("review_set", GESTURE_CODES)
GESTURE_SETS.register("dual_point", (actions.DUAL_POINT,))
GESTURE_SETS.check()

DROPOUT = 0.1


# --------------------------------------------------------------------------- post_norm

POST_NORMS = AxisRegistry("post_norm")
POST_NORMS.register(False, lambda size: nn.Identity())
POST_NORMS.register(True, lambda size: nn.LayerNorm(size))
POST_NORMS.check()


# --------------------------------------------------------------------------- projections

def per_head_projections(size: int, seed: int) -> nn.ModuleDict:
    """A Linear(H, H) per head, each from its own seed (shared by every design that has it)."""
    projections = {}
    for head in HEADS:
        with seeded(seed, "projection", head):
            projections[head] = nn.Linear(size, size)
    return nn.ModuleDict(projections)


PROJECTIONS = AxisRegistry("projections")
PROJECTIONS.register("shared", lambda size, seed: None)     # every head reads the same vector
PROJECTIONS.register("per_head", per_head_projections)
PROJECTIONS.check()


# --------------------------------------------------------------------------- routing

def route_by_prediction(action_logits: torch.Tensor, codes: tuple = GESTURE_CODES,
                        target_action: torch.Tensor | None = None):
    """The review's ``if action_code.item() == 3 ... elif in {4, 5, 6, 7, 10, 11}`` done per
    row, so that batches work: the literal code reads one prediction per batch and only works
    at batch size 1. A row a head does not run for gets a zero output that carries no gradient
    (the literal code would leave the output missing); the loss of the design is then applied
    unchanged. Returns the rows of the query head and of the coordinate head."""
    predicted = action_logits.detach().argmax(dim=-1)
    gestures = torch.tensor(codes, device=predicted.device)
    return predicted == actions.TYPE, torch.isin(predicted, gestures)


def route_by_target_in_training(action_logits: torch.Tensor, codes: tuple = GESTURE_CODES,
                                target_action: torch.Tensor | None = None):
    """In training each head learns on the rows whose target needs it, whatever the untrained
    action head predicts; at evaluation (no targets) the rows of the prediction."""
    if target_action is None:
        return route_by_prediction(action_logits, codes)
    gestures = torch.tensor(codes, device=target_action.device)
    return target_action == actions.TYPE, torch.isin(target_action, gestures)


#: The ``routing`` axis: (action logits, gesture codes, target action or None) -> (query rows,
#: coordinate rows); None: every row.
ROUTINGS = AxisRegistry("routing")
ROUTINGS.register("all", lambda action_logits, codes, target_action=None: (None, None))
ROUTINGS.register("predicted", route_by_prediction)
ROUTINGS.register("target_train", route_by_target_in_training)
ROUTINGS.check()


class AgentModel(nn.Module):
    """Encoder -> first-token vector -> [LayerNorm] -> dropout -> [per-head projection] -> heads.

    Every component other than the encoder is built under a seed derived from (seed, its
    name), so two designs that share a component start it from identical weights.
    """

    def __init__(self, encoder: nn.Module, design: Design, vocab_size: int, query_steps: int,
                 seed: int):
        super().__init__()
        self.design = design
        self.encoder = encoder
        size = hidden_size(encoder)
        self.post_norm = POST_NORMS[design.post_norm](size)
        self.dropout = nn.Dropout(DROPOUT)
        self.projections = PROJECTIONS[design.projections](size, seed)
        with seeded(seed, "action_head"):
            self.action_head = ActionHead(size)
        # the user's decoder keeps the seed it always had, so its runs are unchanged
        decoder_seed = () if design.query_head == "lstm" else (design.query_head,)
        with seeded(seed, "query_decoder", *decoder_seed):
            self.query_decoder = QUERY_HEADS[design.query_head](size, vocab_size, query_steps)
        with seeded(seed, "coord_head", design.coord_head):
            self.coord_head = COORD_HEADS[design.coord_head](size)

    def module_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters by module group (:data:`MODULE_GROUPS`); groups without parameters (no
        projections, an Identity instead of the LayerNorm) are left out."""
        groups = {}
        for name in MODULE_GROUPS:
            module = getattr(self, name)
            params = list(module.parameters()) if module is not None else []
            if params:
                groups[name] = params
        return groups

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """(the first-token vector every head reads, the encoder's token states)"""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        states = hidden.last_hidden_state
        return self.dropout(self.post_norm(states[:, 0])), states

    def head_input(self, pooled: torch.Tensor, head: str) -> torch.Tensor:
        return self.projections[head](pooled) if self.projections is not None else pooled

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                targets: dict | None = None) -> dict:
        """``targets`` (``action`` [B], ``query_labels`` [B, T]): given in training only, and
        read only by the values that train on them (routing ``target_train``, query decoding
        ``teacher_forcing``)."""
        targets = targets or {}
        pooled, states = self.encode(input_ids, attention_mask)
        action_logits = self.action_head(self.head_input(pooled, "action"))
        query_rows, coord_rows = self.route(action_logits, targets.get("action"))
        embed = self.encoder.get_input_embeddings()
        next_input = QUERY_DECODINGS[self.design.query_decoding]
        query_logits = _run_on_rows(
            lambda ctx, labels, states, mask, ids: self.query_decoder(
                ctx, embed, next_input, labels, (states, mask, ids)),
            self.head_input(pooled, "query"), query_rows,
            (self.query_decoder.steps, self.query_decoder.out.out_features),
            targets.get("query_labels"), states, attention_mask, input_ids)
        coordinates = _run_on_rows(self.coord_head, self.head_input(pooled, "coord"),
                                   coord_rows, (4,))
        return {"action_logits": action_logits, "query_logits": query_logits,
                "coordinates": coordinates, "query_rows": query_rows, "coord_rows": coord_rows}

    def route(self, action_logits: torch.Tensor, target_action: torch.Tensor | None = None):
        """Rows on which the query and coordinate heads run (None: every row)."""
        codes = GESTURE_SETS[self.design.gesture_codes]
        return ROUTINGS[self.design.routing](action_logits, codes, target_action)


def _run_on_rows(head, context: torch.Tensor, rows: torch.Tensor, out_shape: tuple,
                 *per_row):
    """``head(context, *per_row)`` on the selected rows (None: all), each of ``per_row`` (a
    tensor with a row per context row, or None) cut to the same rows; zeros (without
    gradient) elsewhere."""
    if rows is None:
        return head(context, *per_row)
    out = context.new_zeros((context.shape[0], *out_shape))
    index = rows.nonzero(as_tuple=True)[0]
    if index.numel():
        selected = [None if extra is None else extra[index] for extra in per_row]
        out = out.index_put((index,), head(context[index], *selected))
    return out
