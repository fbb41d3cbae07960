"""The three heads. Two design axes live here: the coordinate head (``coord_head``) and what the
query decoder reads in training (``query_decoding``).

Each coordinate head maps a context vector [B, H] to four numbers in (0, 1): touch (x, y) and
lift (x, y), in the design's coordinate units.
"""

from __future__ import annotations

import torch
from torch import nn

from harness import actions
from harness.axes import AxisRegistry

HEAD_HIDDEN = 256   # LSTM and MLP width of both designs (the user's lstm_hidden_size)


class ActionHead(nn.Linear):
    """A linear layer to the 12 AitW action logits."""

    def __init__(self, context_size: int):
        super().__init__(context_size, actions.NUM_ACTION_LOGITS)


def greedy_token(step_logits: torch.Tensor, labels: torch.Tensor | None,
                 step: int) -> torch.Tensor:
    """The decoder's own argmax: what both designs feed back, in training as at evaluation."""
    return step_logits.argmax(dim=-1)


def target_token(step_logits: torch.Tensor, labels: torch.Tensor | None,
                 step: int) -> torch.Tensor:
    """Teacher forcing: the target token of this step, so that the next step learns from the
    true prefix; without targets (evaluation) or past their end, the argmax."""
    if labels is None or step >= labels.shape[1]:
        return step_logits.argmax(dim=-1)
    return labels[:, step]


#: The ``query_decoding`` axis: (step logits [B, V], target tokens [B, T] or None, step) -> the
#: token whose embedding is the next step's input.
QUERY_DECODINGS = AxisRegistry("query_decoding")
QUERY_DECODINGS.register("greedy", greedy_token)
QUERY_DECODINGS.register("teacher_forcing", target_token)
QUERY_DECODINGS.check()


class QueryDecoder(nn.Module):
    """LSTM decoder of the typed text (DESIGN.md section 2).

    Step 0's input is the context vector; each next input is the encoder's word embedding of
    a token that ``next_token`` picks: by default the previous step's argmax (greedy), with
    teacher forcing in training the previous target token. The state starts at zero. The
    embedding table is the encoder's and is passed in at call time, so its parameters belong
    to the encoder alone.
    """

    def __init__(self, context_size: int, vocab_size: int, steps: int,
                 hidden: int = HEAD_HIDDEN):
        super().__init__()
        self.steps = steps
        self.cell = nn.LSTMCell(context_size, hidden)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, context: torch.Tensor, embed: nn.Embedding, next_token=greedy_token,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        batch = context.shape[0]
        h = context.new_zeros(batch, self.cell.hidden_size)
        c = context.new_zeros(batch, self.cell.hidden_size)
        x = context
        logits = []
        for step in range(self.steps):
            h, c = self.cell(x, (h, c))
            step_logits = self.out(h)
            logits.append(step_logits)
            x = embed(next_token(step_logits, labels, step))
        return torch.stack(logits, dim=1)   # [B, steps, V]


class LSTMCoordHead(nn.Module):
    """Original design: an autoregressive LSTM of two steps, touch point then lift point.

    Each step's input is the context concatenated with the previous step's LSTM output
    (zeros at first); a linear layer and a sigmoid give (x, y).
    """

    def __init__(self, context_size: int, hidden: int = HEAD_HIDDEN):
        super().__init__()
        self.cell = nn.LSTMCell(context_size + hidden, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        batch = context.shape[0]
        h = context.new_zeros(batch, self.cell.hidden_size)
        c = context.new_zeros(batch, self.cell.hidden_size)
        previous = context.new_zeros(batch, self.cell.hidden_size)
        points = []
        for _ in range(2):
            h, c = self.cell(torch.cat([context, previous], dim=-1), (h, c))
            points.append(torch.sigmoid(self.out(h)))
            previous = h
        return torch.cat(points, dim=-1)   # [B, 4]


class MLPCoordHead(nn.Sequential):
    """Fixed design: linear to 256, ReLU, linear to 4, sigmoid."""

    def __init__(self, context_size: int, hidden: int = HEAD_HIDDEN):
        super().__init__(nn.Linear(context_size, hidden), nn.ReLU(), nn.Linear(hidden, 4),
                         nn.Sigmoid())


COORD_HEADS = AxisRegistry("coord_head")
COORD_HEADS.register("lstm", LSTMCoordHead)
COORD_HEADS.register("mlp", MLPCoordHead)
COORD_HEADS.check()
