"""Shared fixtures: a hand-made toy data set and tiny encoders, so tests run in seconds."""

from __future__ import annotations

import random

import pytest

from harness import actions
from harness.data.types import PIXEL, Dataset, Step, Units

SCREEN = (1080, 2400)
TINY_ENCODER = "tiny:hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"

APPS = {"clock": (100, 300, 200, 200), "chrome": (400, 300, 200, 200),
        "maps": (700, 300, 200, 200)}
QUERIES = ["pizza near me", "weather today", "lo fi music", "cheap flights"]


def toy_steps(n_episodes: int, seed: int = 0) -> list[Step]:
    """Episodes of HOME, tap an app icon, TYPE a query, ENTER, swipe, COMPLETE."""
    rng = random.Random(seed)
    steps = []
    for e in range(n_episodes):
        app = rng.choice(sorted(APPS))
        query = rng.choice(QUERIES)
        boxes = tuple(APPS.values())
        goal = f"Goal: open {app} and search for {query}."
        x, y, w, h = APPS[app]
        tap = (x + w / 2 + rng.randint(-20, 20), y + h / 2 + rng.randint(-20, 20))
        script = [
            (actions.PRESS_HOME, "", actions.NO_POINT, actions.NO_POINT, "screen: some app"),
            (actions.DUAL_POINT, "", tap, tap, "screen: home, icons clock chrome maps"),
            (actions.TYPE, query, actions.NO_POINT, actions.NO_POINT, f"screen: {app} search"),
            (actions.PRESS_ENTER, "", actions.NO_POINT, actions.NO_POINT, "screen: typed"),
            (actions.DUAL_POINT, "", (540.0, 1800.0), (540.0, 600.0), "screen: results"),
            (actions.STATUS_TASK_COMPLETE, "", actions.NO_POINT, actions.NO_POINT, "screen: done"),
        ]
        for i, (code, text, touch, lift, screen) in enumerate(script):
            steps.append(Step(episode=f"toy-{e:04d}", index=i, prompt=f"{goal} {screen}",
                              boxes=boxes, action_type=code, type_text=text,
                              touch=tuple(map(float, touch)), lift=tuple(map(float, lift))))
    return steps


def toy_dataset(n_episodes: int = 24, seed: int = 0) -> Dataset:
    return Dataset(toy_steps(n_episodes, seed), Units(PIXEL, SCREEN), source="toy")


@pytest.fixture
def toy():
    return toy_dataset()
