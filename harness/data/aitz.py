"""The AiTZ export of Android in the Wild (CoAT project): reading and detection.

A file is one JSON list of steps (usually one episode); a data set is a file or a folder of
such files, possibly in subfolders next to their screenshots. Read off the real sample in
``tests/data/aitz-sample/``:

- every field except ``result_action_type``, ``step_id`` and ``episode_length`` is a string,
  and ``ui_positions``, ``ui_text``, ``ui_types``, ``result_touch_yx``, ``result_lift_yx`` are
  JSON-encoded lists inside those strings;
- ``ui_positions`` are ``[y_top, x_left, height, width]`` in PIXELS of the screenshot;
- ``result_touch_yx`` / ``result_lift_yx`` are ``[y, x]`` NORMALIZED to [0, 1], and
  ``[-1.0, -1.0]`` on every action that is not DUAL_POINT;
- ``instruction`` is the goal; the ``coat_*`` fields are model-written descriptions, not
  labels, and are ignored.

The export does not state the screenshot size, and the pixel boxes mean nothing without it, so
the caller must give it (``--screen-size WIDTHxHEIGHT``); it is never guessed. The result is a
normalized data set: points ``(x, y)`` (the yx pair swapped, the ``(-1, -1)`` sentinel kept
exactly) and boxes ``[x/W, y/H, w/W, h/H]``.
"""

from __future__ import annotations

from pathlib import Path

from harness.data import files
from harness.data.aitw_conventions import check_action, yx_to_xy
from harness.data.metadata import is_metadata
from harness.data.prompts import render_prompt
from harness.data.types import (MAX_SCREEN_SIDE, NORMALIZED, Box, Dataset, Step,
                                StepsByEpisode, Units)
from harness.data.validate import (InvalidRecords, checked_field, json_list, json_strings,
                                   list_of_numbers, loads_strict, parse_json, read_text)
from harness.errors import DataError

FORMAT_NAME = "aitz"

#: How far (pixels) a box may reach past the given screen before the size is called wrong:
#: the export's boxes are whole pixels, so a rounding pixel is not evidence of a wrong size.
BOX_SLACK_PX = 1

_NAMES = {"action": "result_action_type", "text": "result_action_text",
          "touch": "result_touch_yx", "lift": "result_lift_yx"}


# --------------------------------------------------------------------------- detection

def _json_files(path: Path) -> list[Path]:
    """Every ``*.json`` under the folder but a ``dataset.json`` (the folder's metadata, never
    an episode); anything that is not a regular file or folder is an error."""
    return files.walk_files(path, lambda p: p.name.endswith(".json") and not is_metadata(p),
                            data_name=lambda name: name.endswith(".json"))


def looks_like_aitz(path) -> bool:
    """A JSON list whose first element has ``ui_positions`` and ``result_action_type`` (for a
    folder: its first ``*.json`` file). Never raises."""
    try:
        path = Path(path)
        if files.kind_of(path) == files.FOLDER:
            found = _json_files(path)
            if not found:
                return False
            path = found[0]
        content = loads_strict(files.read_text(path))
    except (DataError, ValueError):
        return False
    return (isinstance(content, list) and bool(content) and isinstance(content[0], dict)
            and "ui_positions" in content[0] and "result_action_type" in content[0])


# --------------------------------------------------------------------------- one step

def _box(value, i: int, screen: tuple[int, int], err) -> Box:
    """Pixel ``[y, x, h, w]`` to normalized ``[x/W, y/H, w/W, h/H]``; a box off the given
    screen means the screen size is wrong, which would silently rescale every box."""
    y, x, h, w = list_of_numbers(value, 4, f"ui_positions[{i}]", err)
    width, height = screen
    if h < 0 or w < 0:
        raise err(f"ui_positions[{i}] = {value} (y, x, h, w) has a negative height or width")
    if (x < -BOX_SLACK_PX or y < -BOX_SLACK_PX or x + w > width + BOX_SLACK_PX
            or y + h > height + BOX_SLACK_PX):
        raise err(f"ui_positions[{i}] = {value} (y, x, h, w pixels) lies outside the given "
                  f"{width}x{height} screen: is --screen-size WIDTHxHEIGHT right for these "
                  "screenshots?")
    return (x / width, y / height, w / width, h / height)


def parse_step(raw, *, file, position: int, screen: tuple[int, int]) -> Step:
    """Validate one AiTZ step and convert it to the harness convention. Errors name the file,
    the episode and the step (the step's ``step_id``, else its position in the file)."""
    return _parse_record(raw, file=file, position=position, screen=screen)[0]


def _parse_record(raw, *, file, position: int, screen: tuple[int, int]) -> tuple[Step, int]:
    """One step and its record's ``episode_length``."""
    episode = raw.get("episode_id") if isinstance(raw, dict) else None
    step_id = raw.get("step_id") if isinstance(raw, dict) else None
    # Only a plain string or integer is quoted in where the error is: the values themselves
    # are not checked yet, and may be anything JSON holds.
    episode = episode if isinstance(episode, str) else None
    where = step_id if isinstance(step_id, int) and not isinstance(step_id, bool) else \
        f"#{position} in the file"

    def err(message):
        return DataError.at(file, message, episode=episode, step=where)

    if not isinstance(raw, dict):
        raise err(f"a step must be an object, got {type(raw).__name__}")
    checked_field(raw, "episode_id", str, err)
    checked_field(raw, "step_id", int, err)
    length = checked_field(raw, "episode_length", int, err)
    if length < 1:
        raise err(f"episode_length must be at least 1, got {length}")
    if not 0 <= step_id < length:
        raise err(f"step_id {step_id} is outside 0..episode_length-1 (episode_length "
                  f"{length})")
    goal = checked_field(raw, "instruction", str, err)
    if not goal.strip():
        raise err("field 'instruction' (the goal) is empty")
    positions = json_list(raw, "ui_positions", err)
    texts = json_strings(raw, "ui_text", err)
    types = json_strings(raw, "ui_types", err)
    if not len(positions) == len(texts) == len(types):
        raise err(f"ui_positions, ui_text and ui_types differ in length: {len(positions)}, "
                  f"{len(texts)}, {len(types)}")
    code = checked_field(raw, "result_action_type", int, err)
    text = checked_field(raw, "result_action_text", str, err)
    touch = list_of_numbers(json_list(raw, "result_touch_yx", err), 2, "result_touch_yx", err)
    lift = list_of_numbers(json_list(raw, "result_lift_yx", err), 2, "result_lift_yx", err)
    check_action(code, text, touch, lift, err, _NAMES)
    boxes = tuple(_box(p, i, screen, err) for i, p in enumerate(positions))
    step = Step(episode=episode, index=step_id, prompt=render_prompt(goal, zip(types, texts)),
                boxes=boxes, action_type=code, type_text=text,
                touch=yx_to_xy(touch), lift=yx_to_xy(lift))
    return step, length


# --------------------------------------------------------------------------- files and folders

def _read_file(file: Path, screen: tuple[int, int],
               invalid: InvalidRecords) -> list[tuple[Step, int]]:
    text = read_text(file)
    if not text.strip():
        raise DataError.at(file, "the file is empty")
    content = parse_json(file, text)
    if not isinstance(content, list) or not content:
        raise DataError.at(file, "an AiTZ file must hold a non-empty JSON list of steps, got "
                                 f"{type(content).__name__}")
    parsed = [invalid.parse(_parse_record, raw, file=file, position=i, screen=screen)
              for i, raw in enumerate(content)]
    return [p for p in parsed if p is not None]


def _missing_steps(step_ids, length: int) -> list[int]:
    """The first three step ids of 0..length-1 that are absent (ids are known to lie in that
    range, so this stops after len(step_ids) + 3 tries whatever ``length`` is)."""
    missing = []
    for i in range(length):
        if len(missing) == 3:
            break
        if i not in step_ids:
            missing.append(i)
    return missing


def _check_complete(collected: StepsByEpisode, lengths: dict, first_file: dict,
                    invalid: InvalidRecords) -> list[str]:
    """An AiTZ file holds whole episodes, so one that lacks a step between 0 and
    episode_length-1 is damaged: an error, or, under --skip-invalid (whose dropped records
    leave such gaps), a note."""
    partial = []
    for episode, steps in collected.episodes.items():
        if len(steps) == lengths[episode]:
            continue
        missing = _missing_steps(steps, lengths[episode])
        message = (f"holds {len(steps)} of its episode_length {lengths[episode]} steps "
                   f"(missing step_id {', '.join(map(str, missing))}"
                   f"{', ...' if lengths[episode] - len(steps) > len(missing) else ''})")
        if not invalid.skip:
            raise DataError.at(first_file[episode], message, episode=episode)
        partial.append(episode)
    if not partial:
        return []
    return [f"{len(partial)} episode(s) lack steps after --skip-invalid (first: "
            f"{partial[0]!r}); their other steps are kept"]


def _check_screen(path: Path, screen) -> tuple[int, int]:
    if screen is None:
        raise DataError.at(path, "AiTZ boxes (ui_positions) are in pixels of the screenshots and "
                                 "the export does not state their size: pass --screen-size "
                                 "WIDTHxHEIGHT (the episode's PNG width x height)")
    try:
        width, height = (int(v) for v in screen)
    except (TypeError, ValueError, OverflowError):
        raise DataError.at(path, f"screen size must be (width, height), got {screen!r}") from None
    if width <= 0 or height <= 0:
        raise DataError.at(path, f"screen size must be positive, got {width}x{height}")
    if max(width, height) > MAX_SCREEN_SIDE:
        raise DataError.at(path, f"screen size {width}x{height} is larger than any image can "
                                 f"be (at most {MAX_SCREEN_SIDE} pixels a side)")
    return (width, height)


def read_aitz(path, screen: tuple[int, int] | None,
              invalid: InvalidRecords | None = None) -> Dataset:
    """Read an AiTZ file, or every ``*.json`` under a folder, as a normalized data set.

    ``screen`` is the screenshots' ``(width, height)`` in pixels, needed to normalize the
    boxes. Steps are grouped by ``episode_id`` and ordered by ``step_id``; ``Step.index`` is
    the ``step_id``.
    """
    path = Path(path)
    screen = _check_screen(path, screen)
    invalid = invalid or InvalidRecords(skip=False)
    if files.kind_of(path) == files.FOLDER:
        data = _json_files(path)
        if not data:
            raise DataError.at(path, "the folder holds no .json data files")
    else:
        data = [path]
    collected = StepsByEpisode()
    lengths: dict[str, int] = {}
    first_file: dict[str, Path] = {}
    for file in data:
        for step, length in _read_file(file, screen, invalid):
            collected.add(step, file)
            first_file.setdefault(step.episode, file)
            if lengths.setdefault(step.episode, length) != length:
                raise DataError.at(file, f"episode_length {length} disagrees with "
                                         f"{lengths[step.episode]} on an earlier step",
                                   episode=step.episode, step=step.index)
    partial_note = _check_complete(collected, lengths, first_file, invalid)
    steps = collected.ordered()
    width, height = screen
    note = (f"converted from AiTZ: points [y, x] -> (x, y) (normalized as stored; [-1, -1] kept "
            f"for steps without a gesture); boxes pixel [y, x, h, w] -> normalized "
            f"[x/{width}, y/{height}, w/{width}, h/{height}] using the given {width}x{height} "
            "screen; prompts rendered from instruction, ui_types and ui_text "
            "(harness.data.prompts); coat_* fields ignored (model-written, not labels)")
    return Dataset(steps=steps, units=Units(NORMALIZED, screen), source=str(path),
                   axis_order_in_source="yx", notes=[note, *partial_note])


__all__ = ["read_aitz", "looks_like_aitz", "parse_step", "FORMAT_NAME"]
