"""The fuzz suite of the command line (issue 23): out-of-range and malformed option values,
parsed in-process by the CLI's own parser, are each refused with the option named, and so
are bad names and paths where ``main`` first uses them; the valid lists among them are
accepted."""

from __future__ import annotations

from tests.fuzz.cli_cases import UNTRIED, VALID, options_covered, parser_options
from tests.fuzz.runner import MUST_BE_ZERO
from tests.fuzz.suite import run_family


def test_every_option_of_the_parser_gets_bad_values():
    assert parser_options() - options_covered() == set(UNTRIED)


def test_every_bad_option_value_is_refused_naming_the_option(tmp_path):
    tally = run_family("cli", tmp_path)
    counts = tally.counts()
    assert {k: counts[k] for k in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0), tally.report()
    assert counts["read"] == len(VALID) == 23       # the valid command lines, accepted
    assert counts["clear_error"] == counts["inputs"] - 23 == 458
