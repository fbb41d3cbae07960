"""The synthetic world's data files (harness/data/world/) and their loader: the cross-file
facts the files cannot check themselves, and the loader's refusal of what it cannot read."""

from __future__ import annotations

import pytest

from harness.data import synthetic_world as world
from harness.data.synthetic_world import Element, Move, _Layout, _moves, _param_sets


def test_every_world_weights_known_goal_families():
    names = {kind.name for kind in world.GOAL_KINDS}
    assert list(world.WORLDS) == ["full", "small"]
    assert world.WORLDS["full"] == {kind.name: kind.weight for kind in world.GOAL_KINDS}
    for weights in world.WORLDS.values():
        assert set(weights) <= names and all(w > 0 for w in weights.values())


def test_the_phone_starts_on_the_ringtone_the_goals_leave_out():
    ringtone_rows = [el.text for el in world.SCREENS["settings_ringtone"].elements
                     if el.ui == "RADIO"]
    goal = next(kind for kind in world.GOAL_KINDS if kind.name == "settings_ringtone")
    assert world.DEFAULT_STATE["ringtone"] == ringtone_rows[0]
    assert [p["tone"] for p in goal.params] == ringtone_rows[1:]


def test_the_alarm_goals_skip_the_alarms_the_phone_has():
    goal = next(kind for kind in world.GOAL_KINDS if kind.name == "clock_alarm")
    times = {f"{p['hour']}:{p['minute']} {p['ampm']}" for p in goal.params}
    assert len(goal.params) == 12 * 4 * 2 - 2
    alarms = {el.text for el in world.SCREENS["clock_alarms"].elements}
    assert {"6:30 AM", "8:30 AM"} <= alarms and not times & alarms


def test_apps_screens_and_moves_refer_to_what_exists():
    for app, (main, wrong) in world.APPS.items():
        assert world.SCREENS[main].app == world.SCREENS[wrong].app == app
        assert world.LAUNCH[app] in world.SCREENS
    for app, (popup, dismiss) in world.POPUPS.items():
        assert world.SCREENS[popup].app == app
        assert dismiss in {el.text for el in world.SCREENS[popup].elements}
    for kind in world.GOAL_KINDS:
        assert all(move.to in world.SCREENS for move in kind.script if move.to)


def test_layout_forms():
    layout = _Layout({"bar": [["TEXT", "$label", 1, 2, 3, 4], "$more"]},
                     {"names": ["a", "b", "c"]}, {"Clock": "ICON_TIME"})
    assert layout.elements([{"use": "bar", "label": "x", "more": [{"row": "r", "y": 5}]}]) == (
        Element("TEXT", "x", (1, 2, 3, 4)), Element("TEXT", "r", (40, 5, 1000, 130)))
    rows = layout.elements([{"rows": "names", "top": 10, "step": 100, "first": 2, "ui": "RADIO"}])
    assert [(el.ui, el.text, el.box[1]) for el in rows] == [("RADIO", "a", 10), ("RADIO", "b", 110)]
    assert layout.elements([{"icons": ["Clock"], "top": 7}]) == (
        Element("ICON_TIME", "Clock", (65, 7, 140, 140)),)


@pytest.mark.parametrize("item", ["plain text", {"box": [1, 2, 3, 4]}])
def test_layout_refuses_what_it_cannot_read(item):
    with pytest.raises(ValueError, match="synthetic world"):
        _Layout({}, {}, {}).elements([item])


def test_params_and_moves_forms():
    lists = {"xs": ["a", "b", "c"]}
    assert _param_sets({"each": "xs", "as": ["p", "q"], "skip": 1}, lists) == (
        {"p": "b", "q": "b"}, {"p": "c", "q": "c"})
    every = {"every": [{"each": ["1", "2"], "as": ["n"]}, [{"s": "x"}, {"s": "y"}]],
             "except": [{"n": "2", "s": "x"}]}
    assert _param_sets(every, lists) == ({"n": "1", "s": "x"}, {"n": "1", "s": "y"},
                                         {"n": "2", "s": "y"})
    scripts = {"go": [["tap", "Go", "next", {"k": "v"}], ["enter", "done"]]}
    assert _moves([["use", "go"], ["complete"]], scripts) == (
        Move("tap", "Go", "next", (("k", "v"),)), Move("enter", "", "done"), Move("complete"))
    with pytest.raises(ValueError, match="not a move"):
        _moves([["press", "x"]], scripts)
