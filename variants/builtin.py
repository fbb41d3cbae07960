"""The built-in variants: the two designs and their single-axis ablations, derived from the
axis table in :mod:`harness.design` rather than written out by hand.

- ``original``, ``fixed``;
- for every axis the review changes: ``original+<fix>`` (the original with that one fix) and
  ``fixed-<fix>`` (the fixed design without it);
- for every axis both designs share but that has another value (gradient clipping):
  ``original-<fix>`` and ``fixed-<fix>``, to measure what the shared choice does at all.
"""

from __future__ import annotations

from harness.design import AXES, FIXED, ORIGINAL
from variants.registry import register_variant


def _other_value(axis):
    return next(v for v in axis.choices if v != axis.original)


def register_builtin_variants() -> None:
    register_variant("original", "the user's design as written: the baseline of every "
                                 "original+<fix> ablation", ORIGINAL)
    register_variant("fixed", "every change the review proposes: the baseline of every "
                              "fixed-<fix> ablation", FIXED)
    for axis in AXES.values():
        if axis.original != axis.fixed:
            register_variant(f"original+{axis.fix}",
                             f"original with only the {axis.fix} fix ({axis.name}="
                             f"{axis.fixed!r}): does this fix alone help?",
                             ORIGINAL.replace(**{axis.name: axis.fixed}))
            register_variant(f"fixed-{axis.fix}",
                             f"fixed without the {axis.fix} fix ({axis.name}="
                             f"{axis.original!r}): is this fix needed among the others?",
                             FIXED.replace(**{axis.name: axis.original}))
    # The review's normalization read literally (points only; boxes stay in pixels): what the
    # harness's choice to divide the boxes too changes for the penalty loss's box rule. Not in
    # `all`: 5 more runs would take the default grid past its 15-minute budget on 2 cores;
    # `--variants 'all,original+normalized_points_only'` adds it.
    register_variant("original+normalized_points_only",
                     "original with the review's normalization as written: touch and lift "
                     "divided by the screen size, UI boxes left in pixels",
                     ORIGINAL.replace(coord_units="screen_points"), in_all=False)
    for axis in AXES.values():
        if axis.original == axis.fixed and len(axis.choices) > 1:
            other = _other_value(axis)
            register_variant(f"original-{axis.fix}",
                             f"original with {axis.name}={other!r}: both designs share "
                             f"{axis.name}={axis.original!r}; what does it do?",
                             ORIGINAL.replace(**{axis.name: other}))
            register_variant(f"fixed-{axis.fix}",
                             f"fixed with {axis.name}={other!r}: both designs share "
                             f"{axis.name}={axis.original!r}; what does it do?",
                             FIXED.replace(**{axis.name: other}))
