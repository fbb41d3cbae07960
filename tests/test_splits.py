"""Training, validation, selection and held-out splits (by episode or by goal); the query
decoder's length from the data."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from harness.config import DataSettings
from harness.prepare import encode_dataset
from harness.data.tensors import QUERY_LEN, query_steps_for
from harness.data.types import PIXEL, Dataset, Units, goal_of_prompt
from harness.encoders import resolve_encoder
from harness.errors import DataError
from tests.conftest import SCREEN, TINY_ENCODER, toy_dataset, toy_steps


def test_four_splits_are_disjoint_whole_episodes_and_stable():
    dataset = toy_dataset(60)
    train, val, heldout, selection = dataset.split(0.2, 0.1, selection_fraction=0.2)
    keys = [set(part.episodes()) for part in (train, val, heldout, selection)]
    assert all(keys)
    assert sum(len(k) for k in keys) == len(set().union(*keys)) == 60      # disjoint, complete
    assert sum(len(p.steps) for p in (train, val, heldout, selection)) == len(dataset.steps)
    # an episode stays where it is when the data set grows
    bigger = toy_dataset(90).split(0.2, 0.1, selection_fraction=0.2)
    assert keys[2] <= set(bigger.heldout.episodes())
    assert keys[1] <= set(bigger.val.episodes())
    assert keys[3] <= set(bigger.selection.episodes())


def test_the_selection_split_leaves_the_others_where_they_were():
    """The selection band is the top of the hash order: held-out, validation and the first
    training episodes are those of a split without it (the records of a run do not move)."""
    dataset = toy_dataset(120)
    without = dataset.split(0.15, 0.05, train_size=60)
    with_selection = dataset.split(0.15, 0.05, train_size=60, selection_fraction=0.2)
    for name in ("train", "val", "heldout"):
        assert getattr(with_selection, name).episodes() == getattr(without, name).episodes()
    assert without.selection is without.val            # no selection split: the validation's
    assert not set(with_selection.selection.episodes()) & set(with_selection.train.episodes())
    # without train_size, training is every episode the other three do not hold
    rest = dataset.split(0.15, 0.05, selection_fraction=0.2)
    assert len(rest.train.steps) == len(dataset.steps) - sum(
        len(p.steps) for p in (rest.val, rest.heldout, rest.selection))


def test_the_default_synthetic_selection_split():
    """At least the held-out split's 379 steps, from episodes the default does not train on;
    held-out, validation and training exactly as before the selection split existed."""
    from harness.data import synthetic
    dataset = synthetic.generate(400)
    splits = dataset.split(0.15, 0.02, 144, selection_fraction=0.2)
    before = dataset.split(0.15, 0.02, 144)
    assert len(splits.selection.steps) >= len(splits.heldout.steps) == 379
    assert not set(splits.selection.episodes()) & (
        set(splits.train.episodes()) | set(splits.val.episodes())
        | set(splits.heldout.episodes()))
    for name in ("train", "val", "heldout"):
        assert getattr(splits, name).steps == getattr(before, name).steps


def test_split_by_goal_keeps_every_goal_in_one_split():
    dataset = toy_dataset(200)          # 12 goals (3 apps x 4 queries), 6 steps per episode
    splits = dataset.split(0.2, 0.1, selection_fraction=0.2, split_by="goal")
    goals = [set(dataset.__class__(p.steps, p.units, p.source).episode_goals().values())
             for p in splits]
    assert all(goals)
    for i, a in enumerate(goals):
        for b in goals[i + 1:]:
            assert not a & b
    assert len(set().union(*goals)) == 12
    assert sum(len(p.steps) for p in splits) == len(dataset.steps)
    # by episode, goals are shared between training and the held-out split
    by_episode = dataset.split(0.2, 0.1, selection_fraction=0.2)
    assert {goal_of_prompt(s.prompt) for s in by_episode.heldout.steps} & {
        goal_of_prompt(s.prompt) for s in by_episode.train.steps}


def test_goals_are_read_from_the_prompt():
    assert goal_of_prompt("Goal: open maps. Screen: home. Previous: none. Elements: a") == \
        "open maps"
    assert goal_of_prompt("Goal: go to bbc.com. Then read. Elements: a ; b") == \
        "go to bbc.com. Then read"
    assert goal_of_prompt("Goal: open clock and search for x. screen: home") == \
        "open clock and search for x"
    assert goal_of_prompt("Tap the OK button") is None


def test_split_by_goal_without_goals_names_the_episode():
    steps = [replace(s, prompt="no goal here " + s.prompt) for s in toy_steps(10)]
    dataset = Dataset(steps, Units(PIXEL, SCREEN), source="mine.json")
    with pytest.raises(DataError, match=r"mine.json: episode 'toy-0000', step 0: .*Goal: "):
        dataset.split(0.2, 0.1, split_by="goal")
    with pytest.raises(ValueError, match="split_by must be one of"):
        dataset.split(0.2, 0.1, split_by="app")


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


@pytest.mark.parametrize("selection", [-0.1, 0.75, 1.0])
def test_a_selection_fraction_that_leaves_no_training_is_rejected(selection):
    with pytest.raises(ValueError, match="selection_fraction"):
        toy_dataset(10).split(0.2, 0.1, selection_fraction=selection)


def test_too_few_goals_for_four_splits():
    with pytest.raises(DataError, match="need at least 4 goals to split into training, "
                                        "validation, selection and held-out steps"):
        toy_dataset(3).split(0.3, 0.1, selection_fraction=0.1, split_by="goal")


def test_too_few_episodes_for_three_splits():
    with pytest.raises(DataError, match="need at least 3 episodes"):
        toy_dataset(2).split(0.3, 0.3)


def test_query_steps_default_to_the_longest_target():
    spec = resolve_encoder(TINY_ENCODER)
    data = encode_dataset(toy_dataset(12), DataSettings(vocab_size=200, max_length=32), spec)
    lengths = [(s.query_labels != 0).sum(dim=1).max()
               for s in (data.train, data.val, data.selection)]    # never the held-out split
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
