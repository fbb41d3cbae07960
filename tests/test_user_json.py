import json

import pytest

from harness.data.types import NORMALIZED, PIXEL, Units
from harness.data.user_json import read_user_json, write_user_json
from harness.errors import DataError
from tests.conftest import SCREEN, toy_dataset


def good_step(**results):
    step = {"prompt": "Goal: open clock. Screen: home", "coordinates": [[10, 20, 100, 50]],
            "results": {"action_type": 4, "type_action": "", "touch_coords": [50, 40],
                        "lift_coords": [50, 40]}}
    step["results"].update(results)
    return step


def write(tmp_path, content, name="data.json"):
    path = tmp_path / name
    path.write_text(json.dumps(content) if not isinstance(content, str) else content)
    return path


def test_round_trip_keeps_every_step(tmp_path):
    dataset = toy_dataset(5)
    write_user_json(dataset, tmp_path / "d")
    back = read_user_json(tmp_path / "d")
    assert back.units == Units(PIXEL, SCREEN)
    assert back.steps == dataset.steps


@pytest.mark.parametrize("mutate,message", [
    (lambda s: s["results"].update(action_type=2), r"results\.action_type 2 is not an action code AitW uses"),
    (lambda s: s["results"].pop("touch_coords"), r"missing field 'results\.touch_coords'"),
    (lambda s: s["results"].update(action_type="4"), r"field 'results\.action_type' must be int, got str '4'"),
    (lambda s: s.update(prompt=""), r"field 'prompt' is empty"),
    (lambda s: s["results"].update(touch_coords=[5000, 10]), r"results\.touch_coords \[5000.0, 10.0\] lies outside the screen"),
    (lambda s: s["results"].update(action_type=3, type_action=""), r"results\.type_action is empty on a TYPE step"),
    (lambda s: s.update(coordinates=[[1, 2, 3]]), r"coordinates\[0\] must be a list of 4 numbers"),
])
def test_schema_errors_name_file_episode_and_step(tmp_path, mutate, message):
    bad = good_step()
    mutate(bad)
    path = write(tmp_path, {"ep-1": [good_step(), good_step(), bad]})
    with pytest.raises(DataError, match=rf"data\.json, episode 'ep-1', step 2: {message}"):
        read_user_json(path, units=PIXEL, screen=SCREEN)


def test_file_level_errors(tmp_path):
    with pytest.raises(DataError, match=r"bad\.json: not valid JSON"):
        read_user_json(write(tmp_path, "{oops", "bad.json"), units=NORMALIZED)
    with pytest.raises(DataError, match=r"empty\.json: the file is empty"):
        read_user_json(write(tmp_path, "", "empty.json"), units=NORMALIZED)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match="holds no .json data files"):
        read_user_json(tmp_path / "nothing", units=NORMALIZED)


def test_units_must_be_stated_and_pixels_need_a_screen(tmp_path):
    path = write(tmp_path, {"ep": [good_step()]})
    with pytest.raises(DataError, match="units of this data set are unknown: pass --units"):
        read_user_json(path)
    with pytest.raises(DataError, match="pixel coordinates need a known screen size: pass "
                                        "--screen-size"):
        read_user_json(path, units=PIXEL)
    assert read_user_json(path, units=PIXEL, screen=SCREEN).units.screen == SCREEN


def test_normalized_data_rejects_pixel_values(tmp_path):
    path = write(tmp_path, {"ep": [good_step()]})
    with pytest.raises(DataError, match=r"step 0: coordinates\[0\] = \[10.0, 20.0, 100.0, 50.0\] "
                                        r"\(x, y, w, h\) lies outside the screen"):
        read_user_json(path, units=NORMALIZED)
    step = good_step()
    step["coordinates"] = [[0.1, 0.2, 0.3, 0.4]]
    path = write(tmp_path, {"ep": [step]})
    with pytest.raises(DataError, match=r"step 0: results.touch_coords .* outside the screen"):
        read_user_json(path, units=NORMALIZED)


def test_split_is_by_episode_and_deterministic():
    dataset = toy_dataset(40)
    train, val, heldout = dataset.split(0.2)[:3]
    again = dataset.split(0.2)
    assert [s.episode for s in heldout.steps] == [s.episode for s in again.heldout.steps]
    assert val is heldout                  # no validation split of its own: the held-out one
    assert not set(train.episodes()) & set(heldout.episodes())
    assert len(train.steps) + len(heldout.steps) == len(dataset.steps)
    assert 0 < len(heldout.episodes()) < 40


def test_skip_invalid_drops_counts_and_names_bad_records(tmp_path):
    from harness.data.formats import read_dataset
    bad = good_step()
    bad["results"]["action_type"] = 8
    path = write(tmp_path, {"ep-1": [good_step(), bad, good_step()], "ep-2": [good_step()]})
    with pytest.raises(DataError, match="step 1: results.action_type 8"):
        read_dataset(path, units=PIXEL, screen=SCREEN)
    dataset = read_dataset(path, units=PIXEL, screen=SCREEN, skip_invalid=True)
    assert len(dataset.steps) == 3 and dataset.skipped_records == 1
    assert dataset.describe()["skipped_invalid_records"] == 1
    assert any("--skip-invalid dropped 1 invalid record(s): " in n and "episode 'ep-1', step 1"
               in n for n in dataset.notes)


# --------------------------------------------------------------------------- issue 23: damage

@pytest.mark.parametrize("text,message", [
    ('{"ep-1": [STEP], "ep-1": [STEP]}', r"data\.json: not valid JSON: the key 'ep-1' appears "
                                         r"twice in one object"),
    ("[" * 100_000 + "]" * 100_000, r"data\.json: not valid JSON: nested too deeply"),
    ('{"ep": [{"prompt": "p", "coordinates": [[' + "9" * 4400 + ', 1, 1, 1]]}]}',
     r"data\.json: not valid JSON: Exceeds the limit \(4300 digits\)"),
    ('{"ep": [STEP_BIG]}', r"step 0: coordinates\[0\]\[0\] must be finite, got 1000000000"),
    ('{"ep": [STEP_NEG]}', r"step 0: coordinates\[0\] = \[-5.0, 20.0, 100.0, 50.0\] \(x, y, w, h\) "
                           r"lies outside the screen"),
    ('{"ep": [STEP_HUGE]}', r"step 0: coordinates\[0\] = \[1e\+308, .* lies outside the screen"),
    ('{"\\ud800": [STEP]}', r"data\.json: episode key '\\ud800' holds a lone surrogate"),
    ("{}", r"data\.json: holds no episodes"),
])
def test_damage_that_used_to_load_or_crash_is_named(tmp_path, text, message):
    step = json.dumps(good_step())
    big, neg, huge = good_step(), good_step(), good_step()
    big["coordinates"] = [[10**400, 20, 100, 50]]
    neg["coordinates"] = [[-5, 20, 100, 50]]
    huge["coordinates"] = [[1e308, 20, 100, 50]]
    text = (text.replace("STEP_BIG", json.dumps(big)).replace("STEP_NEG", json.dumps(neg))
            .replace("STEP_HUGE", json.dumps(huge)).replace("STEP", step))
    with pytest.raises(DataError, match=message):
        read_user_json(write(tmp_path, text), units=PIXEL, screen=SCREEN)


@pytest.mark.parametrize("mutate,message", [
    (lambda s: s["results"].update(action_type=6, touch_coords=[5, 5], lift_coords=[-1, -1]),
     r"results\.touch_coords is \[5.0, 5.0\] on a PRESS_HOME step: only DUAL_POINT carries a "
     r"point"),
    (lambda s: s["results"].update(action_type=3, type_action="   ", touch_coords=[-1, -1],
                                   lift_coords=[-1, -1]),
     r"results\.type_action is blank on a TYPE step"),
    (lambda s: s.update(prompt="open \ud800"), r"field 'prompt' holds a lone surrogate"),
])
def test_rules_of_aitw_actions_and_text(tmp_path, mutate, message):
    bad = good_step()
    mutate(bad)
    path = write(tmp_path, json.dumps({"ep-1": [bad]}))
    with pytest.raises(DataError, match=rf"episode 'ep-1', step 0: {message}"):
        read_user_json(path, units=PIXEL, screen=SCREEN)


@pytest.mark.parametrize("meta,message", [
    ({"units": "pixel", "screen_size": "1080x2400"}, r"screen_size must be \[width, height\]"),
    ({"units": "pixel", "screen_size": [float("inf"), 2400]},
     r"screen_size must be \[width, height\], .* got \[inf, 2400\]"),
    ({"units": "pixel", "screen_size": [0, 2400]}, r"screen_size must be \[width, height\]"),
    ({"units": "px"}, r"units must be one of \['pixel', 'normalized'\], got 'px'"),
])
def test_dataset_json_is_checked(tmp_path, meta, message):
    (tmp_path / "a.json").write_text(json.dumps({"ep": [good_step()]}))
    (tmp_path / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=rf"dataset\.json: {message}"):
        read_user_json(tmp_path)
