"""Tests of the synthetic AitW-style generator (harness/data/synthetic.py)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from harness import actions
from harness.data import synthetic
from harness.data.prompts import render_element
from harness.data.synthetic import generate, parse_prompt
from harness.data.types import Units
from harness.data.user_json import read_user_json, write_user_json
from harness.errors import DataError

SCREEN = (1080, 2400)

#: AitW-like action mix (percent of steps) that the default data set must reproduce.
# Percent of steps. The small world (the default) has shorter episodes, so fewer taps per
# completed goal; the full world follows AitW's mix more closely.
MIX_RANGES = {
    "small": {"tap": (38, 50), "swipe": (8, 15), actions.TYPE: (7, 12),
              actions.PRESS_HOME: (6, 11), actions.PRESS_BACK: (3, 6), actions.PRESS_ENTER: (5, 10),
              actions.STATUS_TASK_COMPLETE: (10, 16), actions.STATUS_TASK_IMPOSSIBLE: (1, 2.5)},
    "full": {"tap": (45, 55), "swipe": (8, 12), actions.TYPE: (8, 12),
             actions.PRESS_HOME: (6, 10), actions.PRESS_BACK: (3, 6), actions.PRESS_ENTER: (5, 8),
             actions.STATUS_TASK_COMPLETE: (10, 15), actions.STATUS_TASK_IMPOSSIBLE: (1, 2)},
}


@pytest.fixture(scope="module")
def pixel():
    return generate()


@pytest.fixture(scope="module")
def normalized():
    return generate(units="normalized")


def _is_tap(step) -> bool:
    return step.action_type == actions.DUAL_POINT and step.touch == step.lift


def _kind(step):
    if step.action_type == actions.DUAL_POINT:
        return "tap" if _is_tap(step) else "swipe"
    return step.action_type


def _contains(box, point, eps=0.0) -> bool:
    x, y, w, h = box
    return x - eps <= point[0] <= x + w + eps and y - eps <= point[1] <= y + h + eps


def _close(a, b, tol=1e-12) -> bool:
    return all(abs(u - v) <= tol for u, v in zip(a, b, strict=True))


def _episodes(dataset) -> dict[str, list]:
    out = defaultdict(list)
    for step in dataset.steps:
        out[step.episode].append(step)
    return out


# ------------------------------------------------------------------ determinism


def test_same_arguments_give_identical_data_sets():
    a, b = generate(60, seed=3), generate(60, seed=3)
    assert a.steps == b.steps
    assert (a.units, a.source, a.notes) == (b.units, b.source, b.notes)


def test_another_seed_gives_other_episodes():
    a, b = generate(60, seed=3), generate(60, seed=4)
    assert [s.prompt for s in a.steps] != [s.prompt for s in b.steps]


def test_global_random_state_is_neither_used_nor_changed():
    random.seed(1)
    a = generate(20)
    state = random.getstate()
    random.seed(2)
    b = generate(20)
    assert a.steps == b.steps
    random.setstate(state)
    generate(20)
    assert random.getstate() == state


def test_a_smaller_data_set_is_a_prefix_of_a_larger_one(pixel):
    small = generate(50)
    assert small.steps == pixel.steps[:len(small.steps)]


def test_metadata(pixel, normalized):
    assert pixel.units == Units("pixel", SCREEN)
    assert normalized.units == Units("normalized", SCREEN)
    assert pixel.source == "synthetic(n_episodes=400, seed=0, units=pixel, world=small)"
    assert pixel.axis_order_in_source == "xy"
    keys = pixel.episodes()
    assert len(keys) == 400 and keys[0] == "synthetic-000000" and keys[-1] == "synthetic-000399"


def test_bad_arguments_are_refused():
    with pytest.raises(DataError):
        generate(10, units="inches")
    with pytest.raises(DataError):
        generate(0)


# ------------------------------------------------------------------ validity


@pytest.mark.parametrize("units", ["pixel", "normalized"])
def test_round_trip_through_the_user_format_is_exact(tmp_path, units, pixel, normalized):
    dataset = pixel if units == "pixel" else normalized
    folder = write_user_json(dataset, tmp_path / units)
    back = read_user_json(folder)   # validates every step (parse_step)
    assert back.units == dataset.units
    assert back.steps == dataset.steps


def test_episode_shape(pixel):
    for key, steps in _episodes(pixel).items():
        assert 3 <= len(steps) <= 10, key
        assert [s.index for s in steps] == list(range(len(steps)))
        ends = [s.action_type in (actions.STATUS_TASK_COMPLETE, actions.STATUS_TASK_IMPOSSIBLE)
                for s in steps]
        assert ends == [False] * (len(steps) - 1) + [True], key


def test_action_fields_follow_aitw_conventions(pixel):
    for s in pixel.steps:
        assert s.action_type in actions.USED_CODES
        if s.action_type == actions.DUAL_POINT:
            assert all(v == int(v) for v in (*s.touch, *s.lift))   # whole pixels
            assert _contains((0, 0, *SCREEN), s.touch) and _contains((0, 0, *SCREEN), s.lift)
        else:
            assert s.touch == s.lift == actions.NO_POINT
        assert bool(s.type_text) == (s.action_type == actions.TYPE)


@pytest.mark.parametrize("world", ["small", "full"])
def test_all_seven_actions_in_an_aitw_like_mix(world):
    steps = generate(world=world).steps
    counts = Counter(_kind(s) for s in steps)
    assert {s.action_type for s in steps} == set(actions.USED_CODES)
    for kind, (low, high) in MIX_RANGES[world].items():
        share = 100 * counts[kind] / len(steps)
        assert low <= share <= high, (kind, round(share, 1))


def test_swipes_are_long_and_mostly_vertical(pixel):
    swipes = [s for s in pixel.steps if _kind(s) == "swipe"]
    vertical = 0
    for s in swipes:
        dx, dy = s.lift[0] - s.touch[0], s.lift[1] - s.touch[1]
        if abs(dy) >= abs(dx):
            vertical += 1
            assert abs(dy) >= 0.25 * SCREEN[1]
        else:
            assert abs(dx) >= 0.25 * SCREEN[0]
    assert 0.6 * len(swipes) < vertical < len(swipes)   # mostly vertical, some horizontal
    ups = sum(s.lift[1] < s.touch[1] for s in swipes)
    assert 0 < ups < len(swipes)                        # both directions occur


# ------------------------------------------------------------------ prompts


def test_prompts_list_one_element_per_box_and_no_coordinates(pixel):
    for s in pixel.steps[:500]:
        parts = parse_prompt(s.prompt)
        assert len(parts["elements"]) == len(s.boxes)
        assert "Goal: " + parts["goal"] in s.prompt
        for x, y, _, _ in s.boxes:
            assert f"{x:g}, {y:g}" not in s.prompt and f"{x:g},{y:g}" not in s.prompt


def test_typed_text_appears_in_prompt_and_goal(pixel):
    typed = [s for s in pixel.steps if s.action_type == actions.TYPE]
    assert typed
    for s in typed:
        assert s.type_text in parse_prompt(s.prompt)["goal"]
    texts = Counter(s.type_text for s in typed)
    # a couple of dozen distinct texts, each recurring (the query head cannot copy, so a typed
    # text is learnable only when it recurs in training)
    assert 15 <= len(texts) <= 40
    assert sum(n >= 3 for n in texts.values()) >= 0.8 * len(texts)


def test_taps_land_inside_a_labelled_element_of_the_prompt(pixel):
    for s in (s for s in pixel.steps if _is_tap(s)):
        elements = parse_prompt(s.prompt)["elements"]
        hits = [label for box, label in zip(s.boxes, elements) if _contains(box, s.touch)]
        assert any(hits), s.prompt            # the target's label is listed in the prompt


def test_the_prompt_determines_the_action(pixel):
    """Same prompt, same action: type, typed text, tapped element, swipe direction."""
    seen = defaultdict(set)
    for s in pixel.steps:
        if _is_tap(s):
            label = ("tap", tuple(i for i, b in enumerate(s.boxes) if _contains(b, s.touch)))
        elif s.action_type == actions.DUAL_POINT:
            dx, dy = s.lift[0] - s.touch[0], s.lift[1] - s.touch[1]
            label = ("swipe", abs(dx) > abs(dy), (dx if abs(dx) > abs(dy) else dy) > 0)
        else:
            label = (s.action_type, s.type_text)
        seen[s.prompt].add(label)
    assert all(len(labels) == 1 for labels in seen.values())
    assert len(seen) > 0.3 * len(pixel.steps)  # and prompts are varied


# ------------------------------------------------------------------ geometry


def test_normalized_is_the_same_world_divided_by_the_screen(pixel, normalized):
    w, h = SCREEN
    assert len(pixel.steps) == len(normalized.steps)
    for p, n in zip(pixel.steps, normalized.steps):
        assert (p.episode, p.index, p.prompt, p.action_type, p.type_text) == \
               (n.episode, n.index, n.prompt, n.action_type, n.type_text)
        for pb, nb in zip(p.boxes, n.boxes, strict=True):
            assert _close(nb, (pb[0] / w, pb[1] / h, pb[2] / w, pb[3] / h))
            assert all(0.0 <= v <= 1.0 for v in nb)
        if p.action_type == actions.DUAL_POINT:
            assert _close(n.touch, (p.touch[0] / w, p.touch[1] / h))
            assert _close(n.lift, (p.lift[0] / w, p.lift[1] / h))
        else:
            assert n.touch == n.lift == actions.NO_POINT


def test_other_screen_sizes_scale_the_same_layout():
    small = generate(30, screen=(540, 1200))
    big = generate(30)
    assert small.source.endswith("screen=540x1200)")
    for s, b in zip(small.steps, big.steps, strict=True):
        assert s.prompt == b.prompt
        for sb, bb in zip(s.boxes, b.boxes):
            assert sb == pytest.approx([v / 2 for v in bb], abs=1)


def test_boxes_are_realistic_and_spread_over_the_screen(pixel):
    w, h = SCREEN
    centres = set()
    launcher = ("home screen", "app drawer", "app drawer, end of list")
    icons = {render_element(ui, name) for name, ui in synthetic.APP_ICONS.items()}
    for s in pixel.steps:
        parts = parse_prompt(s.prompt)
        for label, (x, y, bw, bh) in zip(parts["elements"], s.boxes):
            assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h
            assert 60 <= bw and 60 <= bh                # big enough to tap
            if parts["screen"] in launcher and label in icons:
                assert 120 <= bw <= 160 and 120 <= bh <= 160   # app icons ~ 140 px square
            centres.add((round((x + bw / 2) / w * 4), round((y + bh / 2) / h * 4)))
    # Element centres fall in every cell of a coarse 5 x 5 grid over the screen but the
    # corners, which phones keep for the status bar and gestures.
    assert len(centres) >= 20


def test_same_element_on_same_screen_has_the_same_box(pixel):
    """What makes coordinates learnable from text: stable positions, up to the jitter."""
    boxes = defaultdict(list)
    for s in pixel.steps:
        parts = parse_prompt(s.prompt)
        counts = Counter(parts["elements"])
        for label, box in zip(parts["elements"], s.boxes):
            if counts[label] == 1:        # two untexted "play" icons are not one element
                boxes[parts["screen"], label].append(box)
    tolerance = 2 * synthetic.ELEMENT_JITTER + 1
    assert len([k for k, v in boxes.items() if len(v) > 1]) > 200
    for key, seen in boxes.items():
        for i in range(4):
            values = [b[i] for b in seen]
            assert max(values) - min(values) <= tolerance, (key, i, min(values), max(values))


# ------------------------------------------------------------------ the world tables


def test_every_goal_parameter_and_start_plays_a_valid_episode():
    """Exhaustive check of the tables: each target exists once on its screen, lengths fit."""
    geometry = synthetic._Geometry(SCREEN)
    rng = random.Random(0)
    for kind in synthetic.GOAL_KINDS:
        starts = ["home", "other_app"]
        if kind.app is not None and kind.wrong_screen_start:
            starts.append("wrong_screen")
        for goal in kind.goals:
            synthetic._State({**synthetic.DEFAULT_STATE, **kind.params[0]}).fill(goal)
        for params in kind.params:
            for start in starts:
                steps = synthetic._play(kind, params, kind.goals[0], rng, geometry, start=start)
                assert 3 <= len(steps) <= synthetic.MAX_STEPS, (kind.name, params, start)
                assert steps[-1]["action_type"] in (actions.STATUS_TASK_COMPLETE,
                                                    actions.STATUS_TASK_IMPOSSIBLE)


def test_screen_texts_are_unique_and_apps_are_consistent():
    for key, screen in synthetic.SCREENS.items():
        texts = [el.text for el in screen.elements if el.text]
        assert len(texts) == len(set(texts)), key
    for app, (main, wrong) in synthetic.APPS.items():
        assert synthetic.SCREENS[main].app == synthetic.SCREENS[wrong].app == app
        assert app in synthetic.LAUNCH
