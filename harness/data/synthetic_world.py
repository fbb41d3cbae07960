"""The synthetic phone that :mod:`harness.data.synthetic` plays episodes on, read from data files.

The world is data, in ``harness/data/world/``: ``screens.json`` lays out every screen,
``apps.json`` says how each app is reached, ``goals.json`` holds the goal families (phrasings,
parameters, scripts) and the worlds that weight them (``small``, ``full``). Each file's
``note`` describes its layout. This module reads them once, on import, into the tables below;
the generator's own knobs (jitter, swipe paths, how episodes start) stay in the generator.

Layout that is computed rather than listed (a list's rows, a tab bar's cells, a row of launcher
icons, the time picker's dial) is built here, from the reference-screen geometry those files
assume (1080 x 2400 pixels).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple


# =========================================================================== the types

class Element(NamedTuple):
    """One UI element: AitW ui type, text (may hold ``{slot}`` fields), box ``[x, y, w, h]``
    in reference pixels."""

    ui: str
    text: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Screen:
    app: str
    title: str
    elements: tuple[Element, ...]


class Move(NamedTuple):
    """One scripted action. ``arg``: the tap target's text, the typed text or the swipe
    direction (templates over the episode's parameters); ``to``: the next screen; ``sets``:
    state the action changes (a switch flipped, a time picked)."""

    kind: str
    arg: str = ""
    to: str = ""
    sets: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GoalKind:
    """A family of goals: phrasings, parameter sets, and the script that achieves them.

    ``app``: the script starts on that app's main screen, reached from wherever the episode
    starts; None: it starts on the home screen. ``wrong_screen_start``: whether an episode may
    start on the app's wrong screen (not for "open app", which would already be done there).
    """

    name: str
    weight: float
    app: str | None
    goals: tuple[str, ...]
    params: tuple[dict, ...]
    script: tuple[Move, ...]
    wrong_screen_start: bool = True


# =========================================================================== computed layout

def _row(text: str, y: int, ui: str = "TEXT", h: int = 130) -> Element:
    """A full-width list row (settings entries, e-mails, suggestions)."""
    return Element(ui, text, (40, y, 1000, h))


def _rows(names, top: int, step: int, h: int = 130, ui: str = "TEXT") -> tuple[Element, ...]:
    return tuple(_row(n, top + step * i, ui=ui, h=h) for i, n in enumerate(names))


def _tabs(names, y: int = 2120) -> tuple[Element, ...]:
    """A tab bar: equal cells across the screen width."""
    cell = 1080 // len(names)
    return tuple(Element("TEXT", n, (i * cell + 10, y, cell - 20, 120))
                 for i, n in enumerate(names))


def _icons(names, top: int, icon_types: dict[str, str]) -> tuple[Element, ...]:
    """A row of app icons on the launcher's four-column grid (140 x 140 px each)."""
    return tuple(Element(icon_types[n], n, (65 + 270 * i, top, 140, 140))
                 for i, n in enumerate(names))


def _dial(labels, top: int = 960, centre_x: int = 540, radius: int = 330) -> tuple[Element, ...]:
    """The face of the time picker: twelve labels on a circle, clockwise, the last at the top."""
    out = []
    for i, label in enumerate(labels, start=1):
        angle = math.radians(i * 30)
        cx = centre_x + radius * math.sin(angle)
        cy = top + 55 + radius - radius * math.cos(angle)
        out.append(Element("TEXT", label, (round(cx) - 55, round(cy) - 55, 110, 110)))
    return tuple(out)


# =========================================================================== reading the files

NOTE = "note"   # every file may explain itself under this key; it is never data


def _read(name: str) -> dict:
    """One file of ``harness/data/world/``, found through the package (so an installed copy
    reads its own files, not a checkout's)."""
    text = (resources.files(__package__) / "world" / name).read_text(encoding="utf-8")
    return json.loads(text)


def _named(table: dict) -> dict:
    """A table of named entries, its note left out."""
    return {k: v for k, v in table.items() if k != NOTE}


class _Layout:
    """Turns the element lists of ``screens.json`` into Elements (the forms are listed in that
    file's note). A part's ``$name`` strings are its arguments, given where it is used."""

    def __init__(self, parts: dict, lists: dict, icon_types: dict[str, str]):
        self.parts = parts
        self.lists = lists
        self.icon_types = icon_types

    def elements(self, items, args: dict | None = None) -> tuple[Element, ...]:
        args = args or {}
        return tuple(el for item in items for el in self._item(item, args))

    @staticmethod
    def _arg(value, args: dict):
        if isinstance(value, str) and value.startswith("$"):
            return args[value[1:]]
        return value

    def _names(self, value) -> list[str]:
        """A list of names given inline, or the name of one of the files' lists."""
        return self.lists[value] if isinstance(value, str) else value

    def _item(self, item, args: dict) -> tuple[Element, ...]:
        if isinstance(item, str):       # "$name": the elements the part's user passed
            if not item.startswith("$"):
                raise ValueError(f"synthetic world: a string item must be a $name: {item!r}")
            return self.elements(self._arg(item, args))
        if isinstance(item, list):      # [ui, text, x, y, w, h]
            ui, text, x, y, w, h = (self._arg(v, args) for v in item)
            return (Element(ui, text, (x, y, w, h)),)
        spec = {k: self._arg(v, args) for k, v in item.items()}
        if "use" in spec:
            part = self.parts[spec.pop("use")]
            return self.elements(part if isinstance(part, list) else part["elements"], spec)
        if "row" in spec:
            return (_row(spec["row"], spec["y"], spec.get("ui", "TEXT"), spec.get("h", 130)),)
        if "rows" in spec:
            names = self._names(spec["rows"])[:spec.get("first")]
            return _rows(names, spec["top"], spec["step"], spec.get("h", 130),
                         spec.get("ui", "TEXT"))
        if "tabs" in spec:
            return _tabs(self._names(spec["tabs"]), spec.get("y", 2120))
        if "icons" in spec:
            return _icons(self._names(spec["icons"]), spec["top"], self.icon_types)
        if "dial" in spec:
            return _dial(self._names(spec["dial"]))
        raise ValueError(f"synthetic world: not an element, row, rows, tabs, icons, dial or "
                         f"use: {item!r}")


def _param_sets(spec, lists: dict) -> tuple[dict, ...]:
    """A goal family's parameter sets, from one of the forms in ``goals.json``'s note."""
    if isinstance(spec, str):
        return tuple(lists[spec])
    if isinstance(spec, list):
        return tuple(spec)
    if "each" in spec:
        names = lists[spec["each"]] if isinstance(spec["each"], str) else spec["each"]
        return tuple({key: name for key in spec["as"]} for name in names[spec.get("skip", 0):])
    if "every" in spec:
        factors = [_param_sets(factor, lists) for factor in spec["every"]]
        merged = ({k: v for part in combo for k, v in part.items()}
                  for combo in itertools.product(*factors))
        dropped = spec.get("except", [])
        return tuple(p for p in merged if not any(d.items() <= p.items() for d in dropped))
    raise ValueError(f"synthetic world: not a form of params: {spec!r}")


def _moves(specs, scripts: dict) -> tuple[Move, ...]:
    """A script's moves; ``["use", name]`` splices a shared script."""
    moves: list[Move] = []
    for kind, *rest in specs:
        if kind == "use":
            moves += _moves(scripts[rest[0]], scripts)
        elif kind == "enter":
            moves.append(Move("enter", "", rest[0]))
        elif kind in ("complete", "impossible") and not rest:
            moves.append(Move(kind))
        elif kind in ("tap", "type", "swipe"):
            arg, to, *sets = rest
            moves.append(Move(kind, arg, to, tuple(sets[0].items()) if sets else ()))
        else:
            raise ValueError(f"synthetic world: not a move: {[kind, *rest]!r}")
    return tuple(moves)


def _goal_kind(spec: dict, lists: dict, scripts: dict) -> GoalKind:
    return GoalKind(spec["name"], spec["weight"], spec["app"], tuple(spec["goals"]),
                    _param_sets(spec["params"], lists), _moves(spec["script"], scripts),
                    spec.get("wrong_screen_start", True))


# =========================================================================== the tables

_screens_file = _read("screens.json")
_apps_file = _read("apps.json")
_goals_file = _read("goals.json")
_lists = {**_named(_screens_file["lists"]), **_named(_goals_file["lists"])}

#: App icon types (AitW's icon classes, chosen by look), by app name.
APP_ICONS: dict[str, str] = _apps_file["icons"]
#: Initial state of everything a goal can change; screens show it through ``{slot}`` fields.
DEFAULT_STATE: dict[str, str] = _named(_screens_file["default_state"])

_layout = _Layout(_named(_screens_file["parts"]), _lists, APP_ICONS)
SCREENS: dict[str, Screen] = {
    key: Screen(spec["app"], spec["title"], _layout.elements(spec["elements"]))
    for key, spec in _named(_screens_file["screens"]).items()}

_apps = _named(_apps_file["apps"])
#: Each app's first screen, and a wrong screen of it where an episode may start.
APPS: dict[str, tuple[str, str]] = {app: (a["main"], a["wrong"]) for app, a in _apps.items()}
#: Where each app's icon is: ``home``, or one (``drawer``) or two (``drawer_end``) swipes up.
LAUNCH: dict[str, str] = {app: a["launched_from"] for app, a in _apps.items()}
#: The pop-up an app may show when it opens, and the button that dismisses it.
POPUPS: dict[str, tuple[str, str]] = {app: (a["popup"]["screen"], a["popup"]["dismiss"])
                                      for app, a in _apps.items() if "popup" in a}

_scripts = _named(_goals_file["scripts"])
GOAL_KINDS: tuple[GoalKind, ...] = tuple(_goal_kind(spec, _lists, _scripts)
                                         for spec in _goals_file["goal_kinds"])

#: Goal family weights per world; ``full`` is every family at its own weight.
WORLDS: dict[str, dict[str, float]] = {"full": {k.name: k.weight for k in GOAL_KINDS},
                                       **_named(_goals_file["worlds"])}

__all__ = ["Element", "Screen", "Move", "GoalKind", "APP_ICONS", "DEFAULT_STATE", "SCREENS",
           "APPS", "LAUNCH", "POPUPS", "GOAL_KINDS", "WORLDS"]
