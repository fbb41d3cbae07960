"""A writer of small AitW TFRecords, so that the tests can make files for the AitW reader.

Only tests need to write this format (the harness reads it), so the writer lives here rather
than in :mod:`harness.data.aitw_tfrecord`. It writes the feature names and list types of the
reader's own table, :data:`harness.data.aitw_tfrecord.FEATURES`, so the two cannot drift apart.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.data.aitw_tfrecord import BYTES, FEATURES, FLOAT, INT


def _datum(step: Mapping, episode: str, index: int, n_steps: int) -> dict:
    """One step dict (AitW feature names, AitW layout) as the writer's ``{name: (value, type)}``."""
    unknown = set(step) - set(FEATURES)
    if unknown:
        raise ValueError(f"not AitW feature names: {sorted(unknown)}")
    values = {"episode_id": episode, "step_id": index, "episode_length": n_steps,
              "results/type_action": "", **step}
    dtypes = {BYTES: "byte", FLOAT: "float", INT: "int"}
    datum = {}
    for key, value in values.items():
        if FEATURES[key] == BYTES:
            value = ([v.encode("utf-8") for v in value] if isinstance(value, (list, tuple))
                     else value.encode("utf-8"))
        datum[key] = (value, dtypes[FEATURES[key]])
    return datum


def write_aitw_tfrecord(steps_by_episode: Mapping[str, Sequence[Mapping]], path) -> Path:
    """Write a small GZIP TFRecord in AitW's layout.

    ``steps_by_episode`` maps an episode id to its steps, each a dict keyed by the AitW feature
    names of :data:`FEATURES` with values in AitW's own layout (``[y, x]`` points, flattened
    ``(y, x, h, w)`` positions, ``str`` for bytes features). ``episode_id``, ``step_id`` (the
    position) and ``episode_length`` are filled in unless a step gives them;
    ``results/type_action`` defaults to ``""``.

    ``tfrecord``'s ``TFRecordWriter`` writes uncompressed files only, so the framing (length
    u64, masked crc32c, payload, masked crc32c) is written here into a gzip stream, with the
    package's own serializer and checksum. The gzip header's time is fixed, but the bytes still
    differ from one process to the next: protobuf writes an Example's feature map in no fixed
    order. What a reader gets back is the same. Tests that call this skip when the optional
    ``tfrecord`` package is absent.
    """
    from tfrecord import writer   # optional (extra "aitw"), like the reader's own import

    serialize = writer.TFRecordWriter.serialize_tf_example
    masked_crc = writer.TFRecordWriter.masked_crc
    path = Path(path)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        for episode, steps in steps_by_episode.items():
            for index, step in enumerate(steps):
                record = serialize(_datum(step, episode, index, len(steps)))
                length = struct.pack("<Q", len(record))
                out.write(length + masked_crc(length) + record + masked_crc(record))
    return path


__all__ = ["write_aitw_tfrecord"]
