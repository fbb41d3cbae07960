"""Generated AiTZ inputs, made from the real sample episode (``tests/data/aitz-sample``): each
field given each kind of bad value, the episode's step ids and length damaged, damage to the
file as text, random mutations, folders with a ``dataset.json``, and valid variants."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from harness.data.formats import read_dataset
from harness.data.aitz import read_aitz
from tests.fuzz import jsontext
from tests.fuzz.invariants import broken_rule, equals
from tests.fuzz.runner import EITHER, ERROR, READ, Attempt, Case

FAMILY = "aitz"
SAMPLE = (Path(__file__).parent.parent / "data" / "aitz-sample"
          / "GOOGLE_APPS-523638528775825151.json")
SCREEN = (270, 600)
BASE = json.loads(SAMPLE.read_text(encoding="utf-8"))
STEPS = read_aitz(SAMPLE, screen=SCREEN).steps
HOME, SWIPE, TAP, DONE = range(4)     # PRESS_HOME, DUAL_POINT swipe, DUAL_POINT tap, COMPLETE
NAN, INF = float("nan"), float("inf")


def _file_case(name: str, expect: str, data: bytes, check=None, screen=SCREEN) -> Case:
    def make(folder: Path) -> Attempt:
        path = folder / SAMPLE.name
        path.write_bytes(data)
        return Attempt(lambda: read_dataset(path, "aitz", None, screen), str(path),
                       check or broken_rule)
    return Case(FAMILY, name, expect, make)


def _content_case(name: str, expect: str, content, check=None) -> Case:
    return _file_case(name, expect, jsontext.dumps(content), check)


def _encoded(values) -> str:
    return json.dumps(values, allow_nan=True)


def _first_box(value) -> str:
    """ui_positions of step 0 with its first box replaced (the lists keep their lengths)."""
    boxes = json.loads(BASE[HOME]["ui_positions"])
    return _encoded([value] + boxes[1:])


# --------------------------------------------------------------------------- field damage

FIELD_DAMAGE = {
    "episode_id": [None, 5, ["x"], "\ud800"],
    "step_id": [None, -1, 2**70, 4, 7, "0", 1.0, True, 10**400],
    "episode_length": [None, 0, -1, "4", 3, 5, 2**70, True, 4.0, 1],
    "instruction": [None, "", "   ", 5, "\ud800 open clock"],
    "ui_positions": [None, "", "[", '{"a": 1}', "[[1, 2, 3]]", "5", "null",
                     _first_box([54, -5, 8, 12]), _first_box([54, 1e308, 8, 12]),
                     _first_box([10**400, 17, 8, 12]), _first_box([NAN, 17, 8, 12]),
                     _first_box([54, INF, 8, 12]), _first_box([54, 17, 8, 1000]),
                     _first_box([54, 17, -8, 12]), _first_box([590, 17, 20, 12]),
                     _first_box("x"), _first_box([54, 17, 8]), _first_box([True, 17, 8, 12]),
                     '[[54, 17, 8, 12], ' + jsontext.deep(5000) + "]",
                     "[[" + "9" * 4400 + ", 17, 8, 12]]", "[[1e400, 17, 8, 12]]",
                     '[[54, 17, 8, 12], [54, 17, 8, 12], {"a": 1, "a": 2}]'],
    "ui_text": [None, 5, '["M"]', '{"a": 1}', _encoded([1] * 15), '["\\ud800"' + ', "x"' * 14
                + "]", "[", '"x"'],
    "ui_types": [None, '["TEXT"]', _encoded([None] * 15), "]"],
    "result_action_type": [None, "6", True, 6.0, 0, 1, 2, 8, 9, 12, -3, 10**400],
    "result_action_text": [None, 5, "\ud800"],
    "result_touch_yx": [None, "", "[0.5]", "[1.5, 0.5]", "[-5, 0.5]", "[NaN, 0.5]",
                        "[1e400, 0.5]", '"x"', '[["a"], 0.5]', "[0.5, 0.5, 0.5]", "{}",
                        "[" + "1" * 4400 + ", 0]"],
    "result_lift_yx": [None, "[0.5]", "[0.5, 2]", "[0.5, -0.01]", "[Infinity, 0]"],
}


def field_cases() -> list[Case]:
    cases = []
    for pos in range(4):
        for key, values in FIELD_DAMAGE.items():
            for v in values:
                if key == "result_action_type" and v == BASE[pos][key]:
                    continue
                content = jsontext.set_path(BASE, (pos, key), v)
                cases.append(_content_case(f"step {pos} {key} = {v!r:.50}", ERROR, content))
            content = jsontext.set_path(BASE, (pos, key), None, delete=True)
            cases.append(_content_case(f"step {pos} {key} missing", ERROR, content))
    for pos in (HOME, DONE):        # actions without a gesture, given a point
        for key in ("result_touch_yx", "result_lift_yx"):
            for v in ("[0.5, 0.5]", "[0, 0]", "[-1, 0.5]", "[1, 1]"):
                content = jsontext.set_path(BASE, (pos, key), v)
                cases.append(_content_case(f"step {pos} (no gesture) {key} = {v}", ERROR,
                                           content))
    for pos in (SWIPE, TAP):       # DUAL_POINT without a point
        for key in ("result_touch_yx", "result_lift_yx"):
            content = jsontext.set_path(BASE, (pos, key), "[-1.0, -1.0]")
            cases.append(_content_case(f"step {pos} (DUAL_POINT) {key} = [-1, -1]", ERROR,
                                       content))
    for text in ("", " ", "\t\n", "   "):
        typed = jsontext.set_path(BASE, (HOME, "result_action_type"), 3)
        typed = jsontext.set_path(typed, (HOME, "result_action_text"), text)
        cases.append(_content_case(f"TYPE step with text {text!r}", ERROR, typed))
    return cases


def episode_cases() -> list[Case]:
    def with_ids(ids, length=4):
        content = [dict(step, step_id=i, episode_length=length) for step, i in zip(BASE, ids)]
        return content

    cases = [
        _content_case("step ids 0, 1, 1, 3", ERROR, with_ids([0, 1, 1, 3])),
        _content_case("step ids 0, 1, 2, 2", ERROR, with_ids([0, 1, 2, 2])),
        _content_case("step ids 1, 2, 3, 4", ERROR, with_ids([1, 2, 3, 4])),
        _content_case("step ids 0, 1, 2, 3 of 5", ERROR, with_ids([0, 1, 2, 3], 5)),
        _content_case("step ids 0, 1, 2, 3 of 2^70", ERROR, with_ids([0, 1, 2, 3], 2**70)),
        _content_case("step ids 0, 1, 2, 2^70 of 2^71", ERROR,
                      with_ids([0, 1, 2, 2**70], 2**71)),
        _content_case("step ids -1, 0, 1, 2", ERROR, with_ids([-1, 0, 1, 2])),
        _content_case("first three steps only", ERROR, BASE[:3]),
        _content_case("last step only", ERROR, BASE[3:]),
        _content_case("episode_length 4, 4, 3, 4", ERROR,
                      jsontext.set_path(BASE, (TAP, "episode_length"), 3)),
        _content_case("two episode ids", ERROR,
                      jsontext.set_path(BASE, (DONE, "episode_id"), "other")),
        _content_case("an empty list", ERROR, []),
        _content_case("an object", ERROR, {"steps": BASE}),
        _content_case("a list of lists", ERROR, [BASE]),
    ]
    for pos in range(4):
        for v in (None, 5, "x", [], {}):
            cases.append(_content_case(f"step {pos} = {v!r}", ERROR,
                                       jsontext.set_path(BASE, (pos,), v)))
    return cases


# --------------------------------------------------------------------------- text damage

def text_cases(rng: random.Random) -> list[Case]:
    data = jsontext.dumps(BASE)
    text = data.decode()
    cases = [
        _file_case("empty file", ERROR, b""),
        _file_case("whitespace only", ERROR, b" \n"),
        _file_case("step key twice", ERROR,
                   text.replace('"step_id": 0', '"step_id": 0, "step_id": 1', 1).encode()),
        _file_case("nested 100,000 deep", ERROR, jsontext.deep(100_000).encode()),
        _file_case("a 4,300-digit step_id", ERROR,
                   text.replace('"step_id": 0', '"step_id": ' + "1" * 4400, 1).encode()),
        _file_case("UTF-16 text", ERROR, text.encode("utf-16")),
        _file_case("two lists", ERROR, data + data),
    ]
    cases += [_file_case(label, expect, damaged)
              for label, expect, damaged in jsontext.file_damages(data, rng)]
    return cases


def random_cases(rng: random.Random) -> list[Case]:
    return [_content_case(f"random #{i}: {label}", EITHER, content)
            for i, (label, content) in enumerate(jsontext.random_mutations(BASE, rng, 60))]


# --------------------------------------------------------------------------- folders

def _folder_case(name: str, expect: str, meta, screen, check=None, split=False) -> Case:
    def make(folder: Path) -> Attempt:
        if split:
            (folder / "a").mkdir()
            (folder / "a" / "first.json").write_bytes(jsontext.dumps(BASE[:2]))
            (folder / "second.json").write_bytes(jsontext.dumps(BASE[2:]))
        else:
            shutil.copy(SAMPLE, folder / SAMPLE.name)
        if meta is not None:
            (folder / "dataset.json").write_bytes(meta)
        blame = folder / "dataset.json" if b"screen_size" in (meta or b"") else folder
        return Attempt(lambda: read_dataset(folder, None, None, screen),
                       str(blame if expect == ERROR else folder), check or broken_rule)
    return Case(FAMILY, name, expect, make)


def folder_cases() -> list[Case]:
    aitz = jsontext.dumps({"format": "aitz"})
    sized = jsontext.dumps({"format": "aitz", "screen_size": list(SCREEN)})
    return [
        _folder_case("folder, screen given", READ, None, SCREEN, equals(STEPS)),
        _folder_case("folder, no screen", ERROR, None, None),
        _folder_case("dataset.json says aitz, screen given", READ, aitz, SCREEN, equals(STEPS)),
        _folder_case("dataset.json says aitz and its screen size", READ, sized, None,
                     equals(STEPS)),
        _folder_case("dataset.json says aitz, no screen", ERROR, aitz, None),
        _folder_case("dataset.json says aitz, screen_size 'big'", ERROR,
                     jsontext.dumps({"format": "aitz", "screen_size": "big"}), None),
        _folder_case("dataset.json says aitz, screen_size [Infinity, 600]", ERROR,
                     jsontext.dumps({"format": "aitz", "screen_size": [INF, 600]}), None),
        _folder_case("episode split over two files", READ, None, SCREEN, equals(STEPS),
                     split=True),
        _folder_case("dataset.json says user-json", ERROR,
                     jsontext.dumps({"format": "user-json", "units": "normalized"}), None),
    ]


def valid_cases() -> list[Case]:
    reordered = [BASE[2], BASE[0], BASE[3], BASE[1]]
    extra = jsontext.set_path(BASE, (0, "annotator"), {"id": 7})
    return [
        _content_case("steps out of order", READ, reordered, equals(STEPS)),
        _content_case("an unknown field", READ, extra, equals(STEPS)),
        _file_case("indented", READ, json.dumps(BASE, indent=2).encode(), equals(STEPS)),
        _file_case("a wrong but plausible screen size", EITHER, jsontext.dumps(BASE),
                   screen=(300, 700)),
    ]


def cases(seed: int = 23) -> list[Case]:
    rng = random.Random(seed)
    return (field_cases() + episode_cases() + text_cases(rng) + random_cases(rng)
            + folder_cases() + valid_cases())


__all__ = ["cases", "FAMILY"]
