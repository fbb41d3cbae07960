"""Running one generated input and classifying what the harness did with it.

Outcomes (the counts the README quotes):

- ``clear_error``: a :class:`~harness.errors.HarnessInputError` whose message names the file
  (or folder, or option) at fault, or, for the CLI, argparse's usage error naming the option;
- ``read``: the input loaded, and it was either meant to (the steps equal the expected ones)
  or its damage is of a kind the readers do not promise to detect and the data still obey
  every rule a reader checks (:mod:`tests.fuzz.invariants`);
- ``unclear_error``: the harness's error type, but the message does not name the culprit;
- ``traceback``: any other exception;
- ``silent_acceptance``: it loaded although its damage is one the readers promise to detect,
  or it loaded data that break a rule;
- ``misread``: a valid input that loaded to other steps than expected, or was refused;
- ``hang``: still running after :data:`TIME_LIMIT_S` seconds.

Only the first two may be non-zero.
"""

from __future__ import annotations

import contextlib
import io
import signal
import time
import traceback as tb
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessInputError

TIME_LIMIT_S = 10

ERROR, READ, EITHER = "error", "read", "either"
OUTCOMES = ("clear_error", "read", "unclear_error", "traceback", "silent_acceptance", "misread",
            "hang")
MUST_BE_ZERO = ("unclear_error", "traceback", "silent_acceptance", "misread", "hang")


@dataclass
class Attempt:
    """What a case asks to run: ``call()`` does the read (or parse) and returns its result;
    ``blame`` is the text a clear error must contain (a path, an option name); ``check``
    judges a result: None when it is right, else what is wrong with it."""

    call: Callable[[], object]
    blame: str
    check: Callable[[object], str | None] = lambda result: None
    cleanup: Callable[[], None] = lambda: None


@dataclass
class Case:
    family: str           # user-json, aitz, aitw-tfrecord, file-system, cli
    name: str             # unique within its family: what was done to the input
    expect: str           # ERROR, READ or EITHER
    make: Callable[[Path], Attempt]


@dataclass
class Result:
    case: Case
    outcome: str
    detail: str = ""
    seconds: float = 0.0


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` swallows it."""


def _alarm(signum, frame):
    raise _Hang()


@contextlib.contextmanager
def time_limit(seconds: float):
    """SIGALRM after ``seconds``: it interrupts blocking system calls (opening a FIFO) as
    well as Python code. Main thread only, which is where pytest runs tests."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _classify_error(exc: BaseException, attempt: Attempt, stderr: str) -> tuple[str, str]:
    if isinstance(exc, SystemExit):   # argparse: usage error on stderr, exit code 2
        message = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        if exc.code == 2 and attempt.blame in message:
            return "clear_error", message
        return "unclear_error", f"exit {exc.code}: {message}"
    if isinstance(exc, HarnessInputError):
        message = str(exc)
        if attempt.blame in message and "\n" not in message:
            return "clear_error", message
        return "unclear_error", message
    return "traceback", "".join(tb.format_exception_only(type(exc), exc)).strip()


def run_case(case: Case, folder: Path) -> Result:
    """Build the case's input under ``folder`` and run it, classified."""
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    attempt = None
    stderr = io.StringIO()
    try:
        with time_limit(TIME_LIMIT_S):
            attempt = case.make(folder)
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                result = attempt.call()
    except _Hang:
        return Result(case, "hang", f"over {TIME_LIMIT_S} s", time.perf_counter() - start)
    except BaseException as exc:  # noqa: B902 - classifying every escape is the point
        if attempt is None:
            raise RuntimeError(f"the fuzz case {case.family}/{case.name} could not build its "
                               "input") from exc
        outcome, detail = _classify_error(exc, attempt, stderr.getvalue())
        if case.expect == READ and outcome != "traceback":   # a valid input refused
            outcome, detail = "misread", f"refused: {detail}"
        return Result(case, outcome, detail, time.perf_counter() - start)
    finally:
        if attempt is not None:
            attempt.cleanup()
    seconds = time.perf_counter() - start
    problem = attempt.check(result)
    if case.expect == ERROR:
        return Result(case, "silent_acceptance", problem or "loaded", seconds)
    if problem is None:
        return Result(case, "read", "", seconds)
    return Result(case, "misread" if case.expect == READ else "silent_acceptance", problem,
                  seconds)


@dataclass
class Tally:
    results: list[Result] = field(default_factory=list)

    def add(self, result: Result) -> None:
        self.results.append(result)

    def counts(self) -> dict[str, int]:
        """Inputs, each outcome, and how many inputs were made to be refused (``damaged``),
        to read exactly as a valid file (``valid``), or either (``undetectable_or_either``:
        a damage that may leave valid data, such as a flipped letter in a prompt)."""
        seen = Counter(r.outcome for r in self.results)
        made = Counter(r.case.expect for r in self.results)
        return {"inputs": len(self.results), **{o: seen[o] for o in OUTCOMES},
                "damaged": made[ERROR], "valid": made[READ], "undetectable_or_either":
                made[EITHER]}

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.outcome in MUST_BE_ZERO]

    def report(self, limit: int = 20) -> str:
        lines = [f"{r.case.family}/{r.case.name}: {r.outcome}: {r.detail[:300]}"
                 for r in self.failures()[:limit]]
        more = len(self.failures()) - limit
        return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


def run_cases(cases, folder: Path) -> Tally:
    tally = Tally()
    names = set()
    for i, case in enumerate(cases):
        key = (case.family, case.name)
        if key in names:
            raise ValueError(f"two fuzz cases are called {case.family}/{case.name}")
        names.add(key)
        tally.add(run_case(case, folder / f"{i:05d}"))
    return tally


__all__ = ["Attempt", "Case", "Result", "Tally", "run_case", "run_cases", "ERROR", "READ",
           "EITHER", "OUTCOMES", "MUST_BE_ZERO", "TIME_LIMIT_S"]
