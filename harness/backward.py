"""The ``backward`` axis: one backward of the weighted total, or one per head loss.

Each takes the loss terms and the design's head weights (:func:`harness.losses.head_weights`)
and returns the names of the loss terms whose backward was skipped (non-finite), so the
instruments can record what happened to a NaN.

The ``aggregator`` axis (issue 24) lives here too, because it replaces the single backward:
how the heads' gradients on the shared encoder become its update. ``sum`` is the ``backward``
axis's value as it always was: the gradient of the weighted total, the plain sum of the heads'
gradients. Every other value is a torchjd aggregator (Jacobian descent; Quinton and Rey 2024,
"Jacobian Descent for Multi-Objective Optimization"): each head's weighted loss is one row of
the Jacobian of the shared parameters (the encoder and the post-encoder norm,
:data:`SHARED_GROUPS`), and the aggregator combines the rows into those parameters' update.
Every other parameter belongs to one head (its projection, its head or decoder) and gets that
head's gradient, as with the sum. Clipping then applies to the aggregated gradient.

A head is left out of a step's Jacobian when its loss has no graph (no routed rows), or its
gradient on the shared parameters is zero (a NaN query loss over a batch without a TYPE step
back-propagates zeros) or not finite: a zero row would pull MGDA's minimum-norm point to 0 and
stall the encoder on every step where the query decoder gets no gradient. A head whose gradient
is not finite anywhere gives nothing, to its own parameters either (recorded as skipped, like
the per-head strategy's skipped backward).

How the Jacobian is taken, against torchjd 0.18.0 as installed: ``mtl_backward`` takes it at a
shared feature tensor, and this model has none that separates the heads from the trunk (the
query decoder reads the encoder's embedding table directly, for its next-token inputs), so it
would drop that part of the query head's gradient. ``autojac.backward`` over the parameters
takes every path, but it back-propagates each row as a vector-Jacobian product through every
head's graph at once with the other heads' weights at zero, and 0 x NaN is NaN: one head's
non-finite gradient spoils every row, so no head could be left out alone. The rows are
therefore one ``torch.autograd.grad`` per head over the shared and the head's own parameters
(what ``autojac.backward`` with ``parallel_chunk_size=1`` computes, one head at a time; no
``torch.vmap``, whose CPU attention backward falls back to a loop and whose recurrent layers
fail on CUDA, torchjd's documentation says), stored in the parameters' ``.jac`` fields;
torchjd's ``jac_to_grad`` aggregates them into ``.grad`` and returns the weights.

torchjd is imported only when a design aggregates, so the ``sum`` designs train without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from harness.axes import AxisRegistry
from harness.losses import HEAD_WEIGHTS
from harness.schema import HEADS, SHARED_GROUPS

TERMS = HEADS   # back-propagated in this order by the per-head strategy


def single_backward(losses: dict, weights: dict = HEAD_WEIGHTS) -> list[str]:
    """The review's fix: ``total_loss.backward()``. A NaN term is not skipped: it is in the total
    (which the loss weighted already)."""
    losses["total"].backward()
    return []


def per_head_backward(losses: dict, weights: dict = HEAD_WEIGHTS) -> list[str]:
    """The user's loop: one backward per head, each only when its loss is finite.

    ``dummy_zero`` is a leaf that requires grad, as in the user's code, so a term without a
    graph (a constant 0) still back-propagates without error. Every backward but the last
    retains the graph; the last one frees it.
    """
    device = losses["total"].device
    dummy_zero = torch.tensor(0.0, requires_grad=True, device=device)
    skipped = []
    for i, term in enumerate(TERMS):
        if torch.isfinite(losses[term]):
            (dummy_zero + weights[term] * losses[term]).backward(
                retain_graph=i < len(TERMS) - 1)
        else:
            skipped.append(term)
    return skipped


BACKWARDS = AxisRegistry("backward")
BACKWARDS.register("single", single_backward)
BACKWARDS.register("per_head", per_head_backward)
BACKWARDS.check()


# --------------------------------------------------------------------------- aggregator

INSTALL_HINT = "pip install -e '.[aggregators]' (torchjd==0.18.0 with its solver extras)"

#: CAGrad's radius (the ball around the mean gradient), the value its paper uses on
#: multi-task benchmarks (Liu et al. 2021, "Conflict-Averse Gradient Descent").
CAGRAD_C = 0.5


def _aggregation():
    try:
        import torchjd.aggregation
    except ImportError as exc:
        raise ImportError(f"the aggregator axis needs torchjd: {INSTALL_HINT}") from exc
    return torchjd.aggregation


def _autojac():
    try:
        import torchjd.autojac
    except ImportError as exc:
        raise ImportError(f"the aggregator axis needs torchjd: {INSTALL_HINT}") from exc
    return torchjd.autojac


def no_aggregator(n_heads: int) -> None:
    """``sum``: nothing to aggregate; the ``backward`` axis back-propagates the weighted
    total."""
    return None


#: The ``aggregator`` axis: value -> (number of heads in the Jacobian -> a torchjd aggregator,
#: or None for the plain sum). UPGrad and DualProj get a preference vector of ones, so that
#: without conflict their update is the sum's.
AGGREGATORS = AxisRegistry("aggregator")
AGGREGATORS.register("sum", no_aggregator)
AGGREGATORS.register("upgrad", lambda n: _aggregation().UPGrad(pref_vector=torch.ones(n)))
AGGREGATORS.register("pcgrad", lambda n: _aggregation().PCGrad())
AGGREGATORS.register("mgda", lambda n: _aggregation().MGDA())
AGGREGATORS.register("imtlg", lambda n: _aggregation().IMTLG())
AGGREGATORS.register("aligned_mtl", lambda n: _aggregation().AlignedMTL())
AGGREGATORS.register("dualproj", lambda n: _aggregation().DualProj(pref_vector=torch.ones(n)))
AGGREGATORS.register("cagrad", lambda n: _aggregation().CAGrad(c=CAGRAD_C))
AGGREGATORS.register("nashmtl", lambda n: _aggregation().NashMTL(n_tasks=n))
AGGREGATORS.check()

#: Aggregators that a one-row Jacobian (one head with a gradient on the trunk) is not handed
#: to: that head's gradient is the update. torchjd 0.18's Nash-MTL cannot build its problem for
#: one task (cvxpy refuses the product of its 1 x 1 parameters: "Scalar operands are not
#: allowed"), and failed the run on the first such step. For one task Nash-MTL's normalised
#: problem has the weight 1 and then caps the update's norm at 1; the designs clip the whole
#: gradient at 1.0 already. The other aggregators run on one row (six give the row itself,
#: CAGrad 1 + c times it).
ONE_ROW_AS_IS = frozenset({"nashmtl"})

# Why a head is not a row of a step's Jacobian.
NO_GRAPH, ZERO, NOT_FINITE = "no graph", "zero gradient", "not finite"


@dataclass
class AggregationStep:
    """What one aggregated backward did: the heads in the Jacobian (in :data:`HEADS` order),
    why each other head was left out, the aggregator's weight of each kept head, and, when
    asked for (:attr:`AggregatedBackward.measure`), the Gramian of every head's gradient on the
    shared parameters (heads x heads, in :data:`HEADS` order; a head without a graph has a zero
    row)."""

    kept: tuple[str, ...] = ()
    left_out: dict[str, str] = field(default_factory=dict)
    weights: torch.Tensor | None = None
    gramian: torch.Tensor | None = None


#: The module group of each head's own parameters (besides its projection, when the design
#: has one per head).
HEAD_GROUPS = {"action": "action_head", "query": "query_decoder", "coord": "coord_head"}


def _head_parameters(model) -> tuple[list, dict[str, list]]:
    """(the shared parameters, each head's own parameters): the trunk every head's gradient
    flows through, and what only one head's loss reaches."""
    groups = model.module_groups()
    shared = [p for g in SHARED_GROUPS for p in groups.get(g, [])]
    projections = getattr(model, "projections", None)
    own = {head: [*groups.get(group, []),
                  *(projections[head].parameters() if projections is not None else [])]
           for head, group in HEAD_GROUPS.items()}
    listed = {id(p) for p in shared} | {id(p) for ps in own.values() for p in ps}
    unlisted = [p for p in model.parameters() if id(p) not in listed]
    if unlisted:
        raise ValueError(f"{len(unlisted)} parameter(s) of the model are neither shared nor "
                         "a head's own: the aggregated backward would leave them untrained")
    return shared, own


def _accumulate(param: torch.Tensor, grad: torch.Tensor) -> None:
    param.grad = grad if param.grad is None else param.grad + grad


class AggregatedBackward:
    """The backward of a design whose aggregator is not ``sum``; one per run, because an
    aggregator can keep state across steps (Nash-MTL's previous weights). A stateful aggregator
    keeps one state per set of heads in the Jacobian (its state has one entry per head)."""

    def __init__(self, model, value: str):
        self.value = value
        self.make = AGGREGATORS[value]
        if self.make is no_aggregator:
            raise ValueError("aggregator 'sum' is the design's backward axis, not an "
                             "AggregatedBackward")
        self.shared, self.own_by_head = _head_parameters(model)
        self._aggregators: dict[tuple[str, ...], object] = {}
        self.measure = False        # set by an instrument: take the Gramian at the next call
        self.last = AggregationStep()

    def aggregator(self, kept: tuple[str, ...]):
        if kept not in self._aggregators:
            self._aggregators[kept] = self.make(len(kept))
        return self._aggregators[kept]

    def __call__(self, losses: dict, weights: dict) -> list[str]:
        """Gradients into ``.grad`` (as a backward would); returns the heads whose loss or
        gradient was not finite and that were left out (the loop records them as skipped)."""
        measure, self.measure = self.measure, False
        terms = {h: weights[h] * losses[h] for h in HEADS if losses[h].requires_grad}
        step = AggregationStep(left_out={h: NO_GRAPH for h in HEADS if h not in terms})
        shared_rows: dict[str, list] = {}
        for i, (head, term) in enumerate(terms.items()):
            own = self.own_by_head[head]
            grads = torch.autograd.grad(term, self.shared + own, allow_unused=True,
                                        retain_graph=i < len(terms) - 1)
            shared = [torch.zeros_like(p) if g is None else g
                      for p, g in zip(self.shared, grads[:len(self.shared)])]
            own_grads = grads[len(self.shared):]
            if not all(bool(torch.isfinite(g).all()) for g in (*shared, *own_grads)
                       if g is not None):
                step.left_out[head] = NOT_FINITE
                continue        # a non-finite head gives nothing, to its own parameters either
            # its own parameters: its own gradient, as one backward of the total gives them
            # (None where its loss does not reach, as there)
            for p, g in zip(own, own_grads):
                if g is not None:
                    _accumulate(p, g)
            if not any(bool((g != 0).any()) for g in shared):
                step.left_out[head] = ZERO
            shared_rows[head] = shared
        step.kept = tuple(h for h in HEADS if h in terms and h not in step.left_out)
        if measure:
            step.gramian = _full_gramian(shared_rows, [h for h, why in step.left_out.items()
                                                       if why == NOT_FINITE])
        if len(step.kept) == 1 and self.value in ONE_ROW_AS_IS:
            for p, g in zip(self.shared, shared_rows[step.kept[0]]):
                _accumulate(p, g)
            step.weights = torch.ones(1)
        elif step.kept:
            for k, p in enumerate(self.shared):
                p.jac = torch.stack([shared_rows[h][k] for h in step.kept])
            step.weights = _autojac().jac_to_grad(self.shared, self.aggregator(step.kept))
        else:
            # no head moves the trunk: a zero gradient, as the sum of zero rows would be, so
            # that the optimizer still decays and steps these parameters
            for p in self.shared:
                _accumulate(p, torch.zeros_like(p))
        self.last = step
        return [h for h in HEADS if h in step.left_out
                and (step.left_out[h] == NOT_FINITE or not bool(torch.isfinite(losses[h])))]


def _full_gramian(rows: dict[str, list], not_finite: list[str]) -> torch.Tensor:
    """The Gramian of the heads' shared gradients (``rows``: head -> its gradient per shared
    parameter), in :data:`HEADS` order: zeros for a head without a row (no graph), NaN for one
    whose gradient is not finite; float64, so that small inner products keep their sign."""
    flat = {h: torch.cat([g.reshape(-1) for g in r]).double() for h, r in rows.items()}
    size = next((v.numel() for v in flat.values()), 0)
    matrix = torch.zeros(len(HEADS), size, dtype=torch.float64)
    for i, head in enumerate(HEADS):
        if head in flat:
            matrix[i] = flat[head]
    gramian = matrix @ matrix.T
    for head in not_finite:
        gramian[HEADS.index(head), :] = gramian[:, HEADS.index(head)] = math.nan
    return gramian


def design_backward(design, model):
    """The design's backward: (losses, head weights) -> skipped heads. The ``backward`` axis's
    code for ``sum``; an :class:`AggregatedBackward` over ``model`` otherwise."""
    if AGGREGATORS[getattr(design, "aggregator", "sum")] is no_aggregator:
        return BACKWARDS[design.backward]
    return AggregatedBackward(model, design.aggregator)


def update_measures(gramian: torch.Tensor, kept: tuple[str, ...],
                    weights: torch.Tensor | None) -> dict[str, float]:
    """From a step's Gramian (heads x heads, :data:`HEADS` order) and the aggregator's weights
    of the kept heads: the cosine between the aggregated update g = J'w and the plain sum
    s = J'1 of the kept heads' gradients, and each kept head's share of the update, w_i <g_i, g>
    / |g|^2 (the shares sum to 1; a negative share pulls against the update). Everything is a
    product of the Gramian and the weights: no gradient vector is needed."""
    out: dict[str, float] = {}
    if not kept or weights is None:
        return out
    index = torch.tensor([HEADS.index(h) for h in kept])
    G = gramian[index][:, index].double()
    w = weights.detach().double().reshape(-1)
    ones = torch.ones_like(w)
    gg, ss, gs = w @ G @ w, ones @ G @ ones, w @ G @ ones
    out["cosine"] = float(gs / (gg.sqrt() * ss.sqrt())) if gg > 0 and ss > 0 else float("nan")
    contributions = w * (G @ w)
    for head, c in zip(kept, contributions):
        out[head] = float(c / gg) if gg > 0 else float("nan")
    return out
