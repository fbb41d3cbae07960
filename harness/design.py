"""A design: one value per axis (DESIGN.md section 3).

The axes are declared once, in :data:`AXES`, with both of the designs' values, the short name
of the fix that moves an axis from the original value to the fixed one, and the claim of the
review it tests. Everything else is derived from this table: the ``original`` and ``fixed``
designs, the single-axis ablations of ``variants/``, validation of user designs, and the
report's grouping by claim. The behaviour of each value lives in exactly one module, named in
``where``, which binds every value to its code through an :class:`harness.axes.AxisRegistry`
(checked against this table when that module is imported).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness.errors import VariantError


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
    Axis("routing", ("all", "predicted"), "all", "predicted", "routing", 4, "harness.model.agent",
         "all: every head on every step; predicted: query head only where the model predicts "
         "TYPE, coordinate head only where it predicts a code of {4,5,6,7,10,11}"),
    Axis("coord_units", ("as_stored", "screen", "screen_points"), "as_stored", "screen",
         "normalized_coords", 5, "harness.data.tensors",
         "as_stored: coordinate targets in the data's own units; screen: x divided by the "
         "screen width and y by its height, points and UI boxes; screen_points: the review's "
         "code read literally, the points divided and the boxes left in pixels"),
    Axis("projections", ("shared", "per_head"), "shared", "per_head", "projections", 6,
         "harness.model.agent",
         "shared: every head reads the same vector; per_head: a Linear(H, H) per head first"),
    Axis("warmup", ("none", "epoch10"), "none", "epoch10", "warmup", 7, "harness.schedules",
         "none, or LambdaLR(min(1, epoch / 10)) stepped once per epoch (lr is 0 in epoch 0)"),
    Axis("clip_norm", (None, 1.0), 1.0, 1.0, "clipping", 7, "harness.train",
         "gradient clipping: max global norm 1.0, or none; both designs clip"),
    Axis("post_norm", (False, True), False, True, "post_norm", 7, "harness.model.agent",
         "LayerNorm on the encoder's first-token vector, or not"),
)}


class _DesignMethods:
    """Behaviour shared by every Design; the fields come from the axis table."""

    _axes: dict = {}     # the table the class was made from (set by design_class)

    def __post_init__(self):
        for axis in self._axes.values():
            value = getattr(self, axis.name)
            if value not in axis.choices:
                raise VariantError(f"design axis {axis.name!r} has no value {value!r}; "
                                   f"choices: {list(axis.choices)}")

    def replace(self, **changes) -> "Design":
        unknown = sorted(set(changes) - set(self._axes))
        if unknown:
            raise VariantError(f"unknown design axis {unknown[0]!r}; axes: {list(self._axes)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

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


def differing_axes() -> list[Axis]:
    """Axes whose value differs between the original and the fixed design."""
    return [a for a in AXES.values() if a.original != a.fixed]
