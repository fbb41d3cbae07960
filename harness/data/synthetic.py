"""Synthetic episodes in the style of Android in the Wild (AitW), for runs without real data.

A small, fixed world (a home screen, an app drawer, quick settings and eight apps with a few
screens each) and a table of goal scripts. An episode draws a goal, its parameters (the query
to type, the alarm time, ...) and a start screen, then plays the script; each step records the
text prompt an AitW agent would see and the action a person would take. The world is data:
the files in ``harness/data/world/``, read by :mod:`harness.data.synthetic_world`. This module
holds how episodes are played on it.

Why it is built this way:

- Every element of a screen sits at a FIXED place (plus a few pixels of per-episode jitter), so
  tap coordinates are learnable from text: "Compose" on the Gmail inbox is always in the same
  corner, as on a real phone.
- The prompt carries no coordinates, yet the action is a function of the prompt: the goal, the
  screen (title and element texts) and the previous action decide it, and a tap's target text
  is always among the listed elements. A model that reads the prompt well can get every head
  right, so differences between designs are differences in learning, not label noise.
- The action mix is close to AitW's: taps about half the steps, then STATUS_TASK_COMPLETE
  (one per feasible episode), swipes, TYPE, PRESS_HOME, PRESS_ENTER, PRESS_BACK and a few
  STATUS_TASK_IMPOSSIBLE.

The world is laid out on a 1080 x 2400 reference screen and scaled to the requested one. Pixel
data are whole pixels; normalized data are exactly those pixels divided by the screen width (x)
and height (y), so both unit systems describe the same episodes.

API: :func:`generate` builds a :class:`~harness.data.types.Dataset`; :func:`parse_prompt`
splits a prompt back into goal, screen title, previous action and elements.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from harness import actions
from harness.data import prompts
# The world's tables stay importable from here, where they were defined before they became
# data files (APP_ICONS only for that).
from harness.data.synthetic_world import (APP_ICONS, APPS, DEFAULT_STATE, GOAL_KINDS, LAUNCH,
                                          POPUPS, SCREENS, WORLDS, GoalKind, Move)
from harness.data.types import PIXEL, UNITS, Dataset, Step, Units
from harness.errors import DataError

#: The screen the world is laid out on; other screen sizes get the same layout scaled.
REFERENCE_SCREEN = (1080, 2400)
#: Per-episode displacement of each element, in reference pixels (another status bar height,
#: font scale or device). Gaps between neighbouring elements are wider than twice this, so a
#: jittered element never lands on its neighbour.
ELEMENT_JITTER = 6
#: A tap lands at the element's centre plus up to this fraction of its width and height.
TAP_JITTER = 0.15
#: AitW-like episode length limit (an app's start-up pop-up is skipped where it would exceed it).
MAX_STEPS = 10


# =========================================================================== how episodes start

#: How often an app that has a start-up pop-up (apps.json) shows it.
POPUP_RATE = 0.45

#: How an episode starts (weights): on the home screen; inside another app (press home
#: first); on a wrong screen of the goal's app (press back first; only where allowed).
STARTS = {"home": 0.15, "other_app": 0.5, "wrong_screen": 0.35}


# =========================================================================== actions

#: Finger paths as screen fractions (touch x, touch y, lift x, lift y) and their jitter;
#: "up" = the finger moves up (the content scrolls down). Every path spans >= 25 % of the
#: screen; "down" starts at the top edge, to pull down quick settings.
SWIPES = {
    "up":    ((0.50, 0.75, 0.50, 0.30), (0.08, 0.04, 0.02, 0.04)),
    "down":  ((0.50, 0.03, 0.50, 0.55), (0.10, 0.01, 0.02, 0.05)),
    "left":  ((0.85, 0.50, 0.15, 0.50), (0.03, 0.10, 0.03, 0.01)),
    "right": ((0.15, 0.50, 0.85, 0.50), (0.03, 0.10, 0.03, 0.01)),
}

#: How the previous action is named in the prompt.
PREVIOUS_NAMES = {"tap": "TAP", "type": "TYPE", "enter": "PRESS_ENTER", "back": "PRESS_BACK",
                  "home": "PRESS_HOME", "swipe": "SWIPE_{arg}"}
ACTION_CODES = {"tap": actions.DUAL_POINT, "swipe": actions.DUAL_POINT, "type": actions.TYPE,
                "enter": actions.PRESS_ENTER, "back": actions.PRESS_BACK,
                "home": actions.PRESS_HOME, "complete": actions.STATUS_TASK_COMPLETE,
                "impossible": actions.STATUS_TASK_IMPOSSIBLE}


# =========================================================================== generation

class _State(dict):
    """Episode parameters and switch states; a missing field is a bug in the tables."""

    def __missing__(self, key):
        raise KeyError(f"synthetic world: no value for {{{key}}}")

    def fill(self, template: str) -> str:
        return template.format_map(self)


class _Geometry:
    """Maps reference-layout boxes and screen fractions to whole pixels of the real screen."""

    def __init__(self, screen: tuple[int, int]):
        self.width, self.height = screen
        self.sx = self.width / REFERENCE_SCREEN[0]
        self.sy = self.height / REFERENCE_SCREEN[1]

    def box(self, ref_box, dx: int, dy: int) -> tuple[int, int, int, int]:
        x, y, w, h = ref_box
        x0 = self._px((x + dx) * self.sx, self.width)
        x1 = self._px((x + dx + w) * self.sx, self.width)
        y0 = self._px((y + dy) * self.sy, self.height)
        y1 = self._px((y + dy + h) * self.sy, self.height)
        return (x0, y0, x1 - x0, y1 - y0)

    def point(self, fx: float, fy: float) -> tuple[int, int]:
        return (self._px(fx * self.width, self.width), self._px(fy * self.height, self.height))

    @staticmethod
    def _px(v: float, limit: int) -> int:
        return min(max(round(v), 0), limit)


@dataclass
class _View:
    """A screen as one step sees it: texts filled in, boxes placed in pixels."""

    key: str
    title: str
    elements: list[tuple[str, str]]          # (ui, text)
    boxes: list[tuple[int, int, int, int]]   # pixels, same order

    def box_of(self, text: str) -> tuple[int, int, int, int]:
        hits = [i for i, (_, t) in enumerate(self.elements) if t == text]
        if len(hits) != 1:
            raise RuntimeError(f"synthetic world: {len(hits)} elements {text!r} on {self.key}")
        return self.boxes[hits[0]]


def _view(key: str, state: _State, placed: dict, rng: random.Random,
          geometry: _Geometry) -> _View:
    """Render screen ``key``; ``placed`` holds the episode's element boxes, drawn (with their
    jitter) the first time the screen is shown, so they stay put within the episode."""
    screen = SCREENS[key]
    if key not in placed:
        placed[key] = [geometry.box(el.box, rng.randint(-ELEMENT_JITTER, ELEMENT_JITTER),
                                    rng.randint(-ELEMENT_JITTER, ELEMENT_JITTER))
                       for el in screen.elements]
    return _View(key, screen.title, [(el.ui, state.fill(el.text)) for el in screen.elements],
                 placed[key])


def _tap_point(box, rng: random.Random) -> tuple[int, int]:
    """The box's centre plus a little jitter, kept strictly inside the box."""
    x, y, w, h = box

    def axis(start, size):
        v = round(start + size / 2 + rng.uniform(-TAP_JITTER, TAP_JITTER) * size)
        return min(max(v, start + 1), start + size - 1) if size >= 2 else start + size // 2

    return (axis(x, w), axis(y, h))


def _swipe_points(direction: str, rng: random.Random, geometry: _Geometry):
    """Touch and lift of a swipe; the finger drifts a little off the main axis."""
    (tx, ty, lx, ly), (jtx, jty, jlx, jly) = SWIPES[direction]
    touch_x, touch_y = tx + rng.uniform(-jtx, jtx), ty + rng.uniform(-jty, jty)
    if direction in ("up", "down"):
        lift_x, lift_y = touch_x + rng.uniform(-jlx, jlx), ly + rng.uniform(-jly, jly)
    else:
        lift_x, lift_y = lx + rng.uniform(-jlx, jlx), touch_y + rng.uniform(-jly, jly)
    return geometry.point(touch_x, touch_y), geometry.point(lift_x, lift_y)


def _weighted(rng: random.Random, pairs):
    """One item of ``(item, weight)`` pairs, drawn with probability proportional to weight."""
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


def _launch(app: str, rng: random.Random, room: int) -> list[Move]:
    """From the home screen to ``app``'s main screen; a pop-up may show if there is ``room``
    left in the episode for the extra tap."""
    moves = []
    if LAUNCH[app] in ("drawer", "drawer_end"):
        moves.append(Move("swipe", "up", "drawer"))
    if LAUNCH[app] == "drawer_end":
        moves.append(Move("swipe", "up", "drawer_end"))
    main = APPS[app][0]
    if app in POPUPS and rng.random() < POPUP_RATE and room >= len(moves) + 2:
        popup, dismiss = POPUPS[app]
        return moves + [Move("tap", app, popup), Move("tap", dismiss, main)]
    return moves + [Move("tap", app, main)]


def _plan(kind: GoalKind, app: str | None, rng: random.Random,
          start: str | None = None) -> tuple[str, list[Move]]:
    """The first screen and the full list of moves: getting to the script's start, then it."""
    if start is None:
        start = _weighted(rng, [(k, w) for k, w in STARTS.items() if k != "wrong_screen"
                                or (app is not None and kind.wrong_screen_start)])
    if start == "wrong_screen":
        return APPS[app][1], [Move("back", "", APPS[app][0]), *kind.script]
    moves: list[Move] = []
    first = "home"
    if start == "other_app":
        first = APPS[rng.choice(sorted(a for a in APPS if a != app))][0]
        moves.append(Move("home", "", "home"))
    if app is not None:
        moves += _launch(app, rng, MAX_STEPS - len(moves) - len(kind.script))
    return first, moves + list(kind.script)


def _play(kind: GoalKind, params: dict, goal_template: str, rng: random.Random,
          geometry: _Geometry, start: str | None = None) -> list[dict]:
    """Play one episode; each step as a dict of prompt, pixel boxes and pixel action."""
    state = _State({**DEFAULT_STATE, **params})
    goal = state.fill(goal_template)
    app = state.fill(kind.app) if kind.app else None
    screen, moves = _plan(kind, app, rng, start)
    placed: dict = {}
    previous = "none"
    steps = []
    for move in moves:
        view = _view(screen, state, placed, rng, geometry)
        touch = lift = None
        if move.kind == "tap":
            touch = lift = _tap_point(view.box_of(state.fill(move.arg)), rng)
        elif move.kind == "swipe":
            touch, lift = _swipe_points(move.arg, rng, geometry)
        steps.append({"prompt": render_prompt(goal, view.title, previous, view.elements),
                      "boxes": view.boxes, "action_type": ACTION_CODES[move.kind],
                      "type_text": state.fill(move.arg) if move.kind == "type" else "",
                      "touch": touch, "lift": lift})
        for slot, value in move.sets:
            state[state.fill(slot)] = state.fill(value)
        previous = PREVIOUS_NAMES.get(move.kind, "none").format(arg=move.arg.upper())
        screen = move.to or screen
    return steps


def _episode(rng: random.Random, geometry: _Geometry, world: str) -> list[dict]:
    weights = WORLDS[world]
    kind = _weighted(rng, [(k, weights[k.name]) for k in GOAL_KINDS if k.name in weights])
    params = rng.choice(kind.params)
    return _play(kind, params, rng.choice(kind.goals), rng, geometry)


def render_prompt(goal: str, title: str, previous: str, elements) -> str:
    """What an AitW agent reads: goal, screen title, previous action, elements (no boxes), in
    the layout every reader uses (:func:`harness.data.prompts.render_prompt`)."""
    return prompts.render_prompt(goal, elements, screen=title, previous=previous)


_PROMPT = re.compile(r"Goal: (?P<goal>.*)\. Screen: (?P<screen>.*?)\. "
                     r"Previous: (?P<previous>\S+)\. Elements: (?P<elements>.*)", re.S)


def parse_prompt(prompt: str) -> dict:
    """Split a synthetic prompt into goal, screen, previous and the elements' labels (as
    :func:`harness.data.prompts.render_element` wrote them), in the order of the step's boxes."""
    m = _PROMPT.fullmatch(prompt)
    if not m:
        raise ValueError(f"not a synthetic prompt: {prompt[:80]!r}")
    return {"goal": m["goal"], "screen": m["screen"], "previous": m["previous"],
            "elements": m["elements"].split(prompts.SEPARATOR)}


def generate(n_episodes: int = 400, seed: int = 0, units: str = "pixel",
             screen: tuple[int, int] = (1080, 2400), world: str = "small") -> Dataset:
    """A deterministic synthetic AitW-style data set.

    Same arguments, same data set; no global random state is used. Episode ``i`` has its own
    random stream derived from ``(seed, i)``, so a smaller ``n_episodes`` gives a prefix of a
    larger one, and the pixel and normalized versions of one seed and screen describe the same
    episodes: normalized values are the pixel values divided by the screen width (x) and
    height (y).
    """
    if units not in UNITS:
        raise DataError(f"unknown coordinate units {units!r}; expected one of {UNITS}")
    if n_episodes < 1:
        raise DataError(f"n_episodes must be at least 1, got {n_episodes}")
    if world not in WORLDS:
        raise DataError(f"unknown synthetic world {world!r}; expected one of {list(WORLDS)}")
    screen = (int(screen[0]), int(screen[1]))
    unit = Units(units, screen)   # validates the screen size
    geometry = _Geometry(screen)
    sx, sy = (1.0, 1.0) if units == PIXEL else (float(screen[0]), float(screen[1]))

    def point(p):
        return actions.NO_POINT if p is None else (p[0] / sx, p[1] / sy)

    steps = []
    for e in range(n_episodes):
        key = f"synthetic-{e:06d}"
        rng = random.Random(f"synthetic/{seed}/{e}")
        for i, raw in enumerate(_episode(rng, geometry, world)):
            steps.append(Step(
                episode=key, index=i, prompt=raw["prompt"],
                boxes=tuple((x / sx, y / sy, w / sx, h / sy) for x, y, w, h in raw["boxes"]),
                action_type=raw["action_type"], type_text=raw["type_text"],
                touch=point(raw["touch"]), lift=point(raw["lift"])))
    source = f"synthetic(n_episodes={n_episodes}, seed={seed}, units={units}, world={world}"
    source += ")" if screen == REFERENCE_SCREEN else f", screen={screen[0]}x{screen[1]})"
    notes = [f"synthetic AitW-style episodes ({world} world): {len(WORLDS[world])} goal families over "
             f"{len(APPS)} apps; element boxes fixed per screen, +-{ELEMENT_JITTER} px "
             f"per-episode jitter on the {REFERENCE_SCREEN[0]}x{REFERENCE_SCREEN[1]} reference "
             f"layout, scaled to {screen[0]}x{screen[1]}"]
    return Dataset(steps=steps, units=unit, source=source, axis_order_in_source="xy",
                   notes=notes)


__all__ = ["generate", "parse_prompt", "render_prompt", "SCREENS", "APPS", "GOAL_KINDS",
           "APP_ICONS"]
