"""Generated user-json inputs: each field of a step given each kind of bad value, damage to
the file as text, a folder's dataset.json damaged, random mutations, and valid variants that
must read to exactly the steps of the original."""

from __future__ import annotations

import json
import random
from pathlib import Path

from harness.data.formats import read_dataset
from harness.data.types import PIXEL
from harness.data.user_json import step_to_json
from tests.conftest import SCREEN, toy_steps
from tests.fuzz import jsontext
from tests.fuzz.invariants import broken_rule, equals
from tests.fuzz.runner import EITHER, ERROR, READ, Attempt, Case

FAMILY = "user-json"
STEPS = toy_steps(3, seed=5)       # 3 episodes of HOME, tap, TYPE, ENTER, swipe, COMPLETE
NAN, INF = float("nan"), float("inf")


def base_content() -> dict:
    content: dict = {}
    for s in STEPS:
        content.setdefault(s.episode, []).append(step_to_json(s))
    return content


BASE = base_content()
EP = next(iter(BASE))
HOME, TAP, TYPE, ENTER, SWIPE, DONE = range(6)     # step positions within an episode


def _file_case(name: str, expect: str, data: bytes, check=None, units=PIXEL,
               screen=SCREEN) -> Case:
    def make(folder: Path) -> Attempt:
        path = folder / "episodes.json"
        path.write_bytes(data)
        return Attempt(lambda: read_dataset(path, "user-json", units, screen), str(path),
                       check or broken_rule)
    return Case(FAMILY, name, expect, make)


def _content_case(name: str, expect: str, content, check=None) -> Case:
    return _file_case(name, expect, jsontext.dumps(content), check)


# --------------------------------------------------------------------------- field damage

BAD_PROMPTS = [None, 5, "", "   ", "\t\n", "\ud800 open clock", [], True]
BAD_BOXES = [None, "x", [[1, 2, 3]], [[1, 2, 3, 4, 5]], [[-5, 0, 10, 10]], [[1e308, 0, 10, 10]],
             [[0, 0, 1e308, 1]], [[10**400, 0, 1, 1]], [[NAN, 0, 1, 1]], [[INF, 0, 1, 1]],
             [[0, 0, -1, 5]], [[True, 0, 1, 1]], [["1", 0, 1, 1]], [[0, 0, 2000, 10]],
             [[0, 2390, 5, 20]], [[0, -2, 5, 20]], [None], [[]], {"a": 1}]
BAD_RESULTS = [None, [], "x", 4]
BAD_CODES = [None, "4", 4.0, True, 0, 1, 2, 8, 9, 12, -1, 10**400, 2**70]
BAD_TYPED = [None, 5, "", "   ", "\t\n", "\ud800"]
BAD_GESTURE = [None, [1], [1, 2, 3], [-1, -1], [-5, 10], [1e308, 5], [10**400, 5], [NAN, 5],
               [INF, 5], [5000, 10], [10, 2401], ["5", 5], [True, 5], "5,5", [[5, 5]]]
POINT_WITHOUT_GESTURE = [[5, 5], [0, 0], [-1, 5], [540, 1200], [-1, -1.5]]
BAD_STEPS = [None, 5, "x", [], {}]
BAD_EPISODES = [[], {}, "x", None, 5, [None]]


def field_cases() -> list[Case]:
    cases = []

    def add(label, path, value, delete=False):
        content = jsontext.set_path(BASE, path, value, delete)
        cases.append(_content_case(label, ERROR, content))

    for pos in (HOME, TAP, DONE):
        for v in BAD_PROMPTS:
            add(f"step {pos} prompt = {v!r}", (EP, pos, "prompt"), v)
        add(f"step {pos} prompt missing", (EP, pos, "prompt"), None, delete=True)
        add(f"step {pos} results missing", (EP, pos, "results"), None, delete=True)
        for v in BAD_RESULTS:
            add(f"step {pos} results = {v!r}", (EP, pos, "results"), v)
        for v in BAD_CODES:
            add(f"step {pos} action_type = {v!r:.30}", (EP, pos, "results", "action_type"), v)
        for v in BAD_STEPS:
            add(f"step {pos} = {v!r}", (EP, pos), v)
    for pos in (TAP, SWIPE):
        for v in BAD_BOXES:
            add(f"step {pos} coordinates = {v!r:.40}", (EP, pos, "coordinates"), v)
        add(f"step {pos} coordinates missing", (EP, pos, "coordinates"), None, delete=True)
        for key in ("touch_coords", "lift_coords"):
            for v in BAD_GESTURE:
                add(f"step {pos} {key} = {v!r:.30}", (EP, pos, "results", key), v)
            add(f"step {pos} {key} missing", (EP, pos, "results", key), None, delete=True)
    for pos in (HOME, TYPE, ENTER, DONE):
        for key in ("touch_coords", "lift_coords"):
            for v in POINT_WITHOUT_GESTURE:
                add(f"step {pos} (no gesture) {key} = {v}", (EP, pos, "results", key), v)
    for v in BAD_TYPED:
        add(f"TYPE step type_action = {v!r}", (EP, TYPE, "results", "type_action"), v)
    add("TYPE step type_action missing", (EP, TYPE, "results", "type_action"), None, True)
    for v in BAD_EPISODES:
        add(f"episode = {v!r}", (EP,), v)
    surrogate = {("\ud800" if k == EP else k): v for k, v in BASE.items()}
    cases.append(_content_case("episode key with a lone surrogate", ERROR, surrogate))
    for v in ([], "x", 5, None, {}):
        cases.append(_content_case(f"top level = {v!r}", ERROR, v))
    return cases


# --------------------------------------------------------------------------- text damage

def text_cases(rng: random.Random) -> list[Case]:
    data = jsontext.dumps(BASE)
    text = data.decode()
    first_step = json.dumps(BASE[EP][0])
    cases = [
        _file_case("empty file", ERROR, b""),
        _file_case("whitespace only", ERROR, b"  \n "),
        _file_case("episode key twice", ERROR,
                   (text[:-1] + ", " + json.dumps(EP) + ": [" + first_step + "]}").encode()),
        _file_case("step key twice", ERROR,
                   text.replace('"prompt": ', '"prompt": "again", "prompt": ', 1).encode()),
        _file_case("results key twice", ERROR,
                   text.replace('"action_type": ', '"action_type": 6, "action_type": ', 1)
                   .encode()),
        _file_case("nested 100,000 deep", ERROR, jsontext.deep(100_000).encode()),
        _file_case("a box nested 5,000 deep", ERROR,
                   text.replace('"coordinates": [', '"coordinates": [' + jsontext.deep(5000)
                                + ", ", 1).encode()),
        _file_case("a box nested 900 deep", ERROR,
                   text.replace('"coordinates": [', '"coordinates": [' + jsontext.deep(900)
                                + ", ", 1).encode()),
        _file_case("a 4,300-digit number", ERROR,
                   text.replace('"coordinates": [[', '"coordinates": [[' + "9" * 4300 + ", ",
                                1).encode()),
        _file_case("a 5,000-digit action code", ERROR,
                   text.replace('"action_type": 6', '"action_type": ' + "6" * 5000, 1)
                   .encode()),
        _file_case("1e400 in a box", ERROR,
                   text.replace('"coordinates": [[', '"coordinates": [[1e400, ', 1).encode()),
        _file_case("-1e400 in a touch", ERROR,
                   text.replace('"touch_coords": [-1.0', '"touch_coords": [-1e400', 1)
                   .encode()),
        _file_case("UTF-8 byte-order mark", EITHER, b"\xef\xbb\xbf" + data),
        _file_case("UTF-16 text", ERROR, text.encode("utf-16")),
        _file_case("NUL bytes", ERROR, b"\x00" * 64),
        _file_case("two objects", ERROR, data + b" " + data),
    ]
    cases += [_file_case(label, expect, damaged)
              for label, expect, damaged in jsontext.file_damages(data, rng)]
    return cases


def random_cases(rng: random.Random) -> list[Case]:
    return [_content_case(f"random #{i}: {label}", EITHER, content)
            for i, (label, content) in enumerate(jsontext.random_mutations(BASE, rng, 80))]


# --------------------------------------------------------------------------- dataset.json

BAD_SCREEN_SIZES = ["1080x2400", [1080], [1080, "2400"], [INF, 2400],
                    [-1080, 2400], [0, 2400], [1080.5, 2400], [True, 2400], 0, [], {}, "",
                    [1080, 2400, 3], [10**400, 2400], [NAN, NAN]]
BAD_UNITS = ["px", 5, ["pixel"], "", "PIXEL"]
BAD_FORMATS = ["csv", 5, ["user-json"], "", "aitz", "aitw-tfrecord"]


def _folder_case(name: str, expect: str, meta: bytes | None, check=None, screen=None) -> Case:
    def make(folder: Path) -> Attempt:
        (folder / "episodes.json").write_bytes(jsontext.dumps(BASE))
        if meta is not None:
            (folder / "dataset.json").write_bytes(meta)
        blame = folder / "dataset.json" if expect == ERROR and meta is not None else folder
        return Attempt(lambda: read_dataset(folder, None, None, screen), str(blame),
                       check or broken_rule)
    return Case(FAMILY, name, expect, make)


def metadata_cases() -> list[Case]:
    good = {"format": "user-json", "units": "pixel", "screen_size": list(SCREEN)}
    cases = [_folder_case("dataset.json valid", READ, jsontext.dumps(good), equals(STEPS)),
             _folder_case("dataset.json with an unknown key", READ,
                          jsontext.dumps({**good, "note": [1, {"x": None}]}), equals(STEPS)),
             _folder_case("dataset.json without format", READ,
                          jsontext.dumps({"units": "pixel", "screen_size": list(SCREEN)}),
                          equals(STEPS))]
    for v in BAD_SCREEN_SIZES:
        cases.append(_folder_case(f"dataset.json screen_size = {v!r:.30}", ERROR,
                                  jsontext.dumps({**good, "screen_size": v})))
    for v in BAD_UNITS:
        cases.append(_folder_case(f"dataset.json units = {v!r}", ERROR,
                                  jsontext.dumps({**good, "units": v})))
    for v in BAD_FORMATS:
        meta = jsontext.dumps({**good, "format": v})
        # user-json files under another format's name: that reader refuses them, naming a file
        blame_folder = v in ("aitz", "aitw-tfrecord")
        case = _folder_case(f"dataset.json format = {v!r}", ERROR, meta)
        if blame_folder:
            case = _folder_case_blaming_folder(case.name, meta)
        cases.append(case)
    for label, meta in [("not JSON", b"{units: pixel"), ("a list", b"[]"), ("empty", b""),
                        ("not UTF-8", b'{"units": "\xff"}'),
                        ("keys twice", b'{"units": "pixel", "units": "normalized"}'),
                        ("nested 100,000 deep", jsontext.deep(100_000).encode()),
                        ("a 1e400 size", b'{"units": "pixel", "screen_size": [1e400, 2400]}'),
                        ("a 4,300-digit size",
                         b'{"units": "pixel", "screen_size": [' + b"1" * 4400 + b", 5]}")]:
        cases.append(_folder_case(f"dataset.json {label}", ERROR, meta))
    return cases


def _folder_case_blaming_folder(name: str, meta: bytes) -> Case:
    def make(folder: Path) -> Attempt:
        (folder / "episodes.json").write_bytes(jsontext.dumps(BASE))
        (folder / "dataset.json").write_bytes(meta)
        return Attempt(lambda: read_dataset(folder, None, None, None), str(folder))
    return Case(FAMILY, name, ERROR, make)


# --------------------------------------------------------------------------- valid variants

def valid_cases(rng: random.Random) -> list[Case]:
    shuffled = {}
    for ep, steps in BASE.items():
        shuffled[ep] = [{k: (dict(reversed(list(v.items()))) if isinstance(v, dict) else v)
                         for k, v in reversed(list(step.items()))} for step in steps]
    extra = jsontext.set_path(BASE, (EP, HOME, "screenshot"), "a.png")
    extra = jsontext.set_path(extra, (EP, TAP, "results", "confidence"), 0.5)
    floats = json.loads(json.dumps(BASE), parse_int=float)
    floats = {ep: [{**s, "results": {**s["results"], "action_type":
                                     int(s["results"]["action_type"])}} for s in steps]
              for ep, steps in floats.items()}
    cases = [
        _content_case("keys in another order", READ, shuffled, equals(STEPS)),
        _content_case("unknown fields", READ, extra, equals(STEPS)),
        _content_case("numbers written as floats", READ, floats, equals(STEPS)),
        _file_case("indented", READ, json.dumps(BASE, indent=4).encode(), equals(STEPS)),
        _file_case("non-ASCII escapes written as UTF-8", READ,
                   json.dumps(BASE, ensure_ascii=False).encode("utf-8"), equals(STEPS)),
        _file_case("normalized units", READ, jsontext.dumps(_normalized()),
                   equals(_normalized_steps()), units="normalized", screen=None),
    ]
    return cases


def _normalized():
    content = {}
    for s in _normalized_steps():
        content.setdefault(s.episode, []).append(step_to_json(s))
    return content


def _normalized_steps():
    from dataclasses import replace
    w, h = SCREEN

    def scale(point):
        return point if point == (-1.0, -1.0) else (point[0] / w, point[1] / h)
    return [replace(s, boxes=tuple((x / w, y / h, bw / w, bh / h) for x, y, bw, bh in s.boxes),
                    touch=scale(s.touch), lift=scale(s.lift)) for s in STEPS]


def cases(seed: int = 23) -> list[Case]:
    rng = random.Random(seed)
    return (field_cases() + text_cases(rng) + random_cases(rng) + metadata_cases()
            + valid_cases(rng))


__all__ = ["cases", "FAMILY"]
