"""Android in the Wild's release format: GZIP TFRecords of ``tf.train.Example``, read without
TensorFlow.

One record is one step. The features used (DESIGN.md section 1), in AitW's own layout:

====================================  =======  ==============================================
feature                               type     layout
====================================  =======  ==============================================
``episode_id``                        bytes    one value
``step_id``, ``episode_length``       int64    one value each
``goal_info``                         bytes    one value: the goal
``results/action_type``               int64    one value: an AitW action code
``results/type_action``               bytes    one value: text typed on TYPE, else empty
``results/yx_touch``, ``yx_lift``     float    ``[y, x]`` normalized; ``[-1, -1]`` if no gesture
``image/ui_annotations_positions``    float    N*4 flattened, each ``(y, x, h, w)`` normalized
``image/ui_annotations_text``         bytes    N values
``image/ui_annotations_ui_types``     bytes    N values
``image/height``, ``image/width``     int64    optional: the screenshot's size in pixels
====================================  =======  ==============================================

The reader converts explicitly to the harness convention: normalized units, points ``(x, y)``,
boxes ``[x, y, w, h]``; the prompt is rendered from ``goal_info`` and the annotations with
:func:`harness.data.prompts.render_prompt`; steps are ordered by ``step_id`` within an episode.

The ``tfrecord`` package (PyPI, no TensorFlow) is an optional dependency, imported only when a
TFRecord is actually read. The framing (gzip or not, lengths, CRCs) is read and checked by
:mod:`harness.data.tfrecord_frames`, not by the package's iterator, which checks no CRC and
allocates whatever a damaged length field asks for. Each record is parsed with the
``example_pb2`` the package ships rather than with ``tfrecord_loader``, because the loader turns
a one-element bytes list into a bare value and cannot read a feature that only some records
have (``image/height``), and the reader must tell those cases apart exactly. ``import
tfrecord`` imports torch (already a dependency).

The AitW conventions this reader converts from (``[y, x]`` points, ``(y, x, h, w)`` boxes, the
action rules) live in :mod:`harness.data.aitw_conventions`, shared with the AiTZ reader. The
writer the tests use to make TFRecords is ``tests/writers/aitw_tfrecord.py``.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from harness.data import files
from harness.data.aitw_conventions import check_action, yx_to_xy, yxhw_to_xywh
from harness.data.prompts import render_prompt
from harness.data.tfrecord_frames import Frame, frames, is_gzip
from harness.data.types import (MAX_SCREEN_SIDE, NORMALIZED, Box, Dataset, Step,
                                StepsByEpisode, Units)
from harness.data.validate import (InvalidRecords, check_box_on_screen, feature_floats,
                                   feature_text, feature_texts, feature_values,
                                   one_feature_value)
from harness.errors import DataError, HarnessInputError

FORMAT_NAME = "aitw-tfrecord"

BYTES, FLOAT, INT = "bytes_list", "float_list", "int64_list"

#: Every feature the reader uses (and the tests' writer may write), with its protobuf list type.
FEATURES = {
    "episode_id": BYTES,
    "step_id": INT,
    "episode_length": INT,
    "goal_info": BYTES,
    "results/action_type": INT,
    "results/type_action": BYTES,
    "results/yx_touch": FLOAT,
    "results/yx_lift": FLOAT,
    "image/ui_annotations_positions": FLOAT,
    "image/ui_annotations_text": BYTES,
    "image/ui_annotations_ui_types": BYTES,
    "image/height": INT,
    "image/width": INT,
}


# --------------------------------------------------------------------------- the optional package

def _tfrecord():
    """The ``tfrecord`` modules, imported only now so the harness runs without them. (The hint
    says "or writing" because the tests' TFRecord writer needs the same package.)"""
    try:
        from google.protobuf.message import DecodeError
        from tfrecord import example_pb2
    except ImportError:
        raise HarnessInputError(
            "reading or writing AitW TFRecords needs the 'tfrecord' package (no TensorFlow "
            "needed): pip install 'tfrecord'  (or, in a checkout: pip install -e '.[aitw]')"
        ) from None
    return example_pb2, DecodeError


# --------------------------------------------------------------------------- detection

def _is_tfrecord_name(path: Path) -> bool:
    return ".tfrecord" in path.name or path.name.endswith(".gz")


def _is_tfrecord_file(path: Path) -> bool:
    """For a regular file: named like a shard, or gzip by its first bytes."""
    return _is_tfrecord_name(path) or is_gzip(path)


def looks_like_tfrecord(path) -> bool:
    """A file named ``*.tfrecord*`` / ``*.gz`` or starting with the gzip magic bytes (the
    release's shards may carry no extension), or a folder holding such a file. Cheap: reads
    two bytes at most per file. Never raises."""
    path = Path(path)
    try:
        if files.kind_of(path) == files.FOLDER:
            return bool(tfrecord_files(path, must_exist=False))
    except DataError:
        return False
    return _is_tfrecord_file(path)


def tfrecord_files(path: Path, must_exist: bool = True) -> list[Path]:
    """The file itself, or every TFRecord-looking file under a folder (see
    :func:`looks_like_tfrecord`), sorted. Anything under the folder that is neither a regular
    file nor a folder (a FIFO, a dangling symlink) is an error: shards are recognised by
    content too, so such an entry might have been one."""
    path = Path(path)
    if not must_exist and not path.exists():
        return []
    if files.kind_of(path) == files.REGULAR:
        return [path]
    found = files.walk_files(path, _is_tfrecord_file,
                             data_name=lambda name: _is_tfrecord_name(Path(name)))
    if not found and must_exist:
        raise DataError.at(path, "the folder holds no *.tfrecord*, *.gz or gzip files")
    return found


# --------------------------------------------------------------------------- reading

def _example(frame: Frame, file: Path, modules):
    """One checked frame as a ``tf.train.Example``; a failed data CRC or bytes that are not an
    Example are an error about this record alone (the framing around it is intact, so
    ``--skip-invalid`` can drop it and read on)."""
    example_pb2, decode_error = modules
    if not frame.crc_ok:
        raise DataError.at(file, f"record {frame.number} (byte {frame.offset}): its data fail "
                                 "their CRC: the record is damaged")
    example = example_pb2.Example()
    try:
        example.ParseFromString(frame.data)
    except (decode_error, RuntimeError, ValueError) as exc:
        raise DataError.at(file, f"record {frame.number}: not a readable TFRecord of "
                                 f"tf.train.Example ({type(exc).__name__}: {exc})") from None
    return example


_NORMALIZED = Units(NORMALIZED)


def _boxes(features, n_texts: int, n_types: int, err) -> tuple[Box, ...]:
    """``image/ui_annotations_positions`` (N*4 flattened ``y, x, h, w``, normalized) as
    ``[x, y, w, h]``, each on the screen."""
    key = "image/ui_annotations_positions"
    flat = feature_values(features, key, FEATURES, err)
    if len(flat) % 4:
        raise err(f"feature '{key}' holds {len(flat)} floats, not a multiple of 4")
    if not len(flat) // 4 == n_texts == n_types:
        raise err(f"the UI annotations disagree in length: {len(flat) // 4} positions, "
                  f"{n_texts} texts, {n_types} ui types")
    boxes = []
    for i in range(0, len(flat), 4):
        box = flat[i:i + 4]
        if not all(math.isfinite(v) for v in box) or box[2] < 0 or box[3] < 0:
            raise err(f"{key}[{i // 4}] = {box} (y, x, h, w) is not finite or has a negative "
                      "height or width")
        xywh = yxhw_to_xywh(box)
        check_box_on_screen(xywh, f"{key}[{i // 4}] as x, y, w, h", _NORMALIZED, err)
        boxes.append(xywh)
    return tuple(boxes)


def _screen(features, err) -> tuple[int, int] | None:
    height = one_feature_value(features, "image/height", FEATURES, err, optional=True)
    width = one_feature_value(features, "image/width", FEATURES, err, optional=True)
    if (height is None) != (width is None):
        raise err("only one of 'image/height' and 'image/width' is present")
    if height is None:
        return None
    if width <= 0 or height <= 0:
        raise err(f"image size must be positive, got width {width}, height {height}")
    if max(width, height) > MAX_SCREEN_SIDE:
        raise err(f"image size {width}x{height} is larger than any image can be (at most "
                  f"{MAX_SCREEN_SIDE} pixels a side)")
    return (int(width), int(height))


_NAMES = {"action": "results/action_type", "text": "results/type_action",
          "touch": "results/yx_touch", "lift": "results/yx_lift"}


def parse_example(example, file: Path, record: int) -> tuple[Step, int, tuple[int, int] | None]:
    """One record as ``(step, episode_length, screen or None)``; errors name file, episode and
    step (or the record number, before those are known)."""
    features = example.features.feature

    def record_err(message):
        return DataError.at(file, f"record {record}: {message}")

    def one(key, err):
        return one_feature_value(features, key, FEATURES, err)

    episode = feature_text(one("episode_id", record_err), "episode_id", record_err)
    step_id = one("step_id", record_err)

    def err(message):
        return DataError.at(file, message, episode=episode, step=step_id)

    length = one("episode_length", err)
    if length < 1:
        raise err(f"episode_length must be at least 1, got {length}")
    if not 0 <= step_id < length:
        raise err(f"step_id {step_id} is outside 0..episode_length-1 (episode_length {length})")
    goal = feature_text(one("goal_info", err), "goal_info", err)
    if not goal.strip():
        raise err("feature 'goal_info' is empty")
    code = one("results/action_type", err)
    text = feature_text(one("results/type_action", err), "results/type_action", err)
    touch = feature_floats(features, "results/yx_touch", 2, FEATURES, err)
    lift = feature_floats(features, "results/yx_lift", 2, FEATURES, err)
    check_action(code, text, touch, lift, err, _NAMES)
    texts = feature_texts(features, "image/ui_annotations_text", FEATURES, err)
    types = feature_texts(features, "image/ui_annotations_ui_types", FEATURES, err)
    boxes = _boxes(features, len(texts), len(types), err)
    step = Step(episode=episode, index=int(step_id), prompt=render_prompt(goal, zip(types, texts)),
                boxes=boxes, action_type=int(code), type_text=text,
                touch=yx_to_xy(touch), lift=yx_to_xy(lift))
    return step, int(length), _screen(features, err)


def _units_and_notes(screens: Counter, given: tuple[int, int] | None,
                     path: Path) -> tuple[Units, list[str]]:
    """Record the screenshot size that every record states, or the one the caller gives when
    none is stated; a given size that contradicts a stated one is an error. Never invent one."""
    stated = sorted(s for s in screens if s is not None)
    if given is not None:
        given = tuple(int(v) for v in given)
        try:
            Units(NORMALIZED, given)
        except DataError as exc:
            raise DataError.at(path, f"--screen-size: {exc}") from None
        wrong = [s for s in stated if s != given]
        if wrong:
            raise DataError.at(path, f"--screen-size {given[0]}x{given[1]} contradicts the "
                                     f"{wrong[0][0]}x{wrong[0][1]} that records state "
                                     "(image/width, image/height)")
        source = "image/width, image/height and --screen-size" if stated else "--screen-size"
        return Units(NORMALIZED, given), [f"screen size {given[0]}x{given[1]} from {source}"]
    if len(screens) == 1 and stated:
        (w, h), = stated
        return Units(NORMALIZED, (w, h)), [f"screen size {w}x{h} from image/width, image/height"]
    if not stated:
        return Units(NORMALIZED), ["the records state no image/width, image/height: screen size "
                                   "unknown (the data are normalized, so none is needed)"]
    seen = ", ".join(f"{'unstated' if s is None else f'{s[0]}x{s[1]}'}: {n}"
                     for s, n in sorted(screens.items(), key=lambda kv: -kv[1]))
    return Units(NORMALIZED), [f"screen sizes differ across records ({seen}); none recorded on "
                               "the data set's units (the data are normalized)"]


def _completeness_note(by_episode: dict[str, dict[int, Step]],
                       lengths: dict[str, int]) -> list[str]:
    """Partial episodes are data, not errors (a shard may cut one), but worth saying."""
    # Step ids are known to lie in 0..length-1 and to be distinct, so a count is enough (and
    # never builds a list as long as a damaged episode_length says).
    partial = [e for e, steps in by_episode.items() if len(steps) != lengths[e]]
    if not partial:
        return []
    return [f"{len(partial)} episode(s) do not hold exactly step_id 0..episode_length-1 "
            f"(first: {partial[0]!r}); their steps are kept as they are"]


def read_aitw_tfrecord(path, screen: tuple[int, int] | None = None,
                       invalid: InvalidRecords | None = None) -> Dataset:
    """Read one TFRecord file, or every TFRecord-looking file under a folder (named
    ``*.tfrecord*`` / ``*.gz``, or gzip by its first bytes).

    The data are normalized whatever ``screen`` says; ``screen`` (``--screen-size``) is only
    recorded, and only when it agrees with every ``image/width``/``image/height`` the records
    state. Steps are grouped by ``episode_id`` and ordered by ``step_id`` (``Step.index``).
    """
    path = Path(path)
    shards = tfrecord_files(path)     # a missing path or an empty folder: said before importing
    modules = _tfrecord()
    invalid = invalid or InvalidRecords(skip=False)
    collected = StepsByEpisode()
    lengths: dict[str, int] = {}
    screens: Counter = Counter()
    for file in shards:
        for frame in frames(file):
            example = invalid.parse(_example, frame, file, modules)
            parsed = None if example is None else invalid.parse(parse_example, example, file,
                                                                frame.number)
            if parsed is None:
                continue
            step, length, stated = parsed
            collected.add(step, file)
            if lengths.setdefault(step.episode, length) != length:
                raise DataError.at(file, f"episode_length {length} disagrees with "
                                         f"{lengths[step.episode]} on an earlier step",
                                   episode=step.episode, step=step.index)
            screens[stated] += 1
    if not collected.episodes:
        raise DataError.at(path, "holds no TFRecord records")
    steps = collected.ordered()
    units, notes = _units_and_notes(screens, screen, path)
    notes = [
        "converted from AitW TFRecords: points [y, x] -> (x, y) and boxes (y, x, h, w) -> "
        "[x, y, w, h], both normalized as stored; [-1, -1] kept for steps without a gesture; "
        "prompts rendered from goal_info and the UI annotations (harness.data.prompts)",
        *notes, *_completeness_note(collected.episodes, lengths)]
    return Dataset(steps=steps, units=units, source=str(path), axis_order_in_source="yx",
                   notes=notes)


__all__ = ["read_aitw_tfrecord", "looks_like_tfrecord", "tfrecord_files", "parse_example",
           "FEATURES", "FORMAT_NAME"]
