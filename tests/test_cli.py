"""Command-line parsing: the forms of --seeds and --screen-size, and what a bad value says."""

from __future__ import annotations

import argparse

import pytest

from harness.cli import parse_screen, parse_seeds


@pytest.mark.parametrize("text, seeds", [("3", (0, 1, 2)), ("0,4,7", (0, 4, 7)),
                                         ("2-5", (2, 3, 4, 5)), ("3,", (3,)), ("1", (0,))])
def test_seed_forms(text, seeds):
    assert parse_seeds(text) == seeds


def test_zero_seeds_explains_that_a_single_number_is_a_count():
    with pytest.raises(argparse.ArgumentTypeError, match="a single number is a count"):
        parse_seeds("0")


@pytest.mark.parametrize("text, message", [("1,1", "distinct"), ("x", "expected a count")])
def test_bad_seeds(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_seeds(text)


def test_screen_size():
    assert parse_screen("1080x2400") == (1080, 2400)
    with pytest.raises(argparse.ArgumentTypeError, match="WIDTHxHEIGHT"):
        parse_screen("1080")
