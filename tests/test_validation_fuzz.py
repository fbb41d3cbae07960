"""Property: whatever a corrupted record looks like, the validator either accepts it or
answers with one clear DataError naming the file, episode and step; nothing else escapes."""

from __future__ import annotations

import json
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.aitz import parse_step as aitz_parse_step
from harness.data.types import PIXEL, Dataset, Units
from harness.data.user_json import parse_step
from harness.errors import DataError
from tests.fuzz import jsontext
from tests.fuzz.invariants import broken_rule

UNITS = Units(PIXEL, (1080, 2400))
VALID = {"prompt": "Goal: open clock. Screen: home", "coordinates": [[10, 20, 100, 50]],
         "results": {"action_type": 4, "type_action": "", "touch_coords": [50, 40],
                     "lift_coords": [60, 900]}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=12)

PATHS = [(), ("prompt",), ("coordinates",), ("coordinates", 0), ("coordinates", 0, 2),
         ("results",), ("results", "action_type"), ("results", "type_action"),
         ("results", "touch_coords"), ("results", "touch_coords", 1), ("results", "lift_coords")]


corrupt = jsontext.set_path     # the fuzz suite's own: a deep copy, one value replaced


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(PATHS), value=json_values, delete=st.booleans())
def test_corrupted_records_are_accepted_or_named(path, value, delete):
    record = corrupt(VALID, path, value, delete and bool(path))
    try:
        step = parse_step(record, file="episodes.json", episode="ep-7", index=3, units=UNITS)
    except DataError as exc:
        assert str(exc).startswith("episodes.json, episode 'ep-7', step 3: "), str(exc)
        assert "\n" not in str(exc)
        return
    # accepted: then it is a well-formed step
    assert step.action_type in (3, 4, 5, 6, 7, 10, 11)
    assert all(math.isfinite(v) for v in (*step.touch, *step.lift))
    assert isinstance(step.prompt, str) and step.prompt.strip()
    problem = broken_rule(Dataset([step], UNITS, "episodes.json"))
    assert problem is None, problem


# The same property for one AiTZ step (the real sample's swipe), whose fields are mostly
# JSON-encoded lists inside strings: the corrupted value may also be such a string.
AITZ_SAMPLE = (Path(__file__).parent / "data" / "aitz-sample"
               / "GOOGLE_APPS-523638528775825151.json")
AITZ_STEP = json.loads(AITZ_SAMPLE.read_text(encoding="utf-8"))[1]
AITZ_PATHS = [(), ("episode_id",), ("step_id",), ("episode_length",), ("instruction",),
              ("ui_positions",), ("ui_text",), ("ui_types",), ("result_action_type",),
              ("result_action_text",), ("result_touch_yx",), ("result_lift_yx",)]
encoded = json_values.map(lambda v: json.dumps(v, allow_nan=True))


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(AITZ_PATHS), value=json_values | encoded, delete=st.booleans())
def test_corrupted_aitz_steps_are_accepted_or_named(path, value, delete):
    record = corrupt(AITZ_STEP, path, value, delete and bool(path))
    try:
        step = aitz_parse_step(record, file="ep.json", position=1, screen=(270, 600))
    except DataError as exc:
        assert str(exc).startswith("ep.json, "), str(exc)
        assert "\n" not in str(exc)
        return
    problem = broken_rule(Dataset([step], Units("normalized", (270, 600)), "ep.json"))
    assert problem is None, problem
