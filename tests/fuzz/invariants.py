"""What every data set a reader returns must satisfy, whatever damage its file had: the rules
the readers promise to check, restated independently of their code so that a loaded input
that breaks one counts as a silent acceptance."""

from __future__ import annotations

import math

from harness import actions
from harness.data.types import Dataset

#: As generous as the readers' own slack (a rounding pixel, or 1e-3 of a normalized screen).
_SLACK = {"pixel": 1.0, "normalized": 1e-3}


def _text_ok(text) -> bool:
    if not isinstance(text, str):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def broken_rule(dataset) -> str | None:
    """None when ``dataset`` obeys every rule; else the first broken one, named."""
    if not isinstance(dataset, Dataset):
        return f"returned {type(dataset).__name__}, not a Dataset"
    if not dataset.steps:
        return "loaded a data set without steps"
    width, height = dataset.units.scale()
    slack = _SLACK[dataset.units.kind]
    seen = set()
    for s in dataset.steps:
        where = f"episode {s.episode!r} step {s.index}"
        if not _text_ok(s.episode) or not _text_ok(s.prompt) or not s.prompt.strip():
            return f"{where}: a missing, blank or invalid prompt or episode key"
        if not isinstance(s.index, int) or s.index < 0 or (s.episode, s.index) in seen:
            return f"{where}: a negative or repeated step index"
        seen.add((s.episode, s.index))
        if s.action_type not in actions.USED_CODES:
            return f"{where}: action code {s.action_type} is not one AitW uses"
        if not _text_ok(s.type_text) or (s.action_type == actions.TYPE
                                         and not s.type_text.strip()):
            return f"{where}: a TYPE step without text, or invalid text"
        for name, point in (("touch", s.touch), ("lift", s.lift)):
            if s.action_type != actions.DUAL_POINT:
                if tuple(point) != actions.NO_POINT:
                    return f"{where}: {name} {point} on a step without a gesture"
            elif not (all(math.isfinite(v) for v in point)
                      and 0 <= point[0] <= width and 0 <= point[1] <= height):
                return f"{where}: {name} {point} is off the screen"
        for box in s.boxes:
            x, y, w, h = box
            if not all(math.isfinite(v) for v in box) or w < 0 or h < 0:
                return f"{where}: box {box} is not finite or has a negative side"
            if x < -slack or y < -slack or x + w > width + slack or y + h > height + slack:
                return f"{where}: box {box} is off the screen"
    return None


def equals(expected_steps):
    """A check that the loaded steps are exactly ``expected_steps``."""
    def check(dataset) -> str | None:
        problem = broken_rule(dataset)
        if problem:
            return problem
        if dataset.steps != list(expected_steps):
            return (f"loaded {len(dataset.steps)} steps that differ from the "
                    f"{len(expected_steps)} expected")
        return None
    return check


__all__ = ["broken_rule", "equals"]
