"""The built-in variants: the two designs and their single-axis ablations, derived from the
axis table in :mod:`harness.design` rather than written out by hand.

- ``original``, ``fixed``;
- for every axis the review changes: ``original+<fix>`` (the original with that one fix) and
  ``fixed-<fix>`` (the fixed design without it);
- for every axis both designs share but that has another value of the review's (gradient
  clipping): ``original-<fix>`` and ``fixed-<fix>``, to measure what the shared choice does;
- ``corrected``: the fixed design with the corrections that are not in the review (the axis
  table's ``corrected`` column), and for every axis it changes ``corrected-<correction>``
  (the corrected design with that axis back at the fixed design's value);
- ``placebo``: the fixed design again under a second noise stream, the report's noise floor;
- ``fixed+<aggregator>`` and ``corrected+<aggregator>`` for every torchjd aggregator of the
  ``aggregator`` axis (issue 24), selected together as the group ``aggregators``.
"""

from __future__ import annotations

from harness.design import AGGREGATOR_LABELS, AXES, CORRECTED, FIXED, ORIGINAL, corrected_axes
from variants.registry import register_group, register_variant

#: The placebo variant: fixed under a second noise stream (harness.report.analysis compares it
#: with fixed, outside every multiplicity family)
PLACEBO = "placebo"

#: ``--variants aggregators``: each aggregator on the fixed and on the corrected design.
AGGREGATOR_GROUP = "aggregators"


def _alternatives(axis) -> list:
    """The shared choice's alternatives among the values of the user's code and the review."""
    return [v for v in axis.choices
            if v != axis.original and axis.reason_not_in_review(v) is None]


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
        others = _alternatives(axis)
        if axis.original == axis.fixed and others:
            other = others[0]
            register_variant(f"original-{axis.fix}",
                             f"original with {axis.name}={other!r}: both designs share "
                             f"{axis.name}={axis.original!r}; what does it do?",
                             ORIGINAL.replace(**{axis.name: other}))
            register_variant(f"fixed-{axis.fix}",
                             f"fixed with {axis.name}={other!r}: both designs share "
                             f"{axis.name}={axis.original!r}; what does it do?",
                             FIXED.replace(**{axis.name: other}))
    # The noise floor: the fixed design again, dropout and batch order from a second stream
    # (same design, data and initial weights). Against fixed it should read equivalent or
    # undecided; the report raises an alarm when it does not.
    register_variant(PLACEBO, "the fixed design under a second noise stream (dropout and batch "
                              "order salted): the placebo comparison against fixed", FIXED,
                     noise_salt=1)
    register_variant("corrected", "the fixed design with the corrections the measurements call "
                                  "for, none of them in the review: the baseline of every "
                                  "corrected-<correction> ablation", CORRECTED)
    # Not in `all`: the default grid's budget (about 13.5 minutes on 2 cores) has no room for
    # another six variants x 5 seeds; `--variants 'all,corrected-*'` adds them.
    for axis in corrected_axes():
        register_variant(f"corrected-{axis.correction}",
                         f"corrected without the {axis.correction} correction ({axis.name}="
                         f"{axis.fixed!r}, the fixed design's): is it needed among the others?",
                         CORRECTED.replace(**{axis.name: axis.fixed}), in_all=False)
    # Not in `all`: 16 more variants, each step 1.5-2.3x the sum's (make bench, tiny encoder);
    # `--variants 'fixed,corrected,aggregators'` runs each with its base.
    members = []
    for base_name, base in (("fixed", FIXED), ("corrected", CORRECTED)):
        for value, label in AGGREGATOR_LABELS.items():
            name = f"{base_name}+{value}"
            register_variant(name, f"{base_name} with torchjd's {label} aggregating the heads' "
                                   f"gradients on the shared encoder instead of their sum "
                                   f"(group {AGGREGATOR_GROUP})",
                             base.replace(aggregator=value), in_all=False)
            members.append(name)
    register_group(AGGREGATOR_GROUP, members)
