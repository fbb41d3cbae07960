"""``python run_ablation.py``: train variants on identical data and seeds, write records.

Exit codes: 0 done (even when some runs failed or diverged: that is a result), 2 bad input
(one message, no traceback; another process writing the same output folder), 3 runs lost to
the machine (a dead worker, a full disk: rerun the same command to retry them), 130
interrupted.
"""

from __future__ import annotations

import argparse
import math
import dataclasses
import os
import shlex
import signal
import sys
import time
from pathlib import Path

from harness.config import DEFAULT_EPOCHS, QUICK, SYNTHETIC, DataSettings, Settings
from harness.data.formats import FORMATS
from harness.data.tensors import QUERY_LEN
from harness.data.types import SPLIT_BY
from harness.schema import PRECISIONS
from harness.report.stats import DEFAULT_MARGIN
from harness.errors import HarnessInputError, RunsToRetry
from harness.io import StorageError
from harness.executors import EXECUTORS
from harness.help_format import DefaultsOnceHelpFormatter
from harness.train import TrainSettings

DEFAULT_OUT = Path("reports") / "ablation"
QUICK_OUT = Path("reports") / "quick"
SEARCH_OUT = Path("reports") / "search"


#: Bounds of --seeds: more runs per variant than this is a typo, not a plan, and would only
#: fail later (memory for the list, or days of training); a seed names a folder (seedN) and
#: stays a 32-bit number, as every RNG takes it.
MAX_SEED_COUNT = 1000
MAX_SEED = 2**32 - 1
SEEDS_RANGE = f"1 to {MAX_SEED_COUNT} distinct seeds, each in [0, {MAX_SEED}]"


def parse_seeds(text: str) -> tuple[int, ...]:
    """``3`` -> seeds 0, 1, 2; ``0,4,7`` -> those; ``2-5`` -> 2, 3, 4, 5."""
    shown = repr(text[:40])
    try:
        seeds = _seed_form(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count (3), a list (0,4,7) or a range "
                                         f"(2-5) of {SEEDS_RANGE}; got {shown}") from None
    if not seeds:
        raise argparse.ArgumentTypeError(
            f"{shown} asks for no seed at all: a single number is a count (1 runs seed 0); "
            f"for one particular seed write it as a list, e.g. 3, (expected {SEEDS_RANGE})")
    if len(set(seeds)) != len(seeds) or min(seeds) < 0 or max(seeds) > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected {SEEDS_RANGE}; got {shown}")
    return seeds


def _seed_form(text: str) -> tuple[int, ...]:
    """The seeds ``text`` names; a count or range is checked before it is built, so that
    ``--seeds 10000000000`` is refused at once instead of filling the memory."""
    if "," in text:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
        _check_seed_count(len(seeds), text)
        return seeds
    if "-" in text.strip("-"):
        low, high = map(int, text.split("-"))
        if high < low:
            raise argparse.ArgumentTypeError(f"{text!r} is a range from high to low; expected "
                                             f"LOW-HIGH (2-5) of {SEEDS_RANGE}")
        _check_seed_count(high + 1 - low, text)
        return tuple(range(low, high + 1))
    count = int(text)
    if count < 0:
        raise argparse.ArgumentTypeError(f"expected a count of {SEEDS_RANGE}; got {count}")
    _check_seed_count(count, text)
    return tuple(range(count))


def _check_seed_count(count: int, text: str) -> None:
    if count > MAX_SEED_COUNT:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} asks for more than {MAX_SEED_COUNT} "
                                         f"seeds; expected {SEEDS_RANGE}")


#: Upper bounds of options where a larger value is a typo that would fail late (out of
#: memory, a process per core many times over, a run that never ends), not a plan.
MAX_SCREEN_PIXELS = 100_000
MAX_STEPS = 100_000_000
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_PROCESSES = 1024
MAX_SYNTHETIC_EPISODES = 1_000_000
MAX_LENGTH = 8192            # prompt tokens; pretrained encoders allow at most 512 anyway
MAX_VOCABULARY = 1_000_000
MAX_FINALISTS = 1000
MAX_MINUTES = 1_000_000      # about two years of wall time


def parse_screen(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        size = (int(w), int(h))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, each in [1, "
                                         f"{MAX_SCREEN_PIXELS}], e.g. 1080x2400; got "
                                         f"{text[:40]!r}") from None
    if not all(1 <= side <= MAX_SCREEN_PIXELS for side in size):
        raise argparse.ArgumentTypeError(f"expected a width and height in [1, "
                                         f"{MAX_SCREEN_PIXELS}] pixels, got {text[:40]!r}")
    return size


def bounded_int(low: int, high: int):
    """An argparse type: an integer in [low, high], the range named in the message."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got "
                                             f"{text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got "
                                             f"{text[:40]}")
        return value
    return parse


def _bound(value: float) -> str:
    """A bound as a reader writes it: 1000000 rather than 1e+06, 0.5, inf."""
    return str(int(value)) if math.isfinite(value) and value == int(value) else f"{value:g}"


def bounded_float(low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    """An argparse type: a finite number from ``low`` to ``high`` (either end open), the
    interval named in the message; NaN and the infinities are refused whatever the bounds."""
    interval = (("(" if low_open else "[") + f"{_bound(low)}, {_bound(high)}"
                + (")" if high_open else "]"))

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a finite number in {interval}, got "
                                             f"{text[:40]!r}") from None
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (math.isfinite(value) and above and below):
            raise argparse.ArgumentTypeError(f"expected a finite number in {interval}, got "
                                             f"{text[:40]}")
        return value
    return parse


positive_float = bounded_float(0.0, math.inf, low_open=True, high_open=True)
non_negative_float = bounded_float(0.0, math.inf, high_open=True)
positive_minutes = bounded_float(0.0, MAX_MINUTES, low_open=True)
open_fraction = bounded_float(0.0, 1.0, low_open=True, high_open=True)
fraction_below_one = bounded_float(0.0, 1.0, high_open=True)


def folder_path(text: str) -> Path:
    """An argparse type: a folder, existing or not, but not a file."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder, got an empty path")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; expected a folder (existing, or "
                                         "to be created)")
    return path


def _search_metric(text: str):
    from harness.search import parse_search_metric
    try:
        return parse_search_metric(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()
    p = argparse.ArgumentParser(
        prog="run_ablation.py",
        description="Train the original and fixed designs and their single-axis ablations on "
                    "identical data, batch order and initial weights; write records.",
        formatter_class=DefaultsOnceHelpFormatter)
    g = p.add_argument_group("what to run")
    g.add_argument("--variants", default="all",
                   help="'all', names, groups ('aggregators'), globs ('fixed-*') or a comma list")
    g.add_argument("--variants-file", action="append", default=[], metavar="FILE",
                   help="a Python file that registers more variants (executed; repeatable)")
    g.add_argument("--list", action="store_true", help="list the variants and exit")
    g.add_argument("--seeds", type=parse_seeds, default=None,
                   help=f"a count, list or range (default {len(defaults.seeds)})")
    g.add_argument("--budget", type=positive_minutes, default=None, metavar="MINUTES",
                   help="wall-time budget for grid and report: the first seed of every variant "
                        "runs first, and its measured time decides how many seeds fit (at "
                        "most --seeds, if given)")
    g.add_argument("--until-decided", type=positive_minutes, default=None, metavar="MINUTES",
                   help="after the default seeds, add seeds (in at most 3 looks, at most 20 "
                        "seeds a variant, every look tested at 5%%/3) to the undecided "
                        "comparisons that the projection says can be decided within MINUTES "
                        "of wall time in all")
    g.add_argument("--quick", action="store_true",
                   help="a smoke run: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()))
    g.add_argument("--search", choices=("greedy",), default=None,
                   help="instead of --variants: start from the original design, keep each "
                        f"round's single-axis change with the highest lower 95%% bound of its "
                        f"gain in --search-metric on the selection split while that bound is "
                        f"above 0, then drop changes leave-one-out; then confirm the path on "
                        f"fresh seeds on the held-out split; writes search.json and a variants "
                        f"file (default out {SEARCH_OUT})")
    g.add_argument("--search-screen-seeds", type=bounded_int(0, MAX_SEED_COUNT),
                   default=None, metavar="N",
                   help="--search: train each round's changes on the first N seeds first and "
                        "only the best --search-finalists on every seed (default 1; 0: every "
                        "change on every seed)")
    g.add_argument("--search-metric", type=_search_metric, default=None, metavar="METRIC",
                   help="--search: what each round maximises on the selection split: a "
                        "per-step metric (step_acc, the default; text_f1; head_text_f1, ...) "
                        "or a stated weighted combination of their means, e.g. "
                        "weighted:step_acc=0.7,text_f1=0.3 (positive weights summing to 1)")
    g.add_argument("--search-finalists", type=bounded_int(1, MAX_FINALISTS),
                   default=None, metavar="K",
                   help="--search: changes per round that go on from screening to every seed "
                        "(default 4)")
    g = p.add_argument_group("training")
    length = g.add_mutually_exclusive_group()
    length.add_argument("--steps", type=bounded_int(1, MAX_STEPS), default=None,
                        help="optimizer steps per run, instead of --epochs")
    length.add_argument("--epochs", type=bounded_int(1, MAX_EPOCHS), default=None,
                        help=f"full passes over the training split per run (default "
                             f"{DEFAULT_EPOCHS}; --quick: {QUICK['steps']} steps)")
    g.add_argument("--batch-size", type=bounded_int(1, MAX_BATCH_SIZE), default=None,
                   help=f"default {defaults.train.batch_size}")
    g.add_argument("--lr", type=positive_float, default=None,
                   help="AdamW learning rate (default 2e-3 for tiny, 5e-5 for pretrained)")
    g.add_argument("--weight-decay", type=non_negative_float,
                   default=defaults.train.weight_decay, help="AdamW weight decay")
    g.add_argument("--eval-every", type=bounded_int(0, MAX_STEPS),
                   default=defaults.train.eval_every,
                   help="extra validation every N steps (0: at each epoch end and the end)")
    g.add_argument("--encoder", default=defaults.encoder,
                   help="'tiny' (random init), 'minilm' (pretrained, offline) or a local "
                        "Hugging Face model folder")
    g.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    g.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help="bf16: autocast for the forward pass, loss in fp32")
    g.add_argument("--bucket-by-length", action="store_true",
                   help="batches of similar prompt length (less padding; the same batches for "
                        "every variant, but not the batches of a run without it)")
    g.add_argument("--no-trim", action="store_true",
                   help="pad every batch to --max-length, as a plain loop would")
    g.add_argument("--jobs", type=bounded_int(0, MAX_PROCESSES), default=0,
                   help="runs in parallel processes (0: auto, one per CPU core on CPU, 1 on CUDA)")
    g.add_argument("--threads", type=bounded_int(0, MAX_PROCESSES), default=0,
                   help="CPU threads per run (0: cores / jobs)")
    g.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="ray: each (variant, seed) is a Ray task (one GPU each on CUDA)")
    g.add_argument("--ray-address", default=None,
                   help="an existing Ray cluster (default: start a local one)")
    g = p.add_argument_group("data")
    g.add_argument("--data", default=SYNTHETIC,
                   help="'synthetic', or a data file or folder (layout detected, or --data-format)")
    g.add_argument("--data-format", choices=FORMATS, default=None,
                   help="layout of --data when detection should not decide")
    g.add_argument("--skip-invalid", action="store_true",
                   help="drop invalid records (counted, and named in the report) instead of "
                        "stopping at the first")
    g.add_argument("--units", choices=("pixel", "normalized"), default=None,
                   help="coordinate units of --data (else its dataset.json; synthetic: pixel)")
    g.add_argument("--screen-size", type=parse_screen, default=None, metavar="WxH",
                   help="screen size in pixels, needed for pixel data (synthetic: 1080x2400)")
    g.add_argument("--synthetic-episodes", type=bounded_int(1, MAX_SYNTHETIC_EPISODES),
                   default=None,
                   help=f"default {defaults.data.synthetic_episodes}")
    g.add_argument("--synthetic-world", choices=("small", "full"),
                   default=defaults.data.synthetic_world,
                   help="small: 16 goal families, learnable on a CPU budget; full: all 27")
    g.add_argument("--data-seed", type=bounded_int(0, MAX_SEED), default=defaults.data.data_seed,
                   help="seed of the synthetic data (fixed across training seeds)")
    g.add_argument("--heldout-fraction", type=open_fraction, default=defaults.data.heldout_fraction,
                   help="share of episodes held out and scored once at the end (by a hash of "
                        "the episode key)")
    g.add_argument("--val-fraction", type=fraction_below_one, default=defaults.data.val_fraction,
                   help="share of episodes the schedulers validate on at every epoch's end "
                        "(0: the held-out episodes, as a two-split trainer does)")
    g.add_argument("--selection-fraction", type=fraction_below_one,
                   default=defaults.data.selection_fraction,
                   help="share of episodes (the top of the same hash order) every choice is made "
                        "on: the search's rounds, tuning, the decoder's length; scored once at "
                        "the end like the held-out split, which is read only for verdicts (0: "
                        "the validation split)")
    g.add_argument("--split-by", choices=SPLIT_BY, default=None,
                   help="what the splits keep together: each episode, or every episode of one "
                        "goal (the prompt's 'Goal: ...' instruction), so that no held-out goal "
                        "is trained on (default: goal for AiTZ and AitW, episode for the "
                        "synthetic data and user-json)")
    g.add_argument("--train-size", type=bounded_int(0, MAX_STEPS), default=None,
                   help=f"training steps used, whole episodes in hash order; 0: all the rest "
                        f"(default: {defaults.data.train_size} on the synthetic data, all of "
                        f"the user's data)")
    g.add_argument("--query-steps", type=bounded_int(1, QUERY_LEN), default=None,
                   help="greedy steps of the query decoder (default: the longest typed-text "
                        "target of the data, at most 32; later positions are padding that "
                        "the losses ignore)")
    g.add_argument("--max-length", type=bounded_int(1, MAX_LENGTH), default=None,
                   help=f"prompt tokens (default {defaults.data.max_length})")
    g.add_argument("--vocab-size", type=bounded_int(1, MAX_VOCABULARY),
                   default=defaults.data.vocab_size,
                   help="WordPiece vocabulary trained for the tiny encoder")
    g.add_argument("--export-data", type=folder_path, default=None, metavar="DIR",
                   help="write the data set in the user's JSON format to DIR and exit")
    g = p.add_argument_group("output")
    g.add_argument("--out", type=folder_path, default=None,
                   help=f"output folder (default {DEFAULT_OUT}, with --quick {QUICK_OUT})")
    g.add_argument("--force", action="store_true", help="recompute runs already finished")
    g.add_argument("--report-only", type=folder_path, default=None, metavar="OUT",
                   help="rebuild the report of an earlier run's output folder, without training "
                        "(with --log: also refresh those logs, the report included)")
    g.add_argument("--no-report", action="store_true", help="write records only, no report")
    g.add_argument("--log", action="append", choices=("tensorboard", "mlflow"), default=[],
                   metavar="TARGET",
                   help="also log every run to TARGET (repeatable): tensorboard (events in "
                        "OUT/tensorboard/, written while training) or mlflow (a SQLite store "
                        "in OUT/mlflow/); optional extras of the same names")
    g.add_argument("--export-logs", type=folder_path, default=None, metavar="OUT",
                   help="write the --log targets of an earlier run's output folder from its "
                        "records, without training")
    g.add_argument("--equivalence-margin", type=bounded_float(0.0, 1.0),
                   default=DEFAULT_MARGIN, metavar="M",
                   help="a fix is 'equivalent' when two one-sided tests at 5%% show its "
                        "paired difference within +-M (its 90%% interval lies inside)")
    g.add_argument("--multiplicity", choices=("bh", "holm", "none"), default="bh",
                   help="how each metric's family of helps/hurts decisions is adjusted for "
                        "its number of comparisons: bh (Benjamini-Hochberg, false discovery "
                        "rate 5%%), holm (family-wise error 5%%) or none")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def settings_from_args(args, device: str) -> Settings:
    quick = QUICK if args.quick else {}
    base = Settings()
    pick = lambda value, key, default: value if value is not None else quick.get(key, default)
    data = DataSettings(
        source=args.data, data_format=args.data_format, skip_invalid=args.skip_invalid,
        synthetic_episodes=pick(args.synthetic_episodes, "synthetic_episodes",
                                base.data.synthetic_episodes),
        synthetic_world=args.synthetic_world,
        data_seed=args.data_seed, units=args.units, screen_size=args.screen_size,
        heldout_fraction=args.heldout_fraction, val_fraction=args.val_fraction,
        selection_fraction=args.selection_fraction, split_by=args.split_by,
        train_size=(args.train_size or None) if args.train_size is not None else (
            base.data.train_size if args.data == SYNTHETIC else None),
        query_steps=args.query_steps,
        max_length=pick(args.max_length, "max_length", base.data.max_length),
        vocab_size=args.vocab_size)
    # A randomly initialised encoder (tiny, or tiny with overrides) learns from scratch.
    tiny = args.encoder == "tiny" or args.encoder.startswith("tiny:")
    default_lr = base.train.lr if tiny else 5e-5
    train = TrainSettings(
        steps=pick(args.steps, "steps", base.train.steps),
        batch_size=pick(args.batch_size, "batch_size", base.train.batch_size),
        lr=args.lr if args.lr is not None else default_lr,
        weight_decay=args.weight_decay, eval_every=args.eval_every,
        precision=args.precision, bucket_by_length=args.bucket_by_length,
        trim_padding=not args.no_trim)
    seeds = pick(args.seeds, "seeds", base.seeds)
    return Settings(data=data, train=train, encoder=args.encoder, seeds=tuple(seeds),
                    device=device)


def resolve_epochs(settings: Settings, epochs: int, train_size: int) -> Settings:
    steps_per_epoch = -(-train_size // settings.train.batch_size)
    train = dataclasses.replace(settings.train, steps=epochs * steps_per_epoch)
    return dataclasses.replace(settings, train=train)


def _partial_report(args) -> None:
    out = args.report_only or _output_folder(args)
    if args.no_report or not (Path(out) / "run.json").is_file():
        return
    from harness.lock import output_lock
    from harness.report import build_report
    try:
        with output_lock(out, create=False):     # a rerun may have taken the folder already
            print(f"partial report: {build_report(out)}", file=sys.stderr)
    except Exception as exc:  # a report is a courtesy here; the records are what matters
        print(f"no partial report ({type(exc).__name__}: {exc})", file=sys.stderr)


def resolve_parallelism(jobs: int, threads: int, device: str, n_runs: int) -> tuple[int, int]:
    """``--jobs 0``: one process per CPU core on CPU (a tiny model runs best on one thread
    each), one process on CUDA. ``--threads 0``: the cores shared out among the jobs."""
    cores = os.cpu_count() or 1
    if jobs < 0 or threads < 0:
        raise HarnessInputError("--jobs and --threads must be >= 0")
    if jobs == 0:
        jobs = 1 if device == "cuda" else max(1, min(cores, n_runs))
    if threads == 0:
        threads = max(1, cores // jobs)
    return jobs, threads


def _terminate_as_interrupt(signum, frame):
    """SIGTERM ends a run the way Ctrl-C does: records closed, partial report, exit 130."""
    raise KeyboardInterrupt


def _warn_unreadable(line: str) -> None:
    # a damaged folder must not pass unnoticed: named here as well as in the report
    print(f"warning: {line}; its run counts as missing" if "/runs/" in line
          else f"warning: {line}", file=sys.stderr)


def _command_lock(args):
    """The output folder this command writes, locked (:mod:`harness.lock`) for its whole
    duration, taken before any data is read so that a second command is refused at once."""
    import contextlib
    from harness.lock import output_lock
    warn = lambda line: print(line, file=sys.stderr)
    if args.report_only is not None:
        return output_lock(args.report_only, create=False, warn=warn)
    if args.export_logs is not None:
        return output_lock(args.export_logs, create=False, warn=warn)
    if args.list or args.export_data is not None:
        return contextlib.nullcontext()
    return output_lock(_output_folder(args), warn=warn)


def _output_folder(args) -> Path:
    return args.out or (SEARCH_OUT if args.search else QUICK_OUT if args.quick else DEFAULT_OUT)


def check_together(parser: argparse.ArgumentParser, args) -> None:
    """Options valid alone but not together: the three split fractions share one hash range,
    and what they leave is the training split."""
    parts = {"--heldout-fraction": args.heldout_fraction, "--val-fraction": args.val_fraction,
             "--selection-fraction": args.selection_fraction}
    # rounded: 0.7 + 0.2 + 0.1 is 0.9999999999999999 in floats, and leaves nothing to train on
    total = round(sum(parts.values()), 9)
    if total >= 1.0:
        parser.error(" + ".join(f"{name} {value:g}" for name, value in parts.items())
                     + f" = {total:g}; expected a sum below 1, so that some episodes are left "
                       "to train on")


def parse_args(argv=None) -> argparse.Namespace:
    """The command line, every option checked alone and together (argparse's usage error,
    exit code 2, naming the option and its valid range)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_together(parser, args)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    rerun = shlex.join(["python", "run_ablation.py",
                        *(sys.argv[1:] if argv is None else argv)])
    # A process started in the background by a non-interactive shell inherits SIGINT ignored;
    # take it back, so that an interrupt always stops the grid cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        with _command_lock(args):
            return _main(args)
    except RunsToRetry as exc:
        print(f"\n{exc}\nrerun: {rerun}", file=sys.stderr)
        return 3
    except StorageError as exc:     # before HarnessInputError, which it is
        print(f"error: {exc}", file=sys.stderr)
        return 3 if exc.transient else 2
    except HarnessInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)     # let the partial report be written
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\ninterrupted: finished runs are kept; rerun the same command to resume",
              file=sys.stderr)
        _partial_report(args)
        return 130
    except BrokenPipeError:      # output piped into `head` and the like
        sys.stderr.close()
        return 0


def _main(args) -> int:
    import variants
    from harness.prepare import load_dataset, prepare_data
    from harness.data.user_json import write_user_json
    from harness.encoders import resolve_encoder
    from harness.environment import resolve_device
    from harness.results import format_summary
    from harness.runner import run_grid

    if args.report_only is not None:
        from harness.report import build_report
        report = build_report(args.report_only, margin=args.equivalence_margin,
                              multiplicity=args.multiplicity, warn=_warn_unreadable)
        print(f"report: {report}")
        if args.log:     # the rebuilt report onto the logs, and any run they lack
            from harness.logs.export import export_logs
            for line in export_logs(args.report_only, args.log):
                print(line)
        return 0
    if args.export_logs is not None:
        from harness.logs.export import export_logs
        for line in export_logs(args.export_logs, args.log):
            print(line)
        return 0
    for path in args.variants_file:
        variants.load_variants_file(path)
    if args.list:
        for name in variants.list_variants():
            print(f"{name:32s} {variants.get_variant(name).purpose}")
        for name, members in variants.groups().items():
            print(f"{name:32s} group: {', '.join(members)}")
        return 0
    chosen = variants.select_variants(args.variants)
    from harness.logs.common import require
    require(args.log)    # a missing extra is an error now, not after the data is prepared
    settings = settings_from_args(args, resolve_device(args.device))
    if args.export_data is not None:
        dataset = load_dataset(settings.data)
        write_user_json(dataset, args.export_data)
        print(f"wrote {len(dataset.steps)} steps of {len(dataset.episodes())} episodes "
              f"({dataset.units.describe()}) to {args.export_data}")
        return 0

    spec = resolve_encoder(settings.encoder)
    data = prepare_data(settings.data, spec)
    if args.epochs is not None or (args.steps is None and not args.quick):
        settings = resolve_epochs(settings, args.epochs or DEFAULT_EPOCHS, len(data.train))
    out = _output_folder(args)
    desc = data.description
    print(f"data: {desc['source']} | {desc['units']['units']} units | "
          f"{desc['train_steps']} train / {desc['val_steps']} validation / "
          f"{desc['selection_steps']} selection / {desc['heldout_steps']} held-out steps | "
          f"encoder {settings.encoder} | device {settings.device} | "
          + ("search greedy" if args.search else f"{len(chosen)} variants")
          + f" x {len(settings.seeds)} seeds x {settings.train.steps} steps "
          f"-> {out}", file=sys.stderr)
    jobs, threads = resolve_parallelism(args.jobs, args.threads, settings.device,
                                        len(chosen) * len(settings.seeds))
    started = time.perf_counter()
    grid = dict(force=args.force, show_progress=not args.no_progress, data=data, jobs=jobs,
                threads=threads, executor=args.executor, ray_address=args.ray_address,
                logs=args.log)
    if args.search is not None:
        if args.until_decided is not None:
            raise HarnessInputError("--search and --until-decided do not combine: the search "
                                    "chooses its own seeds")
        return _search(args, settings, out, grid, run_grid)
    if args.budget is not None:
        if args.until_decided is not None:
            raise HarnessInputError("--budget and --until-decided do not combine: one fixes the "
                                    "seeds before looking, the other adds them after")
        settings = _fit_seeds_to_budget(settings, chosen, out, args, grid)
    if args.until_decided is not None:
        from harness.until_decided import run_until_decided
        summary = run_until_decided(settings, chosen, out, grid, _checked(run_grid),
                                    args.until_decided,
                                    margin=args.equivalence_margin,
                                    procedure=args.multiplicity,
                                    log=lambda line: print(line, file=sys.stderr))
    else:
        summary = run_grid(settings, chosen, out, **grid)
    grid_seconds = time.perf_counter() - started
    from harness.io import read_json
    baselines = read_json(Path(out) / "run.json").get("baselines")
    print(format_summary(summary, baselines))
    print(f"\nrecords: {out}/summary.csv, {out}/steps.csv, {out}/steps.parquet, {out}/runs/")
    _finish(args, Path(out), grid_seconds)
    if args.until_decided is None:      # (each look was checked as it ended)
        _raise_if_runs_lost(out, chosen, settings.seeds)
    return 0


def _raise_if_runs_lost(out, chosen, seeds) -> None:
    """Exit 3 while a run of this grid was lost to the machine; a failure of the design is a
    result and keeps exit code 0 (:func:`harness.results.needs_retry`)."""
    from harness.results import runs_to_retry
    lost = runs_to_retry(out, [v.name for v in chosen], seeds)
    if lost:
        raise RunsToRetry(f"{len(lost)} run(s) did not finish for reasons outside the design:\n"
                          + "".join(f"  {line}\n" for line in lost)
                          + "rerun the same command to retry them (finished runs are kept)")


def _checked(run_grid):
    """``run_grid``, then exit 3 if it lost a run: a choice made with a run missing (a search
    round, a look of --until-decided) would be steered by the machine, not the designs."""
    def run_and_check(settings, chosen, out, seeds_by_variant=None, **grid):
        summary = run_grid(settings, chosen, out, seeds_by_variant=seeds_by_variant, **grid)
        _raise_if_runs_lost(out, chosen, settings.seeds if seeds_by_variant is None
                            else seeds_by_variant)
        return summary
    return run_and_check


def _finish(args, out: Path, grid_seconds: float) -> None:
    """After the grid: the report (unless --no-report), timing.json, and the logs' share."""
    report_seconds = None
    if not args.no_report:
        from harness.report import build_report
        report_started = time.perf_counter()
        report = build_report(out, margin=args.equivalence_margin,
                              multiplicity=args.multiplicity)
        print(f"report: {report}")
        report_seconds = time.perf_counter() - report_started
    write_timing(out, grid_seconds, report_seconds)
    if "mlflow" in args.log:
        from harness.logs.mlflow_store import log_report
        log_report(out)         # the report (when built) and timing.json, on the grid's run
    _print_log_commands(out, args.log)


def _print_log_commands(out: Path, targets) -> None:
    if "tensorboard" in targets:
        from harness.logs.tensorboard import open_command
        print(f"tensorboard: {open_command(out)}")
    if "mlflow" in targets:
        from harness.logs.mlflow_store import open_command, ui_hint
        print(f"mlflow: {open_command(out)}  ({ui_hint()})")


def _search(args, settings: Settings, out: Path, grid: dict, run_grid) -> int:
    """``--search greedy``: every round's designs trained into ``out`` (reused when run
    again), then the report over all of them."""
    from harness.search import SEARCH_JSON, VARIANTS_FILE, greedy_search
    if args.budget is not None:
        raise HarnessInputError("--search and --budget do not combine: the search decides how "
                                "many designs it trains")
    # options not given keep greedy_search's own defaults
    given = {"screen_seeds": args.search_screen_seeds, "finalist_count": args.search_finalists,
             "metric": args.search_metric}

    def train(batch, seeds=None):
        on = settings if seeds is None else dataclasses.replace(settings, seeds=tuple(seeds))
        return _checked(run_grid)(on, batch, out, **grid)

    started = time.perf_counter()
    result = greedy_search(settings, out, train, log=lambda line: print(line, file=sys.stderr),
                           **{name: value for name, value in given.items() if value is not None})
    grid_seconds = time.perf_counter() - started
    final = result["final"]
    print(f"search: {len(result['rounds'])} round(s), final design {final['variant']} "
          f"({final['changes'] or 'no change'}); {out}/{SEARCH_JSON}; "
          f"--variants-file {out}/{VARIANTS_FILE} registers it as 'searched'")
    _finish(args, Path(out), grid_seconds)
    return 0


def _fit_seeds_to_budget(settings: Settings, chosen: list, out: Path, args, grid: dict):
    """Run the first seed of every variant, time it, and keep as many seeds as fit."""
    from harness.budget import MAX_SEEDS, estimated_report_seconds, seeds_that_fit
    from harness.runner import run_grid
    if args.budget <= 0:
        raise HarnessInputError(f"--budget must be a positive number of minutes, got "
                                f"{args.budget}")
    first = dataclasses.replace(settings, seeds=settings.seeds[:1])
    started = time.perf_counter()
    run_grid(first, chosen, out, **grid)
    round_s = time.perf_counter() - started
    limit = len(settings.seeds) if args.seeds is not None else MAX_SEEDS
    n = seeds_that_fit(args.budget * 60, round_s,
                       estimated_report_seconds(len(chosen) * limit), limit)
    pool = list(settings.seeds) if args.seeds is not None else list(range(MAX_SEEDS))
    seeds = tuple(pool[:n])
    print(f"budget {args.budget:g} min: the first round ({len(chosen)} variants x seed "
          f"{settings.seeds[0]}) took {round_s / 60:.1f} min, so {n} seed(s) fit: "
          f"{', '.join(map(str, seeds))}" + (" (fewer than 2 seeds: no intervals)" if n < 2
                                             else ""), file=sys.stderr)
    return dataclasses.replace(settings, seeds=seeds)


def write_timing(out: Path, grid_seconds: float, report_seconds: float | None) -> None:
    """``timing.json``: this invocation's wall time, and the machine it ran on (a time means
    little without the CPU that made it)."""
    from harness.environment import cpu_model
    from harness.io import atomic_write_json
    atomic_write_json(out / "timing.json", {
        "grid_seconds": round(grid_seconds, 1),
        "report_seconds": None if report_seconds is None else round(report_seconds, 1),
        "total_seconds": round(grid_seconds + (report_seconds or 0.0), 1),
        "cpu_model": cpu_model(), "cores": os.cpu_count(),
        "command": " ".join(["python", "run_ablation.py", *sys.argv[1:]])})
