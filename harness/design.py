"""A design: one value per axis (DESIGN.md section 3).

The axes are declared once, in :data:`AXES`, with both of the designs' values, the short name
of the fix that moves an axis from the original value to the fixed one, and the claim of the
review it tests; and the value of the ``corrected`` design (the fixed one, unless a measurement
called for a correction), with the reason for each value that is not in the review. Everything
else is derived from this table: the ``original``, ``fixed`` and ``corrected`` designs, the
single-axis ablations of ``variants/``, validation of user designs, and the report's grouping
by claim. The behaviour of each value lives in exactly one module, named in
``where``, which binds every value to its code through an :class:`harness.axes.AxisRegistry`
(checked against this table when that module is imported).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness.errors import VariantError


#: ``Axis.corrected`` when not given: the corrected design keeps the fixed design's value.
_AS_FIXED = object()


@dataclass(frozen=True)
class Axis:
    name: str
    choices: tuple
    original: object
    fixed: object
    fix: str          # short name of the fix, used in variant names: original+<fix>, fixed-<fix>
    claim: int        # the claim of DESIGN.md section 4 that this axis tests
    where: str        # the module that implements the values
    doc: str
    corrected: object = _AS_FIXED   # the corrected design's value (default: the fixed one)
    correction: str = ""  # short name of the correction, in variant names: corrected-<correction>
    # (value, one-line reason citing the measurement behind it) for each value that neither the
    # user's code nor the review has; pairs, not a dict, so that an Axis stays hashable
    not_in_review: tuple = ()
    # False: an axis that the review and the user's code do not have; their code behaves as its
    # original value, and a design at that value does not record it (Design.to_dict), so the
    # records and fingerprints of designs written before the axis existed stay as they were
    in_review: bool = True
    # False: the greedy search (harness.search) does not try the axis's other values; for an
    # axis that asks its own question, answered by variants of its own against their base
    searched: bool = True

    def __post_init__(self):
        if self.corrected is _AS_FIXED:
            object.__setattr__(self, "corrected", self.fixed)
        unknown = [v for v, _ in self.not_in_review if v not in self.choices]
        if unknown:
            raise VariantError(f"axis {self.name!r}: not_in_review names {unknown!r}, which "
                               f"are not among its choices {list(self.choices)}")

    def reason_not_in_review(self, value) -> str | None:
        """Why a value that is not in the review exists (None for the review's own values)."""
        return dict(self.not_in_review).get(value)


#: The ``aggregator`` axis's values other than ``sum``, each with the torchjd aggregator it
#: names (issue 24; implemented in harness/backward.py).
AGGREGATOR_LABELS = {"upgrad": "UPGrad", "pcgrad": "PCGrad", "mgda": "MGDA", "imtlg": "IMTL-G",
                     "aligned_mtl": "Aligned-MTL", "dualproj": "DualProj", "cagrad": "CAGrad",
                     "nashmtl": "Nash-MTL"}
AGGREGATOR_VALUES = ("sum", *AGGREGATOR_LABELS)


# The reasons of the values that are not in the review say which mechanism each correction
# answers. Their numbers are not typed here: each correction is measured on the selection split
# by the committed run of docs/corrections (corrected against corrected-<correction>, with the
# training symptom of harness.report.corrections.SYMPTOMS), which the README and the report cite.
AXES: dict[str, Axis] = {a.name: a for a in (
    Axis("coord_head", ("lstm", "mlp"), "lstm", "mlp", "mlp_head", 1, "harness.model.heads",
         "coordinate head: autoregressive 2-step LSTM, or a 2-layer MLP; both end in a sigmoid"),
    Axis("loss", ("penalty", "standard"), "penalty", "standard", "standard_loss", 2,
         "harness.losses",
         "penalty: the custom per-step coordinate loss with NaN-to-zero guards; standard: "
         "cross-entropies and Huber masked to {4,5,6,7,10,11}, as the review wrote them"),
    Axis("backward", ("per_head", "single"), "per_head", "single", "single_backward", 3,
         "harness.backward",
         "per_head: one backward per head loss with retain_graph, skipped when not finite; "
         "single: one backward of the weighted total"),
    Axis("routing", ("all", "predicted", "target_train"), "all", "predicted", "routing", 4,
         "harness.model.agent",
         "all: every head on every step; predicted: query head only where the model predicts "
         "TYPE, coordinate head only where it predicts a code of the gesture set "
         "(gesture_codes); target_train: the same rows chosen by the target action in "
         "training and by the predicted action at evaluation",
         corrected="target_train", correction="target_routing",
         not_in_review=(("target_train",
                         "routing by the predicted action runs the query decoder only where the "
                         "still untrained action head predicts TYPE, which it seldom does, so the "
                         "decoder gets no gradient on most steps; by the target action it trains "
                         "on every TYPE row"),)),
    Axis("coord_units", ("as_stored", "screen", "screen_points"), "as_stored", "screen",
         "normalized_coords", 5, "harness.data.tensors",
         "as_stored: coordinate targets in the data's own units; screen: x divided by the "
         "screen width and y by its height, points and UI boxes; screen_points: the review's "
         "code read literally, the points divided and the boxes left in pixels"),
    Axis("projections", ("shared", "per_head"), "shared", "per_head", "projections", 6,
         "harness.model.agent",
         "shared: every head reads the same vector; per_head: a Linear(H, H) per head first"),
    Axis("warmup", ("none", "epoch10", "linear_steps:18"), "none", "epoch10", "warmup", 7,
         "harness.schedules",
         "none; epoch10: LambdaLR(min(1, epoch / 10)) stepped once per epoch (lr is 0 in epoch "
         "0); linear_steps:N: optimizer step s (from 0) runs at lr * min(1, (s + 1) / N), "
         "stepped after every optimizer step",
         corrected="linear_steps:18", correction="step_warmup",
         not_in_review=(("linear_steps:18",
                         "epoch10 holds the rate at 0 for the whole first epoch and reaches the "
                         "full rate only halfway through the default budget; 18 steps is 10% of "
                         "that budget (20 epochs x 9 batches)"),)),
    Axis("clip_norm", (None, 1.0), 1.0, 1.0, "clipping", 7, "harness.train",
         "gradient clipping: max global norm 1.0, or none; both designs clip"),
    Axis("post_norm", (False, True), False, True, "post_norm", 7, "harness.model.agent",
         "LayerNorm on the encoder's first-token vector, or not"),
    # Axes that neither the user's code nor the review has: both designs are at the value that
    # behaves as their code does; only the corrected design moves them.
    Axis("query_loss", ("all_rows", "type_rows"), "all_rows", "all_rows", "type_rows_query", 2,
         "harness.losses",
         "all_rows: cross-entropy with ignore_index=0 over every step's target tokens, NaN on a "
         "batch without a TYPE step (every target is padding; the penalty loss then sets it to "
         "0); type_rows: the same cross-entropy over the TYPE steps only, 0 on a batch "
         "without one",
         corrected="type_rows", correction="type_rows_query", in_review=False,
         not_in_review=(("type_rows",
                         "the all-rows query loss is NaN on every batch without a TYPE step, and "
                         "so is the validation loss that ReduceLROnPlateau reads"),)),
    Axis("gesture_codes", ("review_set", "dual_point"), "review_set", "review_set",
         "dual_point_mask", 2, "harness.model.agent",
         "the action codes whose coordinates the standard loss trains and to which routing "
         "sends the coordinate head: review_set {4,5,6,7,10,11}, as the review writes them; "
         "dual_point {4}, the only code with a point (the penalty loss sees every step "
         "either way)",
         corrected="dual_point", correction="dual_point_mask", in_review=False,
         not_in_review=(("dual_point",
                         "codes 5, 6, 7, 10 and 11 in the review's mask have no point: their "
                         "(-1, -1) is about (-0.001, -0.0004) in screen units, a pull of every "
                         "prediction towards the top-left corner"),)),
    Axis("query_decoding", ("greedy", "teacher_forcing"), "greedy", "greedy",
         "teacher_forcing", 4, "harness.model.heads",
         "what the query decoder reads after its first step in training: greedy, the "
         "embedding of its own previous argmax token (as at evaluation); teacher_forcing, the "
         "embedding of the previous target token (evaluation stays greedy)",
         corrected="teacher_forcing", correction="teacher_forcing", in_review=False,
         not_in_review=(("teacher_forcing",
                         "the greedy decoder is trained on its own argmax, never on the target "
                         "text"),)),
    Axis("query_head", ("lstm", "pointer"), "lstm", "lstm", "pointer_query", 1,
         "harness.model.heads",
         "the query decoder: lstm, the user's LSTM that reads only the first-token vector "
         "and spells from the vocabulary; pointer, an LSTM that attends over the prompt's "
         "token states and mixes spelling with copying prompt tokens (a pointer-generator)",
         corrected="pointer", correction="pointer_query", in_review=False,
         not_in_review=(("pointer",
                         "the typed text is a span of the goal, which the user's decoder cannot "
                         "read (it sees only the first-token vector), and training has few TYPE "
                         "steps to learn spelling from; the pointer can copy the goal's tokens"),)),
    Axis("head_weights", ("review", "query_0.1"), "review", "review", "light_query", 6,
         "harness.losses",
         "the weights of the head losses in the total (and in each per-head backward): "
         "review, action 1, query 0.5, coordinates 2, as the user's code and the review have "
         "them; query_0.1, the query loss at 0.1",
         corrected="query_0.1", correction="light_query", in_review=False,
         not_in_review=(("query_0.1",
                         "at 0.5 the pointer decoder's gradient dominates the shared encoder "
                         "early on and, under clipping, takes the step from the other heads"),)),
    Axis("coord_loss", ("huber", "sq_distance"), "huber", "huber", "sq_distance_coords", 6,
         "harness.losses",
         "the standard loss's coordinate term: huber, Huber(delta 1) averaged over the four "
         "numbers, as the review writes it (half of MSE on screen fractions); sq_distance, "
         "the squared distance of the touch point plus that of the lift point, averaged over "
         "the masked steps (8x that Huber on screen fractions); the penalty loss has its own",
         corrected="sq_distance", correction="sq_distance_coords", in_review=False,
         not_in_review=(("sq_distance",
                         "Huber on screen fractions is half a squared error of numbers below 1, "
                         "so the coordinate head's gradient on the shared encoder is tiny beside "
                         "the action head's; the squared distance is 8x larger"),)),
    # Issue 24: the update of the shared encoder as a design axis. Every design, the corrected
    # one included, stays at the plain sum; the variants fixed+<value> and corrected+<value>
    # (variants/builtin.py, group `aggregators`) measure each torchjd aggregator against it.
    Axis("aggregator", AGGREGATOR_VALUES, "sum", "sum", "aggregator", 3, "harness.backward",
         "how the heads' gradients on the shared encoder become its update: sum, the "
         "design's backward as it is (the weighted total); otherwise torchjd's aggregator "
         "of the Jacobian whose rows are the heads' weighted-loss gradients on the encoder "
         "and post-encoder norm (one backward of the total is not taken); each head's own "
         "parameters get their head's gradient; needs backward=single",
         in_review=False, searched=False,
         not_in_review=tuple((value, f"issue 24: {label}, a conflict-aware update from the "
                                     "multi-task literature, measured against the plain sum "
                                     "on paired seeds; the review only changes the number of "
                                     "backward passes, which cannot change the gradient")
                             for value, label in AGGREGATOR_LABELS.items())),
)}


def refusal(design) -> str | None:
    """Why a design's combination of values cannot be trained, or None. An aggregator combines
    the heads' gradients of one backward pass; the per-head strategy's separate passes have
    nothing for it to combine. (getattr: a toy table in the tests may lack either axis.)"""
    aggregator = getattr(design, "aggregator", "sum")
    if aggregator != "sum" and getattr(design, "backward", "single") == "per_head":
        return (f"design axis 'aggregator' = {aggregator!r} needs backward='single': the "
                "aggregator replaces one backward of the weighted total, and the per-head "
                "backward passes (backward='per_head') cannot be aggregated")
    return None


class _DesignMethods:
    """Behaviour shared by every Design; the fields come from the axis table."""

    _axes: dict = {}     # the table the class was made from (set by design_class)

    def __post_init__(self):
        for axis in self._axes.values():
            value = getattr(self, axis.name)
            if value not in axis.choices:
                raise VariantError(f"design axis {axis.name!r} has no value {value!r}; "
                                   f"choices: {list(axis.choices)}")
        refused = refusal(self)
        if refused:
            raise VariantError(refused)

    def replace(self, **changes) -> "Design":
        unknown = sorted(set(changes) - set(self._axes))
        if unknown:
            raise VariantError(f"unknown design axis {unknown[0]!r}; axes: {list(self._axes)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        # An axis the review does not have is left out at its original value: the designs
        # recorded before it existed keep their records and fingerprints (Axis.in_review).
        return {name: getattr(self, name) for name, axis in self._axes.items()
                if axis.in_review or getattr(self, name) != axis.original}

    def differences(self, other: "Design") -> dict[str, tuple]:
        """Axes on which two designs differ: {axis: (self value, other value)}."""
        return {a: (getattr(self, a), getattr(other, a)) for a in self._axes
                if getattr(self, a) != getattr(other, a)}


def design_class(axes: dict[str, Axis]) -> type:
    """A frozen dataclass with one field per axis, in table order, defaulting to the original
    design's value: adding an axis to the table adds the field."""
    fields = [(a.name, object, dataclasses.field(default=a.original)) for a in axes.values()]
    return dataclasses.make_dataclass(
        "Design", fields, bases=(_DesignMethods,), frozen=True,
        namespace={"__module__": __name__, "_axes": dict(axes),
                   "__doc__": "One value per axis of the axis table; the defaults are the "
                              "original design."})


Design = design_class(AXES)

ORIGINAL = Design()
FIXED = Design(**{a.name: a.fixed for a in AXES.values()})
CORRECTED = Design(**{a.name: a.corrected for a in AXES.values()})


def differing_axes() -> list[Axis]:
    """Axes whose value differs between the original and the fixed design."""
    return [a for a in AXES.values() if a.original != a.fixed]


def corrected_axes() -> list[Axis]:
    """Axes whose value differs between the fixed and the corrected design."""
    return [a for a in AXES.values() if a.corrected != a.fixed]
