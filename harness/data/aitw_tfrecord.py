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
TFRecord is actually read. Its ``tfrecord_iterator`` does the (gzip) framing; each
record is parsed with the ``example_pb2`` it ships rather than with ``tfrecord_loader``, because
the loader turns a one-element bytes list into a bare value and cannot read a feature that only
some records have (``image/height``), and the reader must tell those cases apart exactly.
Known costs of ``tfrecord`` 1.14.6: for a gzip file its iterator first decompresses the whole
file once to learn its length, then again to read it; it does not check the record CRCs (gzip's
own CRC still guards the stream); and ``import tfrecord`` imports torch (already a dependency).

The AitW conventions this reader converts from (``[y, x]`` points, ``(y, x, h, w)`` boxes, the
action rules) live in :mod:`harness.data.aitw_conventions`, shared with the AiTZ reader. The
writer the tests use to make TFRecords is ``tests/writers/aitw_tfrecord.py``.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from pathlib import Path

from harness.data.aitw_conventions import check_action, yx_to_xy, yxhw_to_xywh
from harness.data.prompts import render_prompt
from harness.data.types import NORMALIZED, Box, Dataset, Step, StepsByEpisode, Units
from harness.data.validate import (InvalidRecords, feature_floats, feature_text, feature_texts,
                                   feature_values, one_feature_value)
from harness.errors import DataError, HarnessInputError

FORMAT_NAME = "aitw-tfrecord"
GZIP_MAGIC = b"\x1f\x8b"

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
        from tfrecord import example_pb2, reader
    except ImportError:
        raise HarnessInputError(
            "reading or writing AitW TFRecords needs the 'tfrecord' package (no TensorFlow "
            "needed): pip install 'tfrecord'  (or, in a checkout: pip install -e '.[aitw]')"
        ) from None
    return example_pb2, reader, DecodeError


# --------------------------------------------------------------------------- detection

def _is_tfrecord_name(path: Path) -> bool:
    return ".tfrecord" in path.name or path.name.endswith(".gz")


def _has_gzip_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError:
        return False


def _is_tfrecord_file(path: Path) -> bool:
    return path.is_file() and (_is_tfrecord_name(path) or _has_gzip_magic(path))


def looks_like_tfrecord(path) -> bool:
    """A file named ``*.tfrecord*`` / ``*.gz`` or starting with the gzip magic bytes (the
    release's shards may carry no extension), or a folder holding such a file. Cheap: reads
    two bytes at most per file."""
    path = Path(path)
    if path.is_dir():
        return bool(tfrecord_files(path, must_exist=False))
    return _is_tfrecord_file(path)


def tfrecord_files(path: Path, must_exist: bool = True) -> list[Path]:
    """The file itself, or every TFRecord-looking file under a folder (see
    :func:`looks_like_tfrecord`), sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        if must_exist:
            raise DataError.at(path, "no such file or folder")
        return []
    files = sorted(p for p in path.rglob("*") if _is_tfrecord_file(p))
    if not files and must_exist:
        raise DataError.at(path, "the folder holds no *.tfrecord*, *.gz or gzip files")
    return files


# --------------------------------------------------------------------------- reading

def _examples(file: Path, modules):
    """``(record number, tf.train.Example)`` for each record; gzip or not, by the magic bytes
    (the AitW release is gzip; TensorFlow's own writer can do either)."""
    example_pb2, reader, decode_error = modules
    compression = "gzip" if _has_gzip_magic(file) else None
    n = 0
    try:
        records = reader.tfrecord_iterator(str(file), None, compression_type=compression)
        for n, record in enumerate(records):
            example = example_pb2.Example()
            example.ParseFromString(bytes(record))  # the iterator reuses its buffer
            yield n, example
    except (RuntimeError, OSError, EOFError, zlib.error, decode_error) as exc:
        raise DataError.at(file, f"record {n}: not a readable TFRecord of tf.train.Example "
                                 f"({type(exc).__name__}: {exc})") from None


def _boxes(features, n_texts: int, n_types: int, err) -> tuple[Box, ...]:
    """``image/ui_annotations_positions`` (N*4 flattened ``y, x, h, w``) as ``[x, y, w, h]``."""
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
        boxes.append(yxhw_to_xywh(box))
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
    partial = [e for e, steps in by_episode.items()
               if sorted(steps) != list(range(lengths[e]))]
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
    files = tfrecord_files(path)
    modules = _tfrecord()
    invalid = invalid or InvalidRecords(skip=False)
    collected = StepsByEpisode()
    lengths: dict[str, int] = {}
    screens: Counter = Counter()
    for file in files:
        for record, example in _examples(file, modules):
            parsed = invalid.parse(parse_example, example, file, record)
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
