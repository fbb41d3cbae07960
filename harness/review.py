"""The review's claims (DESIGN.md section 4), declared once as data beside the axis table.

Each row says what the review claims and what the report shows for it: which measurements
answer it, which of them are shown as tables, which metrics the effects of its fixes are told
in, and which plots go with it. The fixes themselves are not listed here: each axis of
:data:`harness.design.AXES` names the claim it tests, so a claim's fixes are read from there.
The report's claim sections are built from this table by one builder
(:func:`harness.report.claims.build_claims`); a new claim is a new row, plus a sentence function
when it is answered from a measurement no other claim reads.

Plain data, importable without pandas or torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.design import AXES, Axis


@dataclass(frozen=True)
class Shown:
    """A measurement shown under a claim: its key in ``claim_measurements`` and its caption."""

    measurement: str
    caption: str


@dataclass(frozen=True)
class ReviewClaim:
    number: int
    title: str
    review_says: str
    # Measurements whose sentences open the answer, in this order. A measurement can answer
    # without being shown (the non-finite table of claim 3 has its own section).
    answered_from: tuple[str, ...]
    shown: tuple[Shown, ...]
    effects_caption: str
    # None: the report's primary metric, so that changing that one choice moves every claim
    # that has no reason of its own to look elsewhere.
    effect_metrics: tuple[str, ...] | None = None
    images: tuple[str, ...] = ()    # plot keys of the report


CLAIMS: tuple[ReviewClaim, ...] = (
    ReviewClaim(
        1, "LSTM coordinates are needlessly complex",
        "Replace the autoregressive LSTM coordinate head with an MLP.",
        answered_from=(), shown=(),
        effects_caption="Effect of the MLP head", effect_metrics=("tap_acc", "swipe_acc")),
    ReviewClaim(
        2, "The custom loss blocks gradient flow",
        "The penalty loss has non-differentiable operations that prevent gradient flow; "
        "use standard losses.",
        answered_from=("gradient_flow",),
        shown=(Shown("gradient_flow", "Gradient reaching the coordinate head"),),
        effects_caption="Effect of the standard loss", effect_metrics=("tap_acc",)),
    ReviewClaim(
        3, "Several backward passes cause gradient conflicts",
        "Multiple backward passes cause gradient conflicts and instability; use a single "
        "backward pass.",
        answered_from=("backward_agreement", "nonfinite"),
        shown=(Shown("backward_agreement", "Backward agreement (step 0)"),),
        effects_caption="Effect of a single backward"),
    ReviewClaim(
        4, "Outputs for all actions add noise",
        "Run the query head only for predicted TYPE and the coordinate head only for "
        "predicted gesture codes.",
        answered_from=("routing",),
        shown=(Shown("routing", "Rows each head ran on"),),
        effects_caption="Effect of routing"),
    ReviewClaim(
        5, "Unnormalized coordinates make the sigmoid ineffective",
        "Divide coordinates by the screen size.",
        answered_from=("target_range",),
        shown=(Shown("target_range", "Target-range audit"),),
        effects_caption="Effect of normalized coordinates", effect_metrics=("tap_acc",)),
    ReviewClaim(
        6, "Shared features interfere",
        "All heads share the same encoder output; add a separate projection per head.",
        answered_from=("head_conflict",),
        shown=(Shown("head_conflict", "Head-gradient cosine and conflict rate"),),
        effects_caption="Effect of per-head projections", images=("head_cosine",)),
    ReviewClaim(
        7, "Warmup, clipping and LayerNorm",
        "Add a 10-epoch warmup (LambdaLR stepped per epoch), gradient clipping at 1.0 and a "
        "LayerNorm after the encoder.",
        answered_from=("zero_lr_spans", "clipping"),
        shown=(Shown("clipping", "Clipping"),),
        effects_caption="Effects of warmup, clipping and LayerNorm", images=("lr",)),
)


def mismatches(claims: tuple[ReviewClaim, ...], axes: dict[str, Axis]) -> list[str]:
    """How the claim table and the axis table disagree: an axis testing an undeclared claim,
    a declared claim that no axis tests, a number declared twice. Empty when they agree."""
    numbers = [c.number for c in claims]
    problems = [f"claim {n} is declared more than once"
                for n in sorted({n for n in numbers if numbers.count(n) > 1})]
    problems += [f"axis {a.name!r} tests claim {a.claim}, which the review table lacks"
                 for a in axes.values() if a.claim not in numbers]
    tested = {a.claim for a in axes.values()}
    problems += [f"claim {n} is tested by no axis" for n in numbers if n not in tested]
    return problems


# Checked at import, as design.py checks its fields, so that a claim added to one table and
# not the other fails on the first import rather than as a silently empty report section.
_problems = mismatches(CLAIMS, AXES)
if _problems:
    raise RuntimeError("harness.review.CLAIMS and harness.design.AXES disagree: "
                       + "; ".join(_problems))
