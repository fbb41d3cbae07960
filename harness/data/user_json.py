"""The user's JSON format (DESIGN.md section 1): detection, validation, reading and writing.

A data set is a file, or a folder of files, each ``{episode_key: [step, ...]}``, with

    step = {"prompt": str,
            "coordinates": [[x, y, w, h], ...],
            "results": {"action_type": int, "type_action": str,
                        "touch_coords": [x, y], "lift_coords": [x, y]}}

The format itself does not say in which units its coordinates are. A folder may carry a
``dataset.json`` (``{"units": "pixel", "screen_size": [1080, 2400]}``, written by the
synthetic generator); otherwise the units come from the command line. Nothing is guessed.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness import actions
from harness.data import files
from harness.data.aitw_conventions import check_no_gesture, check_typed_text, check_used_code
from harness.data.metadata import METADATA_FILE, is_metadata, read_metadata
from harness.data.types import NORMALIZED, PIXEL, Dataset, Step, Units
from harness.data.validate import (InvalidRecords, check_box_on_screen, check_on_screen,
                                   checked_field, checked_text, loads_strict, numbers,
                                   parse_json, read_text)
from harness.errors import DataError
from harness.io import atomic_write_text

FORMAT_NAME = "user-json"


# --------------------------------------------------------------------------- detection

def looks_like_user_json(path) -> bool:
    """A JSON object whose first value is a list of steps with ``prompt`` and ``results``."""
    try:
        content = loads_strict(files.read_text(path))
    except (DataError, ValueError):
        return False
    if not isinstance(content, dict) or not content:
        return False
    steps = next(iter(content.values()))
    return (isinstance(steps, list) and bool(steps) and isinstance(steps[0], dict)
            and "prompt" in steps[0] and "results" in steps[0])


# --------------------------------------------------------------------------- validation

def parse_step(raw, *, file, episode, index: int, units: Units) -> Step:
    """Validate one step of the user's format and convert it; errors name file, episode, step."""

    def err(message):
        return DataError.at(file, message, episode=episode, step=index)

    if not isinstance(raw, dict):
        raise err(f"a step must be an object, got {type(raw).__name__}")
    prompt = checked_field(raw, "prompt", str, err)
    if not prompt.strip():
        raise err("field 'prompt' is empty")
    raw_boxes = checked_field(raw, "coordinates", list, err)
    boxes = []
    for i, box in enumerate(raw_boxes):
        b = numbers(box, 4, f"coordinates[{i}]", err)
        check_box_on_screen(b, f"coordinates[{i}]", units, err)
        boxes.append(b)
    results = checked_field(raw, "results", dict, err)
    code = checked_field(results, "action_type", int, err, "results.")
    check_used_code(code, "results.action_type", err)
    text = checked_field(results, "type_action", str, err, "results.")
    check_typed_text(code, text, "results.type_action", err)
    touch = numbers(checked_field(results, "touch_coords", list, err, "results."), 2,
                    "results.touch_coords", err)
    lift = numbers(checked_field(results, "lift_coords", list, err, "results."), 2,
                   "results.lift_coords", err)
    # A DUAL_POINT step's points lie on the screen (even (-1, -1) is checked, and refused,
    # there); every other action has no gesture and stores exactly (-1, -1), as AitW does.
    for what, point in (("results.touch_coords", touch), ("results.lift_coords", lift)):
        if code == actions.DUAL_POINT:
            check_on_screen(point, what, units, err)
        else:
            check_no_gesture(code, point, what, err)
    return Step(episode=str(episode), index=index, prompt=prompt, boxes=tuple(boxes),
                action_type=code, type_text=text, touch=touch, lift=lift)


# --------------------------------------------------------------------------- reading

def resolve_units(meta: dict, units: str | None, screen: tuple[int, int] | None,
                  where: Path) -> Units:
    """Units from the command line, else from ``dataset.json``; an error if neither says."""
    kind = units or meta.get("units")
    size = screen or meta.get("screen_size")  # read_metadata checked it
    if kind is None:
        raise DataError.at(where, "the coordinate units of this data set are unknown: pass "
                           "--units normalized, or --units pixel --screen-size WIDTHxHEIGHT, or "
                           f"add a {METADATA_FILE} with {{\"units\": ..., \"screen_size\": [W, H]}}")
    try:
        return Units(kind, tuple(int(v) for v in size) if size else None)
    except DataError as exc:
        raise DataError.at(where, str(exc)) from None


def data_files(path: Path) -> list[Path]:
    """The file itself, or every ``*.json`` under the folder but ``dataset.json``; anything
    under it that is not a regular file or folder is an error (:func:`files.walk_files`)."""
    if files.kind_of(path) == files.REGULAR:
        return [path]
    found = files.walk_files(path, lambda p: p.name.endswith(".json") and not is_metadata(p),
                             data_name=lambda name: name.endswith(".json"))
    if not found:
        raise DataError.at(path, "the folder holds no .json data files")
    return found


def read_file(file: Path, units: Units, seen_episodes: dict[str, Path],
              invalid: InvalidRecords | None = None) -> list[Step]:
    invalid = invalid or InvalidRecords(skip=False)
    text = read_text(file)
    if not text.strip():
        raise DataError.at(file, "the file is empty")
    content = parse_json(file, text)
    if not isinstance(content, dict):
        raise DataError.at(file, "expected an object {episode_key: [step, ...]}, got "
                                 f"{type(content).__name__}")
    if not content:
        raise DataError.at(file, "holds no episodes (an empty object)")
    steps = []
    for episode, raw_steps in content.items():
        checked_text(episode, f"episode key {episode!r}",
                     lambda message: DataError.at(file, message))
        if episode in seen_episodes:
            raise DataError.at(file, f"episode {episode!r} also appears in "
                                     f"{seen_episodes[episode]}")
        seen_episodes[episode] = file
        if not isinstance(raw_steps, list) or not raw_steps:
            raise DataError.at(file, "an episode must be a non-empty list of steps",
                               episode=episode)
        for index, raw in enumerate(raw_steps):
            step = invalid.parse(parse_step, raw, file=file, episode=episode, index=index,
                                 units=units)
            if step is not None:
                steps.append(step)
    return steps


def read_user_json(path, units: str | None = None, screen: tuple[int, int] | None = None,
                   invalid: InvalidRecords | None = None) -> Dataset:
    """Read a file or a folder of files in the user's format."""
    path = Path(path)
    folder = path if files.kind_of(path) == files.FOLDER else path.parent
    resolved = resolve_units(read_metadata(folder), units, screen, path)
    seen: dict[str, Path] = {}
    steps = [s for f in data_files(path) for s in read_file(f, resolved, seen, invalid)]
    return Dataset(steps=steps, units=resolved, source=str(path), axis_order_in_source="xy")


# --------------------------------------------------------------------------- writing

def step_to_json(step: Step) -> dict:
    return {
        "prompt": step.prompt,
        "coordinates": [list(b) for b in step.boxes],
        "results": {
            "action_type": step.action_type,
            "type_action": step.type_text,
            "touch_coords": list(step.touch),
            "lift_coords": list(step.lift),
        },
    }


def write_user_json(dataset: Dataset, folder, episodes_per_file: int = 200) -> Path:
    """Write ``dataset`` in the user's format, with a ``dataset.json`` stating its units."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    by_episode: dict[str, list[Step]] = {}
    for step in dataset.steps:
        by_episode.setdefault(step.episode, []).append(step)
    keys = list(by_episode)
    for part, start in enumerate(range(0, len(keys), episodes_per_file)):
        chunk = {k: [step_to_json(s) for s in sorted(by_episode[k], key=lambda s: s.index)]
                 for k in keys[start:start + episodes_per_file]}
        atomic_write_text(folder / f"episodes-{part:04d}.json", json.dumps(chunk))
    meta = {"format": FORMAT_NAME, **dataset.units.to_json(), "source": dataset.source}
    atomic_write_text(folder / METADATA_FILE, json.dumps(meta, indent=2))
    return folder


__all__ = ["read_user_json", "write_user_json", "parse_step", "looks_like_user_json", "PIXEL",
           "NORMALIZED"]
