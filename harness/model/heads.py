"""The three heads. Three design axes live here: the coordinate head (``coord_head``), the query
decoder (``query_head``) and what the query decoder reads in training (``query_decoding``).

Each coordinate head maps a context vector [B, H] to four numbers in (0, 1): touch (x, y) and
lift (x, y), in the design's coordinate units.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

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
    """LSTM decoder of the typed text (DESIGN.md section 2), the user's query head.

    Step 0's input is the context vector; each next input is the encoder's word embedding of
    a token that ``next_token`` picks: by default the previous step's argmax (greedy), with
    teacher forcing in training the previous target token. The state starts at zero. The
    embedding table is the encoder's and is passed in at call time, so its parameters belong
    to the encoder alone. It does not read the prompt's tokens (``prompt`` is ignored).
    """

    def __init__(self, context_size: int, vocab_size: int, steps: int,
                 hidden: int = HEAD_HIDDEN):
        super().__init__()
        self.steps = steps
        self.cell = nn.LSTMCell(context_size, hidden)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, context: torch.Tensor, embed: nn.Embedding, next_token=greedy_token,
                labels: torch.Tensor | None = None, prompt=None) -> torch.Tensor:
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


class PointerQueryDecoder(nn.Module):
    """Not in the review: an LSTM decoder that reads the prompt's tokens and can copy them.

    A pointer-generator (See, Liu and Manning 2017, "Get To The Point", section 2.2): at each
    step the LSTM state attends over the encoder's token states of the prompt; the output is a
    mixture, weighted by a learnt gate, of a distribution over the vocabulary and the attention
    weights added onto the prompt's token ids. Typed text is mostly a span of the goal
    ("search for *pizza places near me* on Google"), which a decoder that reads only the
    first-token vector must memorise text by text; this one can copy texts it never saw.

    Spans are copied token after token, so the attention query also reads the state of the
    position right after the one the previous step attended to (zeros at step 0): "the next
    token of the span" is then a learnt linear map away, which a handful of TYPE steps can
    teach. Each step's input is the embedding of the token ``next_token`` picks (as in
    :class:`QueryDecoder`) beside what the previous step read from the prompt.

    Returns log-probabilities of the mixture, [B, steps, V]: cross-entropy of log-probabilities
    is their negative log-likelihood, and their argmax is the mixture's, so the losses and the
    evaluation treat them as logits.
    """

    def __init__(self, context_size: int, vocab_size: int, steps: int,
                 hidden: int = HEAD_HIDDEN):
        super().__init__()
        self.steps = steps
        self.cell = nn.LSTMCell(2 * context_size, hidden)
        self.attend = nn.Linear(hidden + context_size, context_size)
        self.out = nn.Linear(hidden + context_size, vocab_size)
        self.gate = nn.Linear(hidden + context_size, 1)

    def forward(self, context: torch.Tensor, embed: nn.Embedding, next_token=greedy_token,
                labels: torch.Tensor | None = None, prompt=None) -> torch.Tensor:
        states, mask, ids = prompt            # [B, L, H], [B, L], [B, L]
        batch, _, size = states.shape
        padding = mask == 0
        following = torch.cat([states[:, 1:], states.new_zeros(batch, 1, size)], dim=1)
        h = context.new_zeros(batch, self.cell.hidden_size)
        c = context.new_zeros(batch, self.cell.hidden_size)
        read = context.new_zeros(batch, size)
        after = context.new_zeros(batch, size)
        x = torch.cat([context, read], dim=-1)
        logits = []
        for step in range(self.steps):
            h, c = self.cell(x, (h, c))
            query = self.attend(torch.cat([h, after], dim=-1))
            scores = torch.einsum("blh,bh->bl", states, query) / size ** 0.5
            weights = torch.softmax(scores.masked_fill(padding, float("-inf")), dim=-1)
            read = torch.einsum("bl,blh->bh", weights, states)
            features = torch.cat([h, read], dim=-1)
            generate = torch.sigmoid(self.gate(features))
            mixture = generate * F.softmax(self.out(features), dim=-1)
            mixture = mixture.scatter_add(1, ids, (1 - generate) * weights)
            step_logits = torch.log(mixture.clamp_min(1e-12))
            logits.append(step_logits)
            after = torch.einsum("bl,blh->bh", weights, following)
            x = torch.cat([embed(next_token(step_logits, labels, step)), read], dim=-1)
        return torch.stack(logits, dim=1)   # [B, steps, V]


#: The ``query_head`` axis: classes built as (context size, vocabulary size, steps) whose
#: forward is (context, embedding table, next_token, labels or None, prompt) with prompt =
#: (token states [B, L, H], attention mask [B, L], token ids [B, L]).
QUERY_HEADS = AxisRegistry("query_head")
QUERY_HEADS.register("lstm", QueryDecoder)
QUERY_HEADS.register("pointer", PointerQueryDecoder)
QUERY_HEADS.check()


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
