"""Seeds derived by name, so that every module two variants share starts from the same weights
and every variant sees the same batches, whatever else differs between them."""

from __future__ import annotations

import contextlib
import hashlib

import torch


def derive_seed(seed: int, *names) -> int:
    """A 63-bit seed that depends on ``seed`` and the names only."""
    key = "/".join([str(seed), *map(str, names)]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


@contextlib.contextmanager
def seeded(seed: int, *names):
    """Run the block with torch's CPU RNG seeded from (seed, names); restore the RNG after.

    Modules are built on the CPU and moved afterwards, so only the CPU generator matters.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, *names))
        yield


def batch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of the training set for one epoch, identical for every variant."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "batch-order", epoch))
    return torch.randperm(n, generator=generator)


def bucketed_batches(lengths: torch.Tensor, batch_size: int, seed: int, epoch: int,
                     pool: int = 50) -> list[torch.Tensor]:
    """Batches of similar-length rows: shuffle, sort each pool of ``pool`` batches' worth of
    rows by length, cut into batches, shuffle the batches. Identical for every variant."""
    order = batch_order(len(lengths), seed, epoch)
    batches = []
    for start in range(0, len(order), pool * batch_size):
        chunk = order[start:start + pool * batch_size]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches.extend(chunk.split(batch_size))
    generator = torch.Generator().manual_seed(derive_seed(seed, "bucket-order", epoch))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
