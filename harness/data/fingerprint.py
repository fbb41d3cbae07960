"""The data's part of a run's identity: content fingerprints of what was read and of the
prepared splits, so that a rerun on changed data is never mixed with runs of the old.

Two levels, both recorded (run.json ``data.fingerprint``, each run's status.json ``data``):

- ``read``: every step the reader produced (episode, step id, prompt, boxes, action, text,
  points) plus the units, hashed in order. It changes when a file's content changes, even in
  episodes no split uses.
- ``splits``: each prepared split as the trainer and the scoring see it (every tensor, every
  target text, every episode key) and the tokenizer's vocabulary. It changes when a setting
  moves an episode between splits or the tokenizer learns other words.

The whole identity has one ``fingerprint``; :func:`harness.results.describe_data_change`
says in words what differs between two identities (which split, how many steps then and
now)."""

from __future__ import annotations

import hashlib
import json

import torch

from harness.data.types import Dataset

SPLIT_NAMES = ("train", "val", "selection", "heldout")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_fingerprint(dataset: Dataset) -> dict:
    """Counts and a content hash of every step read (before any split)."""
    digest = hashlib.sha256(json.dumps(dataset.units.to_json(), sort_keys=True).encode())
    for step in dataset.steps:
        digest.update(json.dumps([step.episode, step.index, step.prompt, step.boxes,
                                  step.action_type, step.type_text, step.touch, step.lift],
                                 ensure_ascii=False).encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return {"steps": len(dataset.steps), "episodes": len(dataset.episodes()),
            "skipped_invalid_records": dataset.skipped_records,
            "sha256": digest.hexdigest()[:16]}


def split_fingerprint(split) -> dict:
    """Counts and a content hash of one encoded split: every tensor (dtype, shape, bytes) and
    every list (target texts, episode keys), in field order."""
    digest = hashlib.sha256()
    for name, value in sorted(vars(split).items()):
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous()
            digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}:".encode())
            digest.update(tensor.numpy().tobytes())
        elif isinstance(value, list):
            digest.update(f"{name}:".encode())
            digest.update(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    episodes = getattr(split, "episodes", None) or []
    return {"steps": len(split), "episodes": len(set(episodes)) if episodes else None,
            "sha256": digest.hexdigest()[:16]}


def vocabulary_fingerprint(tokenizer) -> str | None:
    vocabulary = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else None
    return None if vocabulary is None else _digest(json.dumps(sorted(vocabulary.items())))


def data_identity(data) -> dict:
    """The identity of ``data`` (an :class:`~harness.data.tensors.EncodedData`): ``read`` (from
    its description, when the data came through a reader), each split's fingerprint, the
    vocabulary's, and one ``fingerprint`` over them all. Computed once per object."""
    cached = getattr(data, "_identity", None)
    if cached is not None:
        return cached
    splits = {}
    for name in SPLIT_NAMES:
        split = getattr(data, name, None)
        if split is not None:
            splits[name] = split_fingerprint(split)
    identity = {"read": (data.description or {}).get("read"),
                "splits": splits,
                "vocabulary": vocabulary_fingerprint(data.tokenizer)}
    identity = {"fingerprint": _digest(json.dumps(identity, sort_keys=True)), **identity}
    data._identity = identity
    return identity


__all__ = ["data_identity", "read_fingerprint", "split_fingerprint",
           "vocabulary_fingerprint"]
