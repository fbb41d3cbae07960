"""Android in the Wild's conventions, shared by every reader of AitW-derived data.

AitW writes points as ``[y, x]`` and boxes as ``(y, x, h, w)``, uses ``[-1, -1]`` for "no
gesture", and uses only some of its action codes. The AitW TFRecord reader
(:mod:`harness.data.aitw_tfrecord`) and the AiTZ reader (:mod:`harness.data.aitz`) both convert
from these conventions, and the user-json reader (:mod:`harness.data.user_json`) checks the same
action rules, so they are written once, here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from harness import actions
from harness.data.types import Box, Point


def yx_to_xy(yx: Sequence[float]) -> Point:
    """AitW's ``[y, x]`` to the harness's ``(x, y)``; the ``(-1, -1)`` sentinel stays as is."""
    y, x = yx
    return (float(x), float(y))


def yxhw_to_xywh(box: Sequence[float]) -> Box:
    """AitW's ``(y, x, h, w)`` to the harness's ``[x, y, w, h]`` (same units)."""
    y, x, h, w = box
    return (float(x), float(y), float(w), float(h))


def check_used_code(code: int, what: str, err) -> None:
    """``code`` must be one of the action codes AitW's data use."""
    if code not in actions.USED_CODES:
        raise err(f"{what} {code} is not an action code AitW uses (expected one of "
                  f"{list(actions.USED_CODES)}; 0, 1, 2, 8 and 9 are unused)")


def check_typed_text(code: int, text: str, what: str, err) -> None:
    """A TYPE step must say what it types: blanks alone type nothing a model could learn."""
    if code == actions.TYPE and not text.strip():
        raise err(f"{what} is {'blank' if text else 'empty'} on a TYPE step")


def check_no_gesture(code: int, point, what: str, err) -> None:
    """Only DUAL_POINT carries a point: AitW stores ``[-1, -1]`` for touch and lift on every
    other action, so a PRESS_HOME with a touch point is damaged or mislabelled."""
    if code != actions.DUAL_POINT and tuple(point) != actions.NO_POINT:
        raise err(f"{what} is {list(point)} on a {actions.name(code)} step: only DUAL_POINT "
                  "carries a point (every other action stores [-1, -1])")


def check_action(code, text: str, touch_yx, lift_yx, err, names: Mapping[str, str]) -> None:
    """The rules every AitW-derived step obeys, checked on the source values so that errors
    quote what the file says. ``names`` maps ``action``/``text``/``touch``/``lift`` to the
    source's field names."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise err(f"{names['action']} must be an integer, got {code!r}")
    check_used_code(code, names["action"], err)
    check_typed_text(code, text, names["text"], err)
    for key, yx in (("touch", touch_yx), ("lift", lift_yx)):
        point = tuple(yx)
        check_no_gesture(code, point, names[key], err)
        if point == actions.NO_POINT:
            if code == actions.DUAL_POINT:
                raise err(f"{names[key]} is [-1, -1] on a DUAL_POINT step, which needs a point")
            continue
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in point):
            raise err(f"{names[key]} {list(point)} is outside [0, 1] (normalized [y, x]; "
                      "[-1.0, -1.0], for no gesture, is the only value allowed outside)")


__all__ = ["yx_to_xy", "yxhw_to_xywh", "check_used_code", "check_typed_text",
           "check_no_gesture", "check_action"]
