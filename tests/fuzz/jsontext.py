"""Damage to JSON as text, shared by the two JSON formats: cuts, flipped bytes, bytes that are
not UTF-8, duplicate keys, deep nesting, numbers no float holds. Each helper takes the valid
file's bytes (or its parsed content) and returns damaged bytes."""

from __future__ import annotations

import copy
import json
import random

from tests.fuzz.runner import EITHER, ERROR

#: Values the random structural mutations put anywhere: wrong types, non-finite and
#: oversized numbers, blank and invalid text, odd containers.
ODD_VALUES = [None, True, False, 0, -1, 1.5, -5, 2**70, 10**400, 1e308, float("nan"),
              float("inf"), -float("inf"), "", "   ", "x", "\ud800", "[1, 2]", [], {}, [1],
              [1, 2], [1, 2, 3, 4], [-1, -1], [[1, 2, 3, 4]], {"a": 1}, [None], ["a"]]


def dumps(content) -> bytes:
    """JSON as the damage sees it: NaN and Infinity written as the literals Python's reader
    accepts, a lone surrogate as its ``\\ud800`` escape."""
    return json.dumps(content, allow_nan=True).encode("ascii")


def truncations(data: bytes, rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    cuts = sorted(rng.sample(range(len(data) - 1), n))
    return [(f"cut at byte {c}", data[:c]) for c in cuts]


def byte_flips(data: bytes, rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    out = []
    for pos in sorted(rng.sample(range(len(data)), n)):
        new = rng.choice([b for b in range(32, 127) if b != data[pos]])
        out.append((f"byte {pos} {chr(data[pos])!r} -> {chr(new)!r}",
                    data[:pos] + bytes([new]) + data[pos + 1:]))
    return out


def not_utf8(data: bytes, rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    out = []
    for pos in sorted(rng.sample(range(len(data)), n)):
        bad = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"])
        out.append((f"{bad!r} at byte {pos}", data[:pos] + bad + data[pos:]))
    return out


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def set_path(content, path, value, delete: bool = False):
    """A deep copy of ``content`` with the value at ``path`` replaced (or deleted)."""
    content = copy.deepcopy(content)
    if not path:
        return value
    target = content
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return content


def paths(value, prefix=()):
    """Every path to a value inside nested dicts and lists."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


def random_mutations(content, rng: random.Random, n: int, within=()) -> list[tuple[str, object]]:
    """``n`` copies of ``content`` each with one value somewhere under ``within`` replaced by
    one of :data:`ODD_VALUES` or deleted."""
    base = content
    for key in within:
        base = base[key]
    candidates = [p for p in paths(base) if p]
    out = []
    for _ in range(n):
        path = rng.choice(candidates)
        full = tuple(within) + path
        if rng.random() < 0.15:
            out.append((f"delete {list(full)}", set_path(content, full, None, delete=True)))
        else:
            value = rng.choice(ODD_VALUES)
            out.append((f"{list(full)} = {value!r:.40}", set_path(content, full, value)))
    return out


def file_damages(data: bytes, rng: random.Random) -> list[tuple[str, str, bytes]]:
    """(label, expectation, damaged bytes) for a JSON file: cuts (an error), byte flips (an
    error, or a read when the flip lands where nothing can tell), bytes that are not UTF-8
    (an error). Both JSON formats' families take the same damages, in this order."""
    return ([(label, ERROR, damaged) for label, damaged in truncations(data, rng, 40)]
            + [(label, EITHER, damaged) for label, damaged in byte_flips(data, rng, 60)]
            + [(label, ERROR, damaged) for label, damaged in not_utf8(data, rng, 15)])


__all__ = ["ODD_VALUES", "dumps", "truncations", "byte_flips", "not_utf8", "file_damages",
           "deep", "set_path", "paths", "random_mutations"]

