"""Training, validation and held-out splits; the query decoder's length from the data."""

from __future__ import annotations

import pytest
import torch

from harness.config import DataSettings
from harness.prepare import encode_dataset
from harness.data.tensors import QUERY_LEN, query_steps_for
from harness.encoders import resolve_encoder
from harness.errors import DataError
from tests.conftest import TINY_ENCODER, toy_dataset


def test_three_splits_are_disjoint_whole_episodes_and_stable():
    dataset = toy_dataset(60)
    train, val, heldout = dataset.split(0.2, 0.1)
    keys = [set(part.episodes()) for part in (train, val, heldout)]
    assert all(keys) and not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert sum(len(p.steps) for p in (train, val, heldout)) == len(dataset.steps)
    # an episode stays where it is when the data set grows
    bigger = toy_dataset(90).split(0.2, 0.1)
    assert keys[2] <= set(bigger.heldout.episodes())
    assert keys[1] <= set(bigger.val.episodes())


def test_train_size_takes_whole_episodes_up_to_that_many_steps():
    dataset = toy_dataset(60)                    # six steps per episode
    full = dataset.split(0.2, 0.1)
    capped = dataset.split(0.2, 0.1, train_size=20)
    assert len(capped.train.steps) == 18        # three whole episodes; a fourth would be 24
    assert set(capped.train.episodes()) <= set(full.train.episodes())
    assert capped.heldout.episodes() == full.heldout.episodes()   # the held-out set is untouched
    assert len(dataset.split(0.2, 0.1, train_size=1).train.steps) == 6   # at least one episode


@pytest.mark.parametrize("heldout, val", [(0.0, 0.1), (1.0, 0.0), (0.5, 0.5), (0.2, -0.1)])
def test_bad_fractions_are_rejected(heldout, val):
    with pytest.raises(ValueError, match="fraction"):
        toy_dataset(10).split(heldout, val)


def test_too_few_episodes_for_three_splits():
    with pytest.raises(DataError, match="need at least 3 episodes"):
        toy_dataset(2).split(0.3, 0.3)


def test_query_steps_default_to_the_longest_target():
    spec = resolve_encoder(TINY_ENCODER)
    data = encode_dataset(toy_dataset(12), DataSettings(vocab_size=200, max_length=32), spec)
    lengths = [(s.query_labels != 0).sum(dim=1).max() for s in (data.train, data.heldout)]
    assert data.query_steps == int(max(lengths)) < QUERY_LEN
    assert data.train.query_labels.shape[1] == data.query_steps
    # nothing is cut: every non-padding target token survives
    full = encode_dataset(toy_dataset(12), DataSettings(vocab_size=200, max_length=32,
                                                        query_steps=QUERY_LEN), spec)
    assert torch.equal(full.train.query_labels[:, :data.query_steps], data.train.query_labels)
    assert not full.train.query_labels[:, data.query_steps:].any()
    with pytest.raises(ValueError, match=r"query_steps must be in \[1, 32\]"):
        query_steps_for([data.train], 33)


def test_query_steps_do_not_change_losses_or_gradients():
    """Positions past the longest target are padding that both losses ignore: decoding 32
    steps or only as many as the longest target gives the same losses and gradients."""
    from harness.design import FIXED, ORIGINAL
    from harness.records import StepRecords
    from harness.train import start_run
    spec = resolve_encoder(TINY_ENCODER)
    short = encode_dataset(toy_dataset(12), DataSettings(vocab_size=200, max_length=32), spec)
    long = encode_dataset(toy_dataset(12), DataSettings(vocab_size=200, max_length=32,
                                                        query_steps=QUERY_LEN), spec)
    from harness.train import TrainSettings
    index = torch.arange(8)
    for design in (ORIGINAL, FIXED.replace(routing="all")):
        results = []
        for data in (short, long):
            run = start_run(data, design, spec, TrainSettings(batch_size=8), 0,
                            torch.device("cpu"), StepRecords(None))
            run.model.eval()          # no dropout: the two models must see the same inputs
            _, losses = run.forward_and_loss(data.train.batch(index, True))
            losses["total"].backward()
            results.append((losses, [p.grad.clone() if p.grad is not None else None
                                     for p in run.model.parameters()]))
        (la, ga), (lb, gb) = results
        for term in ("action", "query", "coord", "total"):
            assert torch.allclose(la[term], lb[term], rtol=1e-6, atol=1e-7), term
        for a, b in zip(ga, gb):
            assert (a is None) == (b is None)
            if a is not None:
                assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)
