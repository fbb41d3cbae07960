"""The report's claim sections come from the declared table of harness.review: that table and
the axis table agree, a row added to it is a section with no other change, and every sentence
function is reached through it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pandas as pd
import pytest

from harness import review
from harness.design import AXES
from harness.report import analysis as A
from harness.report import claims as C
from harness.review import CLAIMS, ReviewClaim, Shown, mismatches
from tests.test_findings import everything


@pytest.fixture(scope="module")
def records():
    return everything()


def built(records):
    return C.build_claims(A.claim_measurements(records), A.effects_table(records))


def test_claim_table_and_axis_table_agree():
    assert mismatches(CLAIMS, AXES) == []
    assert sorted({a.claim for a in AXES.values()}) == [c.number for c in CLAIMS]


def test_disagreements_are_named():
    without_4 = tuple(c for c in CLAIMS if c.number != 4)
    assert mismatches(without_4, AXES) == [
        f"axis {a.name!r} tests claim 4, which the review table lacks"
        for a in AXES.values() if a.claim == 4]
    extra = CLAIMS + (dataclasses.replace(CLAIMS[0], number=9),)
    assert mismatches(extra, AXES) == ["claim 9 is tested by no axis"]
    twice = CLAIMS + (CLAIMS[2],)
    assert mismatches(twice, AXES) == ["claim 3 is declared more than once"]


def test_review_table_imports_without_pandas_or_torch():
    code = ("import sys, harness.review; "
            "print(sorted(m for m in ('pandas', 'torch', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_sections_follow_the_table(records):
    claims = built(records)
    assert [c.number for c in claims] == [d.number for d in CLAIMS]
    for c, d in zip(claims, CLAIMS):
        assert (c.title, c.review_says) == (d.title, d.review_says)
        captions = [caption for caption, _ in c.tables]
        assert captions == [s.caption for s in d.shown] + [d.effects_caption]
        assert c.images == list(d.images)


def test_a_declared_row_is_a_section_without_other_code(records, monkeypatch):
    # Claim 8 takes over the routing axis: its fix, measurement and texts must all follow.
    new = ReviewClaim(8, "A made-up claim", "Something the review did not say.",
                      answered_from=("routing", "clipping"),
                      shown=(Shown("scheduler_events", "Scheduler events, shown here"),),
                      effects_caption="Effect of routing, under claim 8",
                      effect_metrics=("step_acc", "tap_acc"), images=("lr", "head_cosine"))
    monkeypatch.setattr(review, "CLAIMS", CLAIMS + (new,))
    monkeypatch.setitem(AXES, "routing", dataclasses.replace(AXES["routing"], claim=8))
    claims = built(records)
    assert [c.number for c in claims] == [1, 2, 3, 4, 5, 6, 7, 8]
    eight, four = claims[-1], claims[3]
    assert eight.title == "A made-up claim"
    assert eight.review_says == "Something the review did not say."
    assert [caption for caption, _ in eight.tables] == ["Scheduler events, shown here",
                                                        "Effect of routing, under claim 8"]
    assert eight.images == ["lr", "head_cosine"]
    text = "\n".join(eight.answer)
    assert "With routing, the query head ran on" in text
    assert "Both designs already clip at 1.0" in text
    assert "original+routing against original" in text
    assert A.METRICS["step_acc"] in text and A.METRICS["tap_acc"] in text
    assert list(eight.tables[-1][1].fix.unique()) == ["routing"]
    # ...and claim 4, whose routing axis moved, keeps its measurement but no longer that fix
    assert four.tables[0][0] == "Rows each head ran on"
    assert "routing" not in set(four.tables[-1][1].get("fix", ()))
    assert not any("original+routing against" in sentence for sentence in four.answer)


def test_every_sentence_function_is_declared_and_every_declared_one_exists():
    declared = {key for c in CLAIMS for key in c.answered_from}
    assert set(C.ANSWERS) == declared


def test_declared_measurements_are_measured(records):
    measured = set(A.claim_measurements(records))
    for c in CLAIMS:
        assert set(c.answered_from) <= measured, c.number
        assert {s.measurement for s in c.shown} <= measured, c.number
        assert all(m in A.METRICS for m in c.effect_metrics or ()), c.number


def test_each_sentence_function_speaks_in_its_claims(monkeypatch):
    """Through the builder, each registered function gives its sentence in every claim that
    declares its measurement, and an empty measurement gives none."""
    monkeypatch.setattr(C, "ANSWERS", {key: (lambda k: lambda table: [f"from {k}"])(key)
                                       for key in C.ANSWERS})
    measured = {key: pd.DataFrame({"x": [1]}) for key in C.ANSWERS}
    measured |= {s.measurement: pd.DataFrame() for c in CLAIMS for s in c.shown
                 if s.measurement not in measured}
    empty_effects = A.effects_table(everything()).iloc[0:0]
    for c, d in zip(C.build_claims(measured, empty_effects), CLAIMS):
        assert c.answer == [f"from {key}" for key in d.answered_from], c.number
    measured = {key: pd.DataFrame() for key in measured}
    assert all(c.answer == [] for c in C.build_claims(measured, empty_effects))


def test_a_second_function_for_one_measurement_is_refused():
    with pytest.raises(ValueError, match="routing"):
        C.answers("routing")(lambda table: [])
