"""Generated AitW TFRecord inputs: each feature given each kind of bad value, damage to the
framing (flipped bytes, cuts, lying length fields, bad CRCs), gzip damage, random feature
mutations, and valid variants.

Records are serialized here with ``deterministic=True`` (the tests' writer cannot: protobuf
writes a feature map in no fixed order), so that a flip at byte N hits the same field in
every process and the counts are reproducible."""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path

from harness.data.formats import read_dataset
from harness.data.tfrecord_frames import masked_crc
from tests.fuzz.invariants import broken_rule, equals
from tests.fuzz.runner import EITHER, ERROR, READ, Attempt, Case

FAMILY = "aitw-tfrecord"
NAN, INF = float("nan"), float("inf")

UI = {"goal_info": "search for pizza",
      "image/ui_annotations_positions": [0.1, 0.2, 0.05, 0.6, 0.5, 0.3, 0.1, 0.4],
      "image/ui_annotations_text": ["Search", ""],
      "image/ui_annotations_ui_types": ["TEXT", "ICON_MAGNIFYING_GLASS"],
      "image/height": 2400, "image/width": 1080}
NO_POINT = {"results/yx_touch": [-1.0, -1.0], "results/yx_lift": [-1.0, -1.0]}


def _episode(name: str) -> list[dict]:
    steps = [
        {**UI, **NO_POINT, "results/action_type": 3, "results/type_action": "pizza near me"},
        {**UI, "results/action_type": 4, "results/yx_touch": [0.8, 0.45],
         "results/yx_lift": [0.2, 0.55], "results/type_action": ""},
        {**UI, **NO_POINT, "results/action_type": 10, "results/type_action": ""},
    ]
    return [{**s, "episode_id": name, "step_id": i, "episode_length": len(steps)}
            for i, s in enumerate(steps)]


RECORDS = _episode("ep-1") + _episode("ep-2")
TYPE_STEP, TAP_STEP, DONE_STEP = 0, 1, 2


def _kind(value) -> str:
    items = value if isinstance(value, list) else [value]
    if items and all(isinstance(v, (bytes, str)) for v in items):
        return "bytes_list"
    if items and all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        return "int64_list"
    return "float_list"


def serialize(record: dict) -> bytes:
    """One ``tf.train.Example``: str values as UTF-8 bytes, a list as a list; the list type
    from the values (``("float_list", [1])`` forces a type)."""
    from tfrecord import example_pb2
    example = example_pb2.Example()
    for key, value in record.items():
        kind = None
        if isinstance(value, tuple):
            kind, value = value
        items = value if isinstance(value, list) else [value]
        kind = kind or _kind(value)
        feature = example.features.feature[key]
        if kind == "bytes_list":
            feature.bytes_list.value.extend(v.encode("utf-8") if isinstance(v, str) else v
                                            for v in items)
        elif kind == "int64_list":
            feature.int64_list.value.extend(items)
        elif kind == "float_list":
            feature.float_list.value.extend(items)
        else:                           # an empty Feature, no list at all
            feature.Clear()
            feature.SetInParent()
    return example.SerializeToString(deterministic=True)


def frame(data: bytes, length: int | None = None, length_crc: int | None = None,
          data_crc: int | None = None) -> bytes:
    head = struct.pack("<Q", len(data) if length is None else length)
    return (head + struct.pack("<I", masked_crc(head) if length_crc is None else length_crc)
            + data + struct.pack("<I", masked_crc(data) if data_crc is None else data_crc))


def stream(records: list[dict]) -> bytes:
    return b"".join(frame(serialize(r)) for r in records)


def _steps():
    """What the valid records read to, from the reader itself on a clean file (the framing
    and conversion are checked against literals in tests/test_readers.py)."""
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clean.tfrecord"
        path.write_bytes(stream(RECORDS))
        return read_dataset(path, "aitw-tfrecord").steps


def _case(name: str, expect: str, data: bytes, check=None, filename="shard.tfrecord",
          gzipped: bool = False) -> Case:
    def make(folder: Path) -> Attempt:
        path = folder / filename
        path.write_bytes(gzip.compress(data, mtime=0) if gzipped else data)
        return Attempt(lambda: read_dataset(path, "aitw-tfrecord"), str(path),
                       check or broken_rule)
    return Case(FAMILY, name, expect, make)


def _records_case(name: str, expect: str, records: list[dict], check=None) -> Case:
    return _case(name, expect, stream(records), check, "shard.tfrecord.gz", gzipped=True)


def _changed(index: int, change: dict, drop=()) -> list[dict]:
    records = [dict(r) for r in RECORDS]
    records[index].update(change)
    for key in drop:
        del records[index][key]
    return records


# --------------------------------------------------------------------------- feature damage

FEATURE_DAMAGE = {
    "episode_id": [5, ["a", "b"], [], b"\xff\xfe", ("float_list", [1.0]), ("none", None)],
    "step_id": [-1, 3, 7, 2**62, "0", 1.5, [0, 1], []],
    "episode_length": [0, -3, 2, "3", 0.5, [3, 3]],
    "goal_info": ["", "   ", b"\xc3", 5, []],
    "results/action_type": [0, 1, 2, 8, 9, 12, -1, 2**62, 4.0, "4", []],
    "results/yx_touch": [[0.5], [1.5, 0.5], [-5.0, 0.5], [NAN, 0.5], [INF, 0.5],
                         [0.5, 0.5, 0.5], ["a", "b"], [1, 1]],
    "results/yx_lift": [[0.5, 2.0], [0.5, -0.01], [-INF, 0.0]],
    "image/ui_annotations_positions": [
        [0.1, 0.2, 0.05], [-5.0, 0.2, 0.05, 0.6, 0.5, 0.3, 0.1, 0.4],
        [0.1, 1e308, 0.05, 0.6, 0.5, 0.3, 0.1, 0.4], [0.1, 0.2, 0.05, 0.9, 0.5, 0.3, 0.1, 0.4],
        [0.1, 0.2, -0.05, 0.6, 0.5, 0.3, 0.1, 0.4], [0.9, 0.2, 0.5, 0.6, 0.5, 0.3, 0.1, 0.4],
        [NAN, 0.2, 0.05, 0.6, 0.5, 0.3, 0.1, 0.4], [0.1, 0.2, 0.05, 0.6], ["a"] * 8],
    "image/ui_annotations_text": [["Search"], ["a", "b", "c"], [b"\xff", b""], [1, 2]],
    "image/ui_annotations_ui_types": [["TEXT"], [1.0, 2.0]],
    "image/height": [0, -2400, 2**62, "2400", [2400, 2400]],
    "image/width": [0, -5, 2**40, 1.5],
}


def feature_cases() -> list[Case]:
    cases = []
    for index in (TYPE_STEP, TAP_STEP, DONE_STEP + 3):
        for key, values in FEATURE_DAMAGE.items():
            for v in values:
                if key == "results/action_type" and v == RECORDS[index][key]:
                    continue
                cases.append(_records_case(f"record {index} {key} = {v!r:.40}", ERROR,
                                           _changed(index, {key: v})))
            if key not in ("image/height", "image/width"):   # optional together
                cases.append(_records_case(f"record {index} {key} missing", ERROR,
                                           _changed(index, {}, drop=[key])))
        cases.append(_records_case(f"record {index} image/height alone", ERROR,
                                   _changed(index, {}, drop=["image/width"])))
    for index in (TYPE_STEP, DONE_STEP, DONE_STEP + 3):      # no gesture, given a point
        for key in ("results/yx_touch", "results/yx_lift"):
            for v in ([0.5, 0.5], [0.0, 0.0], [-1.0, 0.5]):
                cases.append(_records_case(f"record {index} (no gesture) {key} = {v}", ERROR,
                                           _changed(index, {key: v})))
    for key in ("results/yx_touch", "results/yx_lift"):
        cases.append(_records_case(f"DUAL_POINT {key} = [-1, -1]", ERROR,
                                   _changed(TAP_STEP, {key: [-1.0, -1.0]})))
    for text in ("", " ", "\t"):
        cases.append(_records_case(f"TYPE text {text!r}", ERROR,
                                   _changed(TYPE_STEP, {"results/type_action": text})))
    cases.append(_records_case("step_id 1 twice", ERROR, _changed(DONE_STEP, {"step_id": 1})))
    cases.append(_records_case("episode_length 3, 3, 4", ERROR,
                               _changed(DONE_STEP, {"episode_length": 4, "step_id": 3})))
    return cases


def random_cases(rng: random.Random) -> list[Case]:
    odd = [[], [0], [-1], [2**62], [0.5], [NAN], [INF], [-1e30], ["x"], [b"\xff"], [""],
           [1.0, 2.0, 3.0, 4.0], list(range(9)), ("none", None)]
    cases = []
    keys = sorted(RECORDS[0])
    for i in range(50):
        index, key, value = rng.randrange(len(RECORDS)), rng.choice(keys), rng.choice(odd)
        cases.append(_records_case(f"random #{i}: record {index} {key} = {value!r:.30}", EITHER,
                                   _changed(index, {key: value})))
    return cases


# --------------------------------------------------------------------------- framing

def framing_cases(rng: random.Random) -> list[Case]:
    data = stream(RECORDS)
    payloads = [serialize(r) for r in RECORDS]
    boundaries = set()
    offset = 0
    for p in payloads:
        boundaries.add(offset)
        offset += 16 + len(p)
    cases = []
    for pos in sorted(rng.sample(range(len(data)), 80)):
        flipped = data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))]) + data[pos + 1:]
        cases.append(_case(f"bit flip at byte {pos}", ERROR, flipped))
    for cut in sorted(rng.sample(range(1, len(data)), 40)):
        # a cut on a record boundary leaves a shorter, valid file: partial episodes are data
        expect = EITHER if cut in boundaries else ERROR
        cases.append(_case(f"cut at byte {cut}", expect, data[:cut]))
    first = payloads[0]
    for length in (2**33, 2**63, 2**64 - 1, len(first) + 1, len(first) - 1, len(data)):
        cases.append(_case(f"length field {length} with a valid CRC", ERROR,
                           frame(first, length=length) + data[16 + len(first):]))
    cases += [
        _case("length CRC wrong", ERROR, frame(first, length_crc=0) + data[16 + len(first):]),
        _case("data CRC wrong", ERROR, frame(first, data_crc=12345) + data[16 + len(first):]),
        _case("all CRCs zero", ERROR, b"".join(frame(p, length_crc=0, data_crc=0)
                                              for p in payloads)),
        _case("garbage after the last record", ERROR, data + b"\x00\x01\x02"),
        _case("a whole empty record after the last", ERROR, data + frame(b"")),
        _case("a valid frame that is not an Example", ERROR,
              data + frame(b"\xff\xff\xff\xff not a protobuf")),
        _case("a valid frame of random bytes", ERROR, frame(rng.randbytes(200))),
        _case("zero-byte file", ERROR, b""),
        _case("zero-byte file named .gz", ERROR, b"", filename="shard.gz"),
        _case("gzip of nothing", ERROR, b"", filename="shard.gz", gzipped=True),
        _case("random bytes", ERROR, rng.randbytes(500)),
        _case("random bytes, gzipped", ERROR, rng.randbytes(500), gzipped=True),
        _case("one byte", ERROR, b"\x00"),
        _case("gzip magic alone", ERROR, b"\x1f\x8b"),
        _case("records doubled", ERROR, data + data),
    ]
    return cases


def gzip_cases(rng: random.Random) -> list[Case]:
    packed = gzip.compress(stream(RECORDS), mtime=0)
    cases = []
    for pos in sorted(rng.sample(range(10, len(packed)), 40)):
        damaged = packed[:pos] + bytes([packed[pos] ^ 0x10]) + packed[pos + 1:]
        cases.append(_case(f"gzip byte {pos} flipped", ERROR, damaged, filename="shard.gz"))
    for pos in range(4, 10):    # the header's time, flags and OS bytes: nothing to check
        damaged = packed[:pos] + bytes([packed[pos] ^ 0x01]) + packed[pos + 1:]
        cases.append(_case(f"gzip header byte {pos} flipped", EITHER, damaged,
                           filename="shard.gz"))
    for cut in sorted(rng.sample(range(1, len(packed)), 30)):
        cases.append(_case(f"gzip cut at byte {cut}", ERROR, packed[:cut], filename="shard.gz"))
    cases.append(_case("gzip with trailing garbage", ERROR, packed + b"garbage",
                       filename="shard.gz"))
    return cases


def valid_cases() -> list[Case]:
    steps = _steps()
    data = stream(RECORDS)
    return [
        _case("uncompressed", READ, data, equals(steps)),
        _case("gzip", READ, data, equals(steps), filename="a.gz", gzipped=True),
        _case("gzip, no extension", READ, data, equals(steps), filename="shard-00000-of-00001",
              gzipped=True),
        # episodes come in the order first seen, steps by step_id within each
        _case("records in reverse order", READ, stream(RECORDS[::-1]),
              equals([s for s in steps if s.episode == "ep-2"]
                     + [s for s in steps if s.episode == "ep-1"])),
        _case("two gzip members", READ, gzip.compress(stream(RECORDS[:2]), mtime=0)
              + gzip.compress(stream(RECORDS[2:]), mtime=0), equals(steps), filename="m.gz"),
        _records_case("an unknown feature", READ,
                      [{**r, "image/encoded": b"\x89PNG"} for r in RECORDS], equals(steps)),
    ]


def cases(seed: int = 23) -> list[Case]:
    rng = random.Random(seed)
    return (feature_cases() + random_cases(rng) + framing_cases(rng) + gzip_cases(rng)
            + valid_cases())


__all__ = ["cases", "FAMILY", "serialize", "frame", "stream", "RECORDS"]
