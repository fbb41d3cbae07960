"""Readers for the real-data formats: AiTZ JSON, AitW GZIP TFRecords, and format detection.

The AiTZ expectations are literals read off ``tests/data/aitz-sample/*.json`` by hand, so a
reader that swaps the wrong axes or divides by the wrong side fails here, not in a training run.
"""

import gzip
import json
import shutil
import struct
import sys
from pathlib import Path

import pytest

from harness import actions
from harness.data import synthetic
from harness.data.aitw_tfrecord import looks_like_tfrecord, read_aitw_tfrecord
from harness.data.aitz import looks_like_aitz, read_aitz
from harness.data.formats import FORMATS, detect_format, read_dataset
from harness.data.prompts import render_prompt
from harness.data.types import NORMALIZED, Step, StepsByEpisode, Units
from harness.data.user_json import write_user_json
from harness.errors import DataError, HarnessInputError
from tests.conftest import toy_dataset
from tests.writers.aitw_tfrecord import write_aitw_tfrecord

SAMPLE_DIR = Path(__file__).parent / "data" / "aitz-sample"
SAMPLE = SAMPLE_DIR / "GOOGLE_APPS-523638528775825151.json"
EPISODE = "523638528775825151"
GOAL = 'open app "Clock" (install if not already installed)'
SCREEN = (270, 600)



def has_tfrecord() -> bool:
    """The optional ``tfrecord`` package (extra ``[aitw]``); tests that write TFRecords skip
    without it, and the one that checks the install hint runs either way."""
    try:
        import tfrecord  # noqa: F401
    except ImportError:
        return False
    return True


needs_tfrecord = pytest.mark.skipif(not has_tfrecord(),
                                    reason="the optional 'tfrecord' package is not installed")


def f32(value: float) -> float:
    """What a float feature holds after a float32 round trip."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


# --------------------------------------------------------------------------- prompts

def test_prompt_matches_the_synthetic_style():
    elements = [("TEXT", "Clock"), ("ICON_PLAY", ""), ("BUTTON", "Install"), ("TEXT", "")]
    assert (render_prompt("open clock", elements, screen="Home", previous="PRESS_HOME")
            == synthetic.render_prompt("open clock", "Home", "PRESS_HOME", elements))
    assert (render_prompt("open clock", elements)
            == "Goal: open clock. Elements: Clock ; play ; Install button ; text")


# --------------------------------------------------------------------------- AiTZ

def test_aitz_sample_in_the_harness_convention():
    data = read_aitz(SAMPLE, screen=SCREEN)
    assert data.units == Units(NORMALIZED, SCREEN)
    assert data.axis_order_in_source == "yx"
    assert any("[y, x] -> (x, y)" in n and "270x600" in n for n in data.notes)
    assert [(s.episode, s.index) for s in data.steps] == [(EPISODE, i) for i in range(4)]
    assert [s.action_type for s in data.steps] == [6, 4, 4, 10]
    assert [len(s.boxes) for s in data.steps] == [15, 14, 42, 11]
    home, swipe, tap, done = data.steps
    # step 1 (swipe up): touch_yx [0.541063666343689, 0.5073748230934143],
    #                    lift_yx  [0.001115699764341116, 0.5788536071777344]
    assert swipe.touch == (0.5073748230934143, 0.541063666343689)
    assert swipe.lift == (0.5788536071777344, 0.001115699764341116)
    # step 2 (tap): touch_yx [0.49836206436157227, 0.6069772839546204],
    #               lift_yx  [0.49669790267944336, 0.6069772839546204]
    assert tap.touch == (0.6069772839546204, 0.49836206436157227)
    assert tap.lift == (0.6069772839546204, 0.49669790267944336)
    for step in (home, done):
        assert step.touch == step.lift == (-1.0, -1.0)
        assert step.type_text == ""
    # step 0's first box: [y, x, h, w] = [54, 17, 8, 12] pixels of 270 x 600
    assert home.boxes[0] == (17 / 270, 54 / 600, 12 / 270, 8 / 600)


def test_aitz_tap_lands_on_the_clock_app():
    """A physical check of the axis swap: step 2 taps the Clock icon, whose label 'Cleck'
    (OCR) is ui_positions[22] = [321, 156, 5, 18]; the tap's x falls in the label's column and
    its y just above the label, where the icon is."""
    tap = read_aitz(SAMPLE, screen=SCREEN).steps[2]
    assert "Cleck" in tap.prompt
    x, y, w, h = tap.boxes[22]
    assert (x, y, w, h) == (156 / 270, 321 / 600, 18 / 270, 5 / 600)
    assert x <= tap.touch[0] <= x + w
    assert y - 0.06 < tap.touch[1] < y


def test_aitz_prompt_has_goal_and_ui_texts():
    home, _, tap, done = read_aitz(SAMPLE, screen=SCREEN).steps
    assert home.prompt.startswith(f"Goal: {GOAL}. Elements: M ; Set ; up email ; "
                                  "G google ; Coogle ; ")
    assert "Search your phone and more" in tap.prompt
    assert "Stopwatch" in done.prompt and "time" in done.prompt
    assert "coat" not in home.prompt.lower() and "home screen" not in home.prompt


def test_aitz_needs_a_screen_size():
    with pytest.raises(DataError, match=r"--screen-size WIDTHxHEIGHT"):
        read_aitz(SAMPLE, screen=None)
    with pytest.raises(DataError, match=r"outside the given 100x100 screen"):
        read_aitz(SAMPLE, screen=(100, 100))


def corrupt(tmp_path, index, mutate) -> Path:
    steps = json.loads(SAMPLE.read_text(encoding="utf-8"))
    mutate(steps[index])
    path = tmp_path / SAMPLE.name
    path.write_text(json.dumps(steps), encoding="utf-8")
    return path


@pytest.mark.parametrize("index,mutate,message", [
    (1, lambda s: s.pop("result_lift_yx"), r"missing field 'result_lift_yx'"),
    (2, lambda s: s.update(ui_positions="[[34, 236, 16, 5],"),
     r"field 'ui_positions' is not a JSON-encoded list"),
    (2, lambda s: s.update(ui_positions='{"a": 1}'),
     r"field 'ui_positions' must hold a JSON list"),
    (3, lambda s: s.update(result_action_type=2), r"result_action_type 2 is not an action code"),
    (0, lambda s: s.update(ui_text='["M"]'),
     r"ui_positions, ui_text and ui_types differ in length: 15, 1, 15"),
    (1, lambda s: s.update(result_touch_yx="[1.5, 0.5]"),
     r"result_touch_yx \[1.5, 0.5\] is outside"),
    (2, lambda s: s.update(result_touch_yx="[-1.0, -1.0]"),
     r"result_touch_yx is \[-1, -1\] on a DUAL_POINT step"),
])
def test_aitz_errors_name_file_episode_and_step(tmp_path, index, mutate, message):
    path = corrupt(tmp_path, index, mutate)
    with pytest.raises(DataError, match=rf"{SAMPLE.name}, episode '{EPISODE}', step {index}: "
                                        rf"{message}"):
        read_aitz(path, screen=SCREEN)


def test_aitz_folder_and_detection(tmp_path):
    (tmp_path / "sub").mkdir()
    shutil.copy(SAMPLE, tmp_path / "sub" / SAMPLE.name)
    assert looks_like_aitz(tmp_path) and looks_like_aitz(SAMPLE)
    assert read_aitz(tmp_path, screen=SCREEN).steps == read_aitz(SAMPLE, screen=SCREEN).steps
    shutil.copy(SAMPLE, tmp_path / "again.json")
    with pytest.raises(DataError, match=r"step_id 0 appears twice"):
        read_aitz(tmp_path, screen=SCREEN)


# --------------------------------------------------------------------------- AitW TFRecords

GOAL_AITW = "search for pizza"
POSITIONS = [0.1, 0.2, 0.05, 0.6, 0.5, 0.3, 0.1, 0.4]  # two boxes, (y, x, h, w) each


def aitw_episode() -> list[dict]:
    """TYPE with text, a DUAL_POINT swipe, STATUS_TASK_COMPLETE; written out of step order."""
    ui = {"goal_info": GOAL_AITW, "image/ui_annotations_positions": POSITIONS,
          "image/ui_annotations_text": ["Search", ""],
          "image/ui_annotations_ui_types": ["TEXT", "ICON_MAGNIFYING_GLASS"],
          "image/height": 2400, "image/width": 1080}
    no_point = {"results/yx_touch": [-1.0, -1.0], "results/yx_lift": [-1.0, -1.0]}
    return [
        {**ui, **no_point, "step_id": 2, "results/action_type": 10},
        {**ui, **no_point, "step_id": 0, "results/action_type": 3,
         "results/type_action": "pizza near me"},
        {**ui, "step_id": 1, "results/action_type": 4, "results/yx_touch": [0.8, 0.45],
         "results/yx_lift": [0.2, 0.55]},
    ]


@pytest.fixture
def tfrecord_file(tmp_path):
    if not has_tfrecord():
        pytest.skip("the optional 'tfrecord' package is not installed")
    return write_aitw_tfrecord({"ep-7": aitw_episode()}, tmp_path / "aitw.tfrecord.gz")


def test_tfrecord_round_trip(tfrecord_file):
    assert tfrecord_file.read_bytes()[:2] == b"\x1f\x8b"
    data = read_aitw_tfrecord(tfrecord_file)
    assert data.units == Units(NORMALIZED, (1080, 2400))
    assert data.axis_order_in_source == "yx"
    assert [(s.episode, s.index) for s in data.steps] == [("ep-7", 0), ("ep-7", 1), ("ep-7", 2)]
    typed, swipe, done = data.steps
    assert [s.action_type for s in data.steps] == [3, 4, 10]
    assert [s.type_text for s in data.steps] == ["pizza near me", "", ""]
    assert swipe.touch == (f32(0.45), f32(0.8)) and swipe.lift == (f32(0.55), f32(0.2))
    for step in (typed, done):
        assert step.touch == step.lift == actions.NO_POINT
    boxes = ((f32(0.2), f32(0.1), f32(0.6), f32(0.05)), (f32(0.3), f32(0.5), f32(0.4), f32(0.1)))
    assert all(s.boxes == boxes for s in data.steps)
    prompt = f"Goal: {GOAL_AITW}. Elements: Search ; magnifying glass"
    assert all(s.prompt == prompt for s in data.steps)


def test_tfrecord_folder_detection_and_screen(tfrecord_file, tmp_path):
    assert looks_like_tfrecord(tfrecord_file) and detect_format(tfrecord_file) == "aitw-tfrecord"
    assert detect_format(tmp_path) == "aitw-tfrecord"
    assert read_dataset(tmp_path).steps == read_aitw_tfrecord(tfrecord_file).steps
    shard = tmp_path / "shards" / "google_apps-00000-of-00001"  # no extension: gzip by content
    shard.parent.mkdir()
    shard.write_bytes(tfrecord_file.read_bytes())
    (shard.parent / "README").write_text("not data")
    assert detect_format(shard.parent) == "aitw-tfrecord"
    assert read_dataset(shard.parent).steps == read_aitw_tfrecord(tfrecord_file).steps
    with pytest.raises(DataError, match=r"--screen-size 270x600 contradicts the 1080x2400"):
        read_dataset(tfrecord_file, screen=(270, 600))
    with pytest.raises(DataError, match=r"--units pixel contradicts the aitw-tfrecord format"):
        read_dataset(tfrecord_file, units="pixel")


@needs_tfrecord
def test_tfrecord_screen_size_is_stated_not_guessed(tmp_path):
    unsized = aitw_episode()
    for step in unsized:
        del step["image/height"], step["image/width"]
    cut = [{**step, "episode_length": 3} for step in aitw_episode()[:2]]  # step_id 2 and 0 of 3
    path = write_aitw_tfrecord({"a": unsized, "b": cut}, tmp_path / "m.gz")
    data = read_aitw_tfrecord(path)
    assert data.units == Units(NORMALIZED)  # sizes differ (unstated vs 1080x2400): none recorded
    assert any("screen sizes differ" in n for n in data.notes)
    assert any("1 episode(s) do not hold exactly step_id" in n for n in data.notes)  # 'b': 0, 2
    assert read_aitw_tfrecord(path, screen=(1080, 2400)).units == Units(NORMALIZED, (1080, 2400))
    with pytest.raises(DataError, match=r"--screen-size 270x600 contradicts the 1080x2400"):
        read_aitw_tfrecord(path, screen=(270, 600))
    alone = write_aitw_tfrecord({"a": unsized}, tmp_path / "a.gz")
    data = read_dataset(alone, screen=(270, 600))
    assert data.units == Units(NORMALIZED, (270, 600))
    assert data.notes[-1] == "screen size 270x600 from --screen-size"


@needs_tfrecord
@pytest.mark.parametrize("change,message", [
    ({"results/action_type": 2}, r"results/action_type 2 is not an action code"),
    ({"image/ui_annotations_text": ["Search"]},
     r"the UI annotations disagree in length: 2 positions, 1 texts"),
    ({"results/yx_touch": [-1.0, -1.0]}, r"results/yx_touch is \[-1, -1\] on a DUAL_POINT"),
])
def test_tfrecord_errors_name_file_episode_and_step(tmp_path, change, message):
    episode = aitw_episode()
    episode[2].update(change)
    path = write_aitw_tfrecord({"ep-7": episode}, tmp_path / "bad.tfrecord.gz")
    with pytest.raises(DataError, match=rf"bad\.tfrecord\.gz, episode 'ep-7', step 1: {message}"):
        read_aitw_tfrecord(path)


@needs_tfrecord
def test_tfrecord_not_a_tfrecord(tmp_path):
    path = tmp_path / "junk.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\x05\x00")
    with pytest.raises(DataError, match=r"junk\.gz: record 0 \(byte 0 of the decompressed "
                                        r"stream\): the file ends inside a record's length "
                                        r"field \(2 of 12 bytes\): truncated"):
        read_aitw_tfrecord(path)


def test_missing_tfrecord_package_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "x.tfrecord.gz"
    path.write_bytes(gzip.compress(b""))
    monkeypatch.setitem(sys.modules, "tfrecord", None)
    with pytest.raises(HarnessInputError, match=r"pip install 'tfrecord'.*\.\[aitw\]"):
        read_aitw_tfrecord(path)


# --------------------------------------------------------------------------- detection

def test_detect_format(tmp_path):
    assert FORMATS == ("user-json", "aitz", "aitw-tfrecord")
    folder = write_user_json(toy_dataset(2), tmp_path / "user")
    assert detect_format(folder) == "user-json"
    assert detect_format(folder / "episodes-0000.json") == "user-json"
    assert read_dataset(folder).steps == toy_dataset(2).steps
    assert detect_format(SAMPLE) == detect_format(SAMPLE_DIR) == "aitz"
    gz = tmp_path / "records.bin"
    gz.write_bytes(gzip.compress(b"anything"))
    assert detect_format(gz) == "aitw-tfrecord"  # by the gzip magic bytes


def test_detect_format_errors(tmp_path):
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello")
    with pytest.raises(DataError, match=r"notes\.txt: cannot tell the data format"):
        detect_format(unknown)
    with pytest.raises(DataError, match=r"missing: no such file or folder"):
        detect_format(tmp_path / "missing")
    (tmp_path / "mixed").mkdir()
    shutil.copy(SAMPLE, tmp_path / "mixed" / SAMPLE.name)
    (tmp_path / "mixed" / "a.tfrecord.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match=r"mixed: holds both JSON"):
        detect_format(tmp_path / "mixed")


def test_read_dataset_aitz_units(tmp_path):
    assert read_dataset(SAMPLE, screen=SCREEN).steps == read_aitz(SAMPLE, screen=SCREEN).steps
    assert read_dataset(SAMPLE, units="normalized", screen=SCREEN).units.kind == NORMALIZED
    with pytest.raises(DataError, match=r"--units pixel contradicts the aitz format"):
        read_dataset(SAMPLE, units="pixel", screen=SCREEN)
    with pytest.raises(DataError, match=r"--screen-size"):
        read_dataset(SAMPLE_DIR)


def test_steps_by_episode_orders_by_step_id_and_names_both_files_of_a_duplicate():
    def step(episode, index):
        return Step(episode=episode, index=index, prompt="p", boxes=(), action_type=10,
                    type_text="", touch=(-1.0, -1.0), lift=(-1.0, -1.0))
    collected = StepsByEpisode()
    for episode, index in [("b", 2), ("a", 1), ("b", 0), ("a", 0)]:
        collected.add(step(episode, index), "one.json")
    assert [(s.episode, s.index) for s in collected.ordered()] == [
        ("b", 0), ("b", 2), ("a", 0), ("a", 1)]
    with pytest.raises(DataError, match=r"two\.json.*step_id 2 appears twice \(also in one\.json\)"):
        collected.add(step("b", 2), "two.json")


# --------------------------------------------------------------------------- issue 23: damage

@pytest.mark.parametrize("index,mutate,message", [
    (2, lambda s: s.update(step_id=-1), r"step_id -1 is outside 0\.\.episode_length-1"),
    (2, lambda s: s.update(step_id=2**70), r"step_id 1180591620717411303424 is outside"),
    (0, lambda s: s.update(episode_length=0), r"episode_length must be at least 1, got 0"),
    (1, lambda s: s.pop("episode_length"), r"missing field 'episode_length'"),
    (0, lambda s: s.update(result_touch_yx="[0.5, 0.5]"),
     r"result_touch_yx is \[0.5, 0.5\] on a PRESS_HOME step: only DUAL_POINT carries a point"),
    (0, lambda s: s.update(result_action_type=3, result_action_text="  "),
     r"result_action_text is blank on a TYPE step"),
    (0, lambda s: s.update(ui_positions="[[54, -5, 8, 12]" + s["ui_positions"][16:]),
     r"ui_positions\[0\] = \[54, -5, 8, 12\] .* lies outside the given 270x600 screen"),
    (0, lambda s: s.update(instruction="open \ud800"), r"field 'instruction' holds a lone "
                                                       r"surrogate"),
])
def test_aitz_damage_is_named(tmp_path, index, mutate, message):
    with pytest.raises(DataError, match=message):
        read_aitz(corrupt(tmp_path, index, mutate), screen=SCREEN)


def test_aitz_episode_must_be_whole(tmp_path):
    steps = json.loads(SAMPLE.read_text(encoding="utf-8"))
    path = tmp_path / "cut.json"
    path.write_text(json.dumps([steps[0], steps[1], steps[3]]))
    with pytest.raises(DataError, match=rf"cut\.json, episode '{EPISODE}': holds 3 of its "
                                        r"episode_length 4 steps \(missing step_id 2\)"):
        read_aitz(path, screen=SCREEN)
    steps[2]["result_action_type"] = 2                       # dropped under --skip-invalid
    path.write_text(json.dumps(steps))
    data = read_dataset(path, screen=SCREEN, skip_invalid=True)
    assert [s.index for s in data.steps] == [0, 1, 3] and data.skipped_records == 1
    assert any("1 episode(s) lack steps after --skip-invalid" in n for n in data.notes)


def test_a_dataset_json_saying_aitz_loads(tmp_path):
    shutil.copy(SAMPLE, tmp_path / SAMPLE.name)
    (tmp_path / "dataset.json").write_text('{"format": "aitz"}')
    expected = read_aitz(SAMPLE, screen=SCREEN).steps
    assert read_dataset(tmp_path, screen=SCREEN).steps == expected
    with pytest.raises(DataError, match=r"--screen-size WIDTHxHEIGHT"):
        read_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text('{"format": "aitz", "screen_size": [270, 600]}')
    assert read_dataset(tmp_path).steps == expected
    with pytest.raises(DataError, match=r"dataset\.json: says the format is 'aitz', but "
                                        r"--data-format is 'user-json'"):
        read_dataset(tmp_path, data_format="user-json", units="normalized")


def _frames(tmp_path):
    from tests.fuzz.tfrecord_cases import RECORDS, frame, serialize
    return [serialize(r) for r in RECORDS], frame


@needs_tfrecord
def test_tfrecord_crcs_and_lengths_are_checked(tmp_path):
    payloads, frame = _frames(tmp_path)
    good = b"".join(frame(p) for p in payloads)
    path = tmp_path / "s.tfrecord"
    path.write_bytes(good)
    assert len(read_aitw_tfrecord(path).steps) == 6
    at = 16 + len(payloads[0]) + 12 + 20                # inside record 1's data
    path.write_bytes(good[:at] + bytes([good[at] ^ 1]) + good[at + 1:])
    with pytest.raises(DataError, match=r"s\.tfrecord: record 1 \(byte \d+\): its data fail "
                                        r"their CRC"):
        read_aitw_tfrecord(path)
    assert read_dataset(path, skip_invalid=True).skipped_records == 1
    path.write_bytes(frame(payloads[0], length=2**33) + good[16 + len(payloads[0]):])
    with pytest.raises(DataError, match=r"record 0 \(byte 0\): the length field says "
                                        r"8589934592 bytes, more than the file can hold"):
        read_aitw_tfrecord(path)
    path.write_bytes(frame(payloads[0], length_crc=7))
    with pytest.raises(DataError, match=r"the length field fails its CRC"):
        read_aitw_tfrecord(path)


@needs_tfrecord
@pytest.mark.parametrize("change,message", [
    ({"step_id": -1}, r"step_id -1 is outside 0\.\.episode_length-1"),
    ({"image/ui_annotations_positions": [0.1, -5.0, 0.05, 0.6, 0.5, 0.3, 0.1, 0.4]},
     r"image/ui_annotations_positions\[0\] as x, y, w, h = \[-5.0, .* lies outside the screen"),
    ({"results/action_type": 6}, r"results/yx_touch is \[0.800000011920929, 0.44999998807907104\]"
                                 r" on a PRESS_HOME step"),
])
def test_tfrecord_damage_is_named(tmp_path, change, message):
    episode = aitw_episode()
    episode[2].update(change)
    path = write_aitw_tfrecord({"ep-7": episode}, tmp_path / "bad.tfrecord.gz")
    with pytest.raises(DataError, match=message):
        read_aitw_tfrecord(path)


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_bytes(b""), r"the file is empty \(0 bytes\)"),
    (lambda p: p.symlink_to(p.parent / "gone"), r"a dangling symlink"),
    (lambda p: __import__("os").mkfifo(p), r"is a FIFO \(named pipe\), not a regular file"),
    (lambda p: p.mkdir(), r"is a folder named like a data file"),
])
def test_odd_files_in_a_tfrecord_folder_are_errors_never_skipped(tfrecord_file, tmp_path, make,
                                                               message):
    odd = tmp_path / "b.tfrecord.gz"
    make(odd)
    with pytest.raises(DataError, match=rf"b\.tfrecord\.gz: {message}"):
        read_dataset(tmp_path)


@pytest.mark.parametrize("reader", ["aitz", "user-json", None])
def test_a_fifo_named_json_is_refused_without_opening_it(tmp_path, reader):
    import os
    shutil.copy(SAMPLE, tmp_path / SAMPLE.name)
    os.mkfifo(tmp_path / "z.json")            # opening it would block forever
    with pytest.raises(DataError, match=r"z\.json: is a FIFO"):
        read_dataset(tmp_path, data_format=reader, screen=SCREEN,
                     units="normalized" if reader == "user-json" else None)
