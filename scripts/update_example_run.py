"""Keep the README's example-run numbers equal to a committed run's files.

The README's tables of results are not typed by hand: they are generated from the example run
committed under ``docs/example-run/`` (its ``run.json``, ``timing.json``, summary and effects
tables, the report's findings and a screenshot of the report), between marker comments::

    <!-- example-run:results -->
    ...generated...
    <!-- /example-run:results -->

Usage::

    python scripts/update_example_run.py OUT          # copy OUT's files into docs/example-run/,
                                                      # screenshot its report, refresh the README
    python scripts/update_example_run.py --readme-only   # refresh the README from docs/example-run/
    python scripts/update_example_run.py --check         # exit 1, with a diff, if the README is stale
    python scripts/update_example_run.py --search OUT    # copy a search's files into
                                                      # docs/example-search/, refresh the README
    python scripts/update_example_run.py --until-decided OUT   # the same for an
                                                      # --until-decided run (example-until-decided/)
    python scripts/update_example_run.py --corrections OUT     # a run of
          # --variants 'corrected,corrected-*': measure each correction on the selection split
          # into docs/corrections/corrections.csv, copy its tables, refresh the README

``OUT`` is an output folder of ``python run_ablation.py --variants all --out OUT`` (or, with
``--search``, of ``python run_ablation.py --search greedy --out OUT``).
``tests/test_readme_example.py`` checks that the README's blocks equal what this renders.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLE_DIR = ROOT / "docs" / "example-run"
SEARCH_DIR = ROOT / "docs" / "example-search"

#: The blocks every README must have, in the order they are rendered.
BLOCKS = ("machine", "results", "effects")
#: Blocks filled in only where the README has their markers.
OPTIONAL_BLOCKS = ("findings", "search", "decisions", "until-decided", "calibration",
                   "corrections", "time-check", "aggregators", "fuzz")
CALIBRATION_DIR = ROOT / "docs" / "calibration"
FUZZ_COUNTS = ROOT / "docs" / "fuzz" / "counts.json"

#: The summary's metrics as the results table shows them (the step accuracy with its interval).
SIMPLE_METRICS = ("action_acc", "tap_acc", "swipe_acc")
RUN_STATUSES = ("ok", "diverged", "failed", "interrupted", "missing")

#: The files copied from an output folder: (source under OUT, name in docs/example-run, required).
COPIED = (
    ("run.json", "run.json", True),
    ("timing.json", "timing.json", False),
    ("tables/summary_by_variant.csv", "summary_by_variant.csv", True),
    ("tables/effects.csv", "effects.csv", True),
    ("tables/findings.csv", "findings.csv", False),
)
#: The files of a search's output folder copied into docs/example-search.
SEARCH_COPIED = (
    ("search.json", "search.json", True),
    ("timing.json", "timing.json", True),
    ("run.json", "run.json", True),
    ("searched_variant.py", "searched_variant.py", True),
    ("tables/search_path.csv", "search_path.csv", True),
    ("tables/summary_by_variant.csv", "summary_by_variant.csv", True),
    ("tables/findings.csv", "findings.csv", False),
)
SCREENSHOT = "report.png"
DASH = "\u2014"


class ExampleRunError(Exception):
    """A missing folder, file or README marker; the message says which."""


# --------------------------------------------------------------------------- reading

def _number(value) -> float:
    """A float from a CSV cell or JSON value; NaN for empty, missing or unparsable."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_example(folder: Path) -> dict:
    """The files of an example-run folder (``docs/example-run`` layout: flat)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExampleRunError(
            f"{folder} does not exist: run `python run_ablation.py --variants all --out OUT`, "
            f"then `python scripts/update_example_run.py OUT`")
    for name in ("run.json", "summary_by_variant.csv", "effects.csv"):
        if not (folder / name).is_file():
            raise ExampleRunError(f"{folder / name} is missing (copy it with "
                                  f"`python scripts/update_example_run.py OUT`)")
    timing = folder / "timing.json"
    findings = folder / "findings.csv"
    return {
        "run": read_json(folder / "run.json"),
        "timing": read_json(timing) if timing.is_file() else None,
        "summary": read_csv(folder / "summary_by_variant.csv"),
        "effects": read_csv(folder / "effects.csv"),
        "findings": read_csv(findings) if findings.is_file() else None,
        "screenshot": (folder / SCREENSHOT).is_file(),
    }


# --------------------------------------------------------------------------- formatting

def fmt(value, digits: int = 3, signed: bool = False) -> str:
    """``0.662``; ``+0.012`` when signed; ``n/a`` for NaN or missing (no ``-0.000``)."""
    x = _number(value)
    if not math.isfinite(x):
        return "n/a"
    x = round(x, digits) + 0.0          # -0.0 -> 0.0
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def fmt_interval(mean, low, high, signed: bool = False) -> str:
    """``0.662 [0.610, 0.714]``; ``0.662 [n/a]`` without an interval; ``n/a`` without a mean."""
    if fmt(mean) == "n/a":
        return "n/a"
    if fmt(low) == "n/a" or fmt(high) == "n/a":
        return f"{fmt(mean, signed=signed)} [n/a]"
    return f"{fmt(mean, signed=signed)} [{fmt(low, signed=signed)}, {fmt(high, signed=signed)}]"


def fmt_duration(seconds) -> str:
    """``8 min 44 s``, ``42 s``; ``n/a`` when not measured."""
    s = _number(seconds)
    if not math.isfinite(s):
        return "n/a"
    s = int(round(s))
    return f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _runs(row: dict) -> str:
    """``2/2``, or ``1/2 (1 diverged)`` when some runs did not finish."""
    counts = {s: _number(row.get(f"runs_{s}")) for s in RUN_STATUSES}
    counts = {s: int(n) for s, n in counts.items() if math.isfinite(n)}
    if "ok" not in counts:
        return "n/a"
    text = f"{counts['ok']}/{sum(counts.values())}"
    others = [f"{n} {s}" for s, n in counts.items() if s != "ok" and n]
    return f"{text} ({', '.join(others)})" if others else text


# --------------------------------------------------------------------------- blocks

def render_results(example: dict) -> str:
    header = ["variant", "runs ok", "step acc. [95% interval]", "action acc.", "tap acc.",
              "swipe acc.", "typed text exact / word F1", "heads: text F1 on TYPE / tap acc. "
              "on taps", "step time (ms)"]
    rows = []
    for r in example["summary"]:
        step_ms = _number(r.get("step_time_s")) * 1000.0
        rows.append([f"`{r['variant']}`", _runs(r),
                     fmt_interval(r.get("step_acc"), r.get("step_acc_low"), r.get("step_acc_high")),
                     *[fmt(r.get(m)) for m in SIMPLE_METRICS],
                     f"{fmt(r.get('text_em'))} / {fmt(r.get('text_f1'))}",
                     f"{fmt(r.get('head_text_f1'))} / {fmt(r.get('head_tap_acc'))}",
                     fmt(step_ms, digits=1)])
    b = example["run"].get("baselines") or {}
    get = lambda m: b.get(f"baseline/{m}")
    rows.append(["trivial baseline", DASH, fmt(get("step_acc")),
                 *[fmt(get(m)) for m in SIMPLE_METRICS],
                 f"{fmt(get('text_em'))} / {fmt(get('text_f1'))}",
                 f"{fmt(get('head_text_f1'))} / {fmt(get('head_tap_acc'))}", DASH])
    return _table(header, rows)


def render_effects(example: dict) -> str:
    header = ["fix", "direction", "verdict", "\u0394 step acc. [95% interval]", "step time ratio"]
    rows = []
    for e in example["effects"]:
        ratio = fmt(e.get("step_time_ratio"), digits=2)
        rows.append([f"`{e['fix']}`", e.get("direction", ""), e.get("verdict", "") or "n/a",
                     fmt_interval(e.get("d_step_acc"), e.get("d_step_acc_low"),
                                  e.get("d_step_acc_high"), signed=True),
                     ratio if ratio == "n/a" else f"{ratio}x"])
    return _table(header, rows)


def render_machine(example: dict, link_prefix: str = "docs/example-run") -> str:
    run, timing = example["run"], example["timing"] or {}
    settings, env, data = run.get("settings", {}), run.get("environment", {}), run.get("data", {})
    command = timing.get("command") or run.get("command") or "n/a"
    cpu = timing.get("cpu_model") or env.get("cpu_model") or "an unnamed CPU"
    cores = timing.get("cores") or env.get("cpu_count")
    device = env.get("device") or settings.get("device") or "n/a"
    train = settings.get("train", {})
    seeds = settings.get("seeds")
    seeds = ", ".join(str(s) for s in seeds) if isinstance(seeds, list) else (seeds or "n/a")
    encoder = settings.get("encoder")
    encoder = f"`{encoder}`" if isinstance(encoder, str) else (json.dumps(encoder) if encoder else "n/a")
    if timing:
        times = (f"the grid took {fmt_duration(timing.get('grid_seconds'))}, the report "
                 f"{fmt_duration(timing.get('report_seconds'))}, "
                 f"{fmt_duration(timing.get('total_seconds'))} in all")
    else:
        times = "wall time n/a (the run wrote no timing.json)"
    text = (f"`{command}` on {cpu} ({cores if cores else 'n/a'} cores, device `{device}`): "
            f"{times}. Seeds {seeds}; {train.get('steps', 'n/a')} steps per run with batch size "
            f"{train.get('batch_size', 'n/a')}; encoder {encoder}; "
            f"{data.get('heldout_steps', 'n/a')} held-out steps. "
            f"Filled in by `scripts/update_example_run.py` from `{link_prefix}/` "
            f"([run.json]({link_prefix}/run.json), "
            f"[summary]({link_prefix}/summary_by_variant.csv), "
            f"[effects]({link_prefix}/effects.csv)); do not edit by hand.")
    text = textwrap.fill(text, width=96, break_long_words=False, break_on_hyphens=False)
    if example.get("screenshot"):
        text += f"\n\n![The example run's report]({link_prefix}/{SCREENSHOT})"
    return text


def render_findings(example: dict) -> str:
    rows = example.get("findings")
    if not rows:
        return "(the example run has no findings.csv)"
    lines = []
    for r in rows:
        section = (r.get("section") or "").strip()
        text = " ".join((r.get("text") or "").split())
        lines.append(f"- **{section}**: {text}" if section else f"- {text}")
    return "\n".join(lines)


def decision_counts(effects: list[dict]) -> dict[str, int]:
    """How many step-accuracy helps/hurts decisions of the comparisons' family survive each
    multiplicity procedure, from the effects table's unadjusted p-values (equivalence comes
    first and does not depend on the procedure, so equivalent rows never count)."""
    sys.path.insert(0, str(ROOT))
    from harness.report.multiplicity import PROCEDURES, rejected
    family = [e for e in effects if e.get("family", "effects") == "effects"]
    testable = [e for e in family if e.get("v_step_acc", e.get("verdict")) not in
                ("equivalent", "crashes", "diverges")]
    p = [_number(e.get("d_step_acc_p")) for e in testable]
    return {procedure: int(rejected(p, procedure).sum()) for procedure in PROCEDURES}


def render_decisions(example: dict) -> str:
    effects = example["effects"]
    family = [e for e in effects if e.get("family", "effects") == "effects"]
    counts = decision_counts(effects)
    equivalent = sum(e.get("verdict") == "equivalent" for e in family)
    text = (f"Of the example run's {len(family)} step-accuracy comparisons (the family; the "
            f"placebo stands outside), {counts['none']} are helps/hurts when each is tested at "
            f"5% alone, {counts['bh']} after Benjamini-Hochberg (the default) and "
            f"{counts['holm']} after Holm; {equivalent} are equivalent under every procedure. "
            f"Computed by `scripts/update_example_run.py` from the p-values in "
            f"[effects.csv](docs/example-run/effects.csv).")
    return textwrap.fill(text, width=96, break_long_words=False, break_on_hyphens=False)


def render_until_decided(folder: Path) -> str:
    """The committed ``--until-decided`` example (docs/example-until-decided)."""
    if not (folder / "sequential.json").is_file():
        return "(no --until-decided example committed)"
    record, timing = read_json(folder / "sequential.json"), read_json(folder / "timing.json")
    effects = read_csv(folder / "effects.csv")
    family = [e for e in effects if e.get("family", "effects") == "effects"]
    decided = [e for e in family if e.get("verdict") != "undecided"]
    late = [e for e in family if _number(e.get("decided_at_look")) > 1]
    looks = record["looks"]
    runs = sum(len(s) for look in looks[1:] for s in look["seeds"].values())
    default = ""
    if (EXAMPLE_DIR / "effects.csv").is_file():
        once = [e for e in read_csv(EXAMPLE_DIR / "effects.csv")
                if e.get("family", "effects") == "effects"]
        default = (f" (the default run, one look at 5%, decides "
                   f"{sum(e.get('verdict') != 'undecided' for e in once)} of {len(once)})")
    text = (f"`{timing.get('command')}` on {timing.get('cpu_model')} ({timing.get('cores')} "
            f"cores): {fmt_duration(timing.get('total_seconds'))} in all, {len(looks)} of "
            f"{record['looks_planned']} looks, {runs} runs added to the default grid. "
            f"{len(decided)} of the {len(family)} comparisons decided at the looks' level "
            f"({_number(record['level']):.2%}){default}, {len(late)} of them at a later look "
            f"(with more seeds, or with the family's thresholds moved by other decisions): "
            + ("; ".join(f"`{e['fix']}` ({e['direction']}) {e['verdict']} at look "
                         f"{int(_number(e['decided_at_look']))} with {e['pairs']} seeds"
                         for e in late) or "none")
            + f". Stopped: {record.get('stopped', 'n/a')}. Files: "
            f"[sequential.json](docs/example-until-decided/sequential.json), "
            f"[effects](docs/example-until-decided/effects.csv).")
    return textwrap.fill(text, width=96, break_long_words=False, break_on_hyphens=False)


def _span(rows: list[dict], column: str) -> str:
    values = [_number(r.get(column)) for r in rows]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "n/a"
    low, high = min(values), max(values)
    return f"{low:.3f}" if round(low, 3) == round(high, 3) else f"{low:.3f}-{high:.3f}"


def render_calibration(folder: Path) -> str:
    """The committed simulation's table (docs/calibration/table.csv), summed up: the measured
    rates against the issue's bounds, and every cell whose bound broke."""
    path = folder / "table.csv"
    if not path.is_file():
        return "(no calibration table committed)"
    rows = read_csv(path)
    pick = lambda **want: [r for r in rows if all(r.get(k) == v for k, v in want.items())]
    lines = []
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        single = pick(kind="single", scenario=scenario)
        parts = []
        for seeds in dict.fromkeys(r["seeds"] for r in single):
            cells = [r for r in single if r["seeds"] == seeds]
            null = [r for r in cells if _number(r["truth"]) == 0]
            edge = [r for r in cells if abs(abs(_number(r["truth"])) - 0.05) < 1e-9]
            parts.append(f"{seeds} seeds: coverage {_span(cells, 'coverage')}, false "
                         f"helps/hurts at 0 {_span(null, 'false_calls')}, \"equivalent\" at "
                         f"±0.05 {_span(edge, 'equivalence_errors')}")
        family = pick(kind="family", scenario=scenario, seeds="5")
        fam = {(r["procedure"], r["truth"]): r for r in family}
        text = f"*{scenario}*: " + "; ".join(parts)
        if fam:
            text += (f"; the report's family of 20 at 5 seeds, no effect anywhere: P(any false "
                     f"call) {_span([fam.get(('bh', 'null'), {})], 'fwer')} (BH), "
                     f"{_span([fam.get(('holm', 'null'), {})], 'fwer')} (Holm); six real "
                     f"effects: false discovery rate {_span([fam.get(('bh', 'mix'), {})], 'fdr')} "
                     f"(BH), family-wise error {_span([fam.get(('holm', 'mix'), {})], 'fwer')} "
                     f"(Holm)")
        adaptive = pick(kind="adaptive family", scenario=scenario)
        if adaptive:
            text += (f"; --until-decided over the family: P(any false call) "
                     f"{_span([r for r in adaptive if r['truth'] == 'null'], 'fwer')}")
        lines.append(textwrap.fill("- " + text + ".", width=96, subsequent_indent="  ",
                                   break_long_words=False, break_on_hyphens=False))
    broken = [r for r in rows if r.get("within_bounds") == "False"]
    tail = (f"{len(rows)} cells, {len(broken)} with a bound broken (each bound widened by 3 "
            f"Monte Carlo standard errors)" + (": " + "; ".join(
                f"{r['kind']} {r['scenario']} {r['procedure'] or ''} {r['seeds']} seeds truth "
                f"{r['truth']}: {r['bounds']}".replace("  ", " ") for r in broken) if broken
                else "") + f". From [table.csv](docs/calibration/table.csv), by "
            f"`scripts/update_example_run.py`.")
    lines.append(textwrap.fill(tail, width=96, break_long_words=False,
                               break_on_hyphens=False))
    return "\n".join(lines)


UNTIL_DECIDED_DIR = ROOT / "docs" / "example-until-decided"
UNTIL_DECIDED_COPIED = (
    ("sequential.json", "sequential.json", True),
    ("timing.json", "timing.json", True),
    ("run.json", "run.json", True),
    ("tables/effects.csv", "effects.csv", True),
    ("tables/findings.csv", "findings.csv", False),
)


CORRECTIONS_DIR = ROOT / "docs" / "corrections"
CORRECTIONS_COPIED = (
    ("run.json", "run.json", True),
    ("timing.json", "timing.json", True),
    ("tables/summary_by_variant.csv", "summary_by_variant.csv", True),
    ("tables/effects.csv", "effects.csv", True),
)


def write_corrections(out: Path, dest: Path = CORRECTIONS_DIR) -> Path:
    """Measure each correction of the corrected design on ``out``'s selection split
    (:func:`harness.report.corrections.measure`) into ``dest/corrections.csv``."""
    sys.path.insert(0, str(ROOT))
    from harness.report.corrections import measure
    from harness.report.load import load_records
    table = measure(load_records(out))
    if table.empty:
        raise ExampleRunError(f"{out} holds no pair of `corrected` and `corrected-<correction>` "
                              f"runs: is it an output folder of `python run_ablation.py "
                              f"--variants 'corrected,corrected-*' --out {out}`?")
    dest.mkdir(parents=True, exist_ok=True)
    table.to_csv(dest / "corrections.csv", index=False, float_format="%.6g")
    return dest / "corrections.csv"


AGGREGATORS_DIR = ROOT / "docs" / "example-aggregators"
AGGREGATORS_COPIED = (
    ("run.json", "run.json", True),
    ("timing.json", "timing.json", True),
    ("tables/aggregators.csv", "aggregators.csv", True),
    ("tables/summary_by_variant.csv", "summary_by_variant.csv", True),
    ("tables/findings.csv", "findings.csv", False),
)


def render_aggregators(folder: Path) -> str:
    """The committed run of ``--variants 'fixed,corrected,aggregators'``: each aggregator
    against its ``sum`` base in step accuracy, from its ``aggregators.csv``."""
    if not (folder / "aggregators.csv").is_file():
        return "(no aggregators run committed)"
    timing = read_json(folder / "timing.json")
    rows = [[f"`{r['with_fix']}`", f"`{r['without_fix']}`", r.get("verdict", "n/a"),
             fmt_interval(r.get("d_step_acc"), r.get("d_step_acc_low"),
                          r.get("d_step_acc_high"), signed=True), r.get("pairs", "")]
            for r in read_csv(folder / "aggregators.csv")
            if r.get("metric", "step_acc") == "step_acc"]
    head = (f"`{timing.get('command')}` on {timing.get('cpu_model')} ({timing.get('cores')} "
            f"cores): {fmt_duration(timing.get('total_seconds'))} in all. Filled in by "
            f"`scripts/update_example_run.py --aggregators` from "
            f"[docs/example-aggregators](docs/example-aggregators/aggregators.csv); do not "
            f"edit by hand. Each aggregator against its `sum` base, step accuracy on the "
            f"held-out split, paired by seed and step (the verdict after the aggregators' own "
            f"multiplicity family, the interval unadjusted):")
    return (textwrap.fill(head, width=96, break_long_words=False, break_on_hyphens=False)
            + "\n\n" + _table(["aggregator", "base", "verdict", "Δ step acc. [95% interval]",
                                 "seeds"], rows))


def render_time_check(folder: Path) -> str:
    """The default run's projected time on the slower machine (``time_check.json``, written by
    ``scripts/time_check.py``)."""
    path = folder / "time_check.json"
    if not path.is_file():
        return "(no time check committed)"
    t = read_json(path)
    text = (f"Measured on {t['cpu_model']} ({t['cores']} cores), one run after the other: this "
            f"code's default run took {fmt_duration(t['new_seconds'])}, the previous code's "
            f"(commit {t['old_commit']}) {fmt_duration(t['old_seconds'])}, a ratio of "
            f"{t['ratio']:.2f}. On the slower machine of this kind, a 2-core AMD EPYC, the reference "
            f"time of the default grid is {fmt_duration(t['amd_seconds'])} ({t['amd_source']}); "
            f"at the same ratio it would take {fmt_duration(t['amd_projected_seconds'])}: "
            + ("within" if t["amd_projected_seconds"] <= 15 * 60 else "over")
            + f" 15 minutes, by projection, not by a run on it. Filled in by "
            f"`scripts/update_example_run.py` from `docs/example-run/time_check.json`.")
    return textwrap.fill(text, width=96, break_long_words=False, break_on_hyphens=False)


def render_corrections(folder: Path) -> str:
    """The README's table of corrections: each one's measured reason, from the committed
    ``docs/corrections`` run (its selection split) and that run's confirmation verdict."""
    if not (folder / "corrections.csv").is_file():
        return "(no corrections run committed)"
    sys.path.insert(0, str(ROOT))
    from harness.report.corrections import evidence, support
    timing = read_json(folder / "timing.json")
    verdicts = {e["without_fix"]: e for e in read_csv(folder / "effects.csv")
                if e.get("with_fix") == "corrected"}
    rows, gains = [], 0
    for row in read_csv(folder / "corrections.csv"):
        gains += support(row).startswith("gain")
        v = verdicts.get(row["ablation"], {})
        confirmation = (f"{v.get('verdict', 'n/a')}, "
                        + fmt_interval(v.get("d_step_acc"), v.get("d_step_acc_low"),
                                       v.get("d_step_acc_high"), signed=True)
                        if v else "n/a")
        rows.append([f"`{row['correction']}`", f"`{row['axis']}`: `{row['fixed_value']}` to "
                     f"`{row['corrected_value']}`", support(row), evidence(row), confirmation])
    head = (f"Measured by `{timing.get('command')}` on {timing.get('cpu_model')} "
            f"({timing.get('cores')} cores, {fmt_duration(timing.get('total_seconds'))}); "
            f"filled in by `scripts/update_example_run.py --corrections` from "
            f"[docs/corrections](docs/corrections/corrections.csv); do not edit by hand. The "
            f"last column is the held-out (confirmation) verdict of corrected against the "
            f"ablation in step accuracy, from that run's effects table (the verdict after its "
            f"family's multiplicity adjustment, the 95% interval unadjusted); no choice read "
            f"it. {gains} of the {len(rows)} corrections show a task gain on the selection "
            f"split (a whole interval above zero); the others remove their training symptom "
            f"without a task gain measured at this budget. The corrected design stays as "
            f"defined, so its records stay comparable; what the report recommends is chosen "
            f"by the recommendation rule, not by this table.")
    return (textwrap.fill(head, width=96, break_long_words=False, break_on_hyphens=False)
            + "\n\n" + _table(["correction", "change", "the selection split says",
                                 "measured on the selection split",
                                 "confirmation (step accuracy)"], rows))


def render_fuzz(path: Path = FUZZ_COUNTS) -> str:
    """The fuzz suite's counts (``docs/fuzz/counts.json``, written by
    ``scripts/fuzz_counts.py``): inputs tried and what became of them, per family."""
    if not path.is_file():
        return "(no fuzz counts committed)"
    counts = read_json(path)
    families, total = counts["families"], counts["total"]
    seconds = counts.get("seconds", {})
    columns = ["inputs", "clear_error", "read", *counts["must_be_zero"]]
    labels = {"inputs": "inputs tried", "clear_error": "clear errors", "read": "read (valid, or damage no file shows)",
              "unclear_error": "errors naming nothing", "traceback": "tracebacks",
              "silent_acceptance": "silent acceptances", "misread": "misreads",
              "hang": "hangs"}
    rows = [[f"`{name}`", *[str(c[k]) for k in columns], fmt(seconds.get(name), 1)]
            for name, c in families.items()]
    rows.append(["all", *[f"**{total[k]}**" for k in columns], fmt(seconds.get("total"), 1)])
    head = (f"`{counts['command']}` on {counts.get('cpu_model', 'an unnamed CPU')} "
            f"({counts.get('cores', '?')} cores); each input has {counts['time_limit_per_input_s']} s "
            f"before it counts as a hang. Unreadable files: {counts['unreadable_files']}. Filled "
            f"in by `scripts/update_example_run.py` from "
            f"[docs/fuzz/counts.json](docs/fuzz/counts.json); do not edit by hand.")
    return (textwrap.fill(head, width=96, break_long_words=False, break_on_hyphens=False)
            + "\n\n" + _table(["family", *[labels[k] for k in columns], "seconds"], rows))


def render_blocks(folder: Path, link_prefix: str = "docs/example-run") -> dict[str, str]:
    """Every block's content (without markers), rendered from an example-run folder."""
    example = load_example(folder)
    return {"machine": render_machine(example, link_prefix),
            "results": render_results(example),
            "effects": render_effects(example),
            "findings": render_findings(example),
            "decisions": render_decisions(example)}


def _signed(e: dict) -> str:
    """A search estimate in its metric (``d``; records before --search-metric: ``d_step_acc``)."""
    mean = e.get("d") if e.get("d") is not None else e.get("d_step_acc")
    return fmt_interval(mean, e.get("low"), e.get("high"), signed=True)


def render_search(folder: Path, link_prefix: str = "docs/example-search") -> str:
    """The search block: command, machine, wall time, the path and the final design, from a
    folder of :data:`SEARCH_COPIED` files."""
    search, timing = read_json(folder / "search.json"), read_json(folder / "timing.json")
    env = read_json(folder / "run.json").get("environment", {})
    screening = search.get("screening")
    how = (f"every change screened on seed(s) {', '.join(map(str, screening['seeds']))}, the "
           f"best {screening['finalists']} of each round on all {len(search['seeds'])} seeds"
           if screening else f"every change on all {len(search['seeds'])} seeds")
    steps = []
    for number, round_ in enumerate(search["rounds"], start=1):
        chosen = round_.get("chosen")
        steps.append(f"round {number} kept `{chosen['axis']}={chosen['value']}`, "
                     f"{_signed(chosen)}" if chosen else
                     f"round {number} kept nothing (no finalist's lower bound above zero)")
    loo = search.get("leave_one_out", [])
    dropped = [f"`{c['axis']}`" for c in loo if c.get("removed")]
    vs = search.get("against_corrected") or {}
    confirmation = search.get("confirmation")
    if confirmation:
        def row(e):
            e = e or {}
            return fmt_interval(e.get("d"), e.get("low"), e.get("high"), signed=True)
        side_by_side = "; ".join(
            f"`{c['axis']}={c['value'].strip(chr(39))}` selection {row(c['selection'])}, "
            f"confirmation {row(c['confirmation'])}" for c in confirmation["kept_changes"])
        by_metric = vs.get("confirmation_by_metric") or {}
        against = (f"Against `corrected`: on the selection split {row(vs.get('selection'))}, "
                   f"confirmed {row(vs.get('confirmation'))}"
                   + (f"; typed-text F1 on TYPE steps {row(by_metric['head_text_f1'])}, tap "
                      f"accuracy on taps {row(by_metric['head_tap_acc'])}"
                      if "head_text_f1" in by_metric and "head_tap_acc" in by_metric else "")
                   if not vs.get("same_design") else "It is the corrected design")
        confirmed = (f" Every choice read the selection split; the path, the final design and "
                     f"`corrected` were then trained on the fresh seeds "
                     f"{', '.join(map(str, confirmation['seeds']))} and scored on the held-out "
                     f"split, in `{search.get('metric', 'step_acc')}`, each kept change's "
                     f"selection estimate beside its confirmation: "
                     + (side_by_side or "no change kept")
                     + f". Final design against `original`, confirmed: "
                     f"{row(confirmation.get('final_against_original'))}. {against}.")
    recommended = ""
    if (folder / "findings.csv").is_file():
        line = next((r["text"] for r in read_csv(folder / "findings.csv")
                     if r.get("text", "").startswith("Recommended: ")), "")
        m = re.match(r"Recommended: (\S+) \(([^)]*)\).*?; (\d+ of \d+ measured designs? "
                     r"(?:is|are) within the margin)", line)
        if m:
            recommended = (f" The report's recommendation rule (the simplest design within the "
                           f"margin of the best on the selection split, over every design the "
                           f"search trained on all its seeds) picks `{m.group(1)}` "
                           f"({m.group(2)}); {m.group(3)}.")
    text = (f"`{timing.get('command', 'n/a')}` on {timing.get('cpu_model') or env.get('cpu_model')}"
            f" ({timing.get('cores') or env.get('cpu_count')} cores): "
            f"{len(search['rounds'])} rounds, the search took "
            f"{fmt_duration(timing.get('grid_seconds'))} and the report "
            f"{fmt_duration(timing.get('report_seconds'))}, "
            f"{fmt_duration(timing.get('total_seconds'))} in all ({how}). "
            f"{'; '.join(steps)}. Leave-one-out "
            + (f"dropped {', '.join(dropped)}" if dropped else
               f"kept all {len(loo)} change(s)" if loo else "had nothing to check")
            + f". Final design: `{search['final']['variant']}`."
            + (confirmed if confirmation else
               " Step accuracy against `corrected`, paired by seed and held-out step: "
               + ("the same design" if vs.get("same_design") else _signed(vs)) + ".")
            + recommended
            + f" Filled in by `scripts/update_example_run.py --search` from `{link_prefix}/` "
            f"([search.json]({link_prefix}/search.json), "
            f"[the path]({link_prefix}/search_path.csv)); do not edit by hand.")
    return textwrap.fill(text, width=96, break_long_words=False, break_on_hyphens=False)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- example-run:{name} -->", f"<!-- /example-run:{name} -->"


def has_block(text: str, name: str) -> bool:
    start, end = _markers(name)
    return start in text or end in text


def replace_blocks(text: str, blocks: dict[str, str],
                   optional: tuple[str, ...] = OPTIONAL_BLOCKS) -> str:
    """``text`` with each block's content between its markers replaced by ``blocks[name]``.
    A block named in ``optional`` whose markers are both absent is left out; any other missing,
    repeated or misordered marker raises :class:`ExampleRunError` naming it."""
    for name, content in blocks.items():
        start, end = _markers(name)
        if name in optional and start not in text and end not in text:
            continue
        for marker in (start, end):
            n = text.count(marker)
            if n != 1:
                raise ExampleRunError(
                    f"README marker {marker!r} found {n} times, expected exactly once")
        i, j = text.index(start), text.index(end)
        if j < i:
            raise ExampleRunError(f"README marker {end!r} comes before {start!r}")
        text = text[:i + len(start)] + "\n" + content.strip("\n") + "\n" + text[j:]
    return text


def extract_blocks(text: str) -> dict[str, str]:
    """Each block's current content (without markers), for the blocks present in ``text``."""
    out = {}
    for m in re.finditer(r"<!-- example-run:([\w-]+) -->\n?(.*?)<!-- /example-run:\1 -->",
                         text, flags=re.S):
        out[m.group(1)] = m.group(2).strip("\n")
    return out


def render_readme(readme_text: str, folder: Path, link_prefix: str = "docs/example-run",
                  search_dir: Path = SEARCH_DIR, search_prefix: str = "docs/example-search") -> str:
    blocks = render_blocks(folder, link_prefix)
    if has_block(readme_text, "search"):
        blocks["search"] = render_search(search_dir, search_prefix)
    if has_block(readme_text, "until-decided"):
        blocks["until-decided"] = render_until_decided(UNTIL_DECIDED_DIR)
    if has_block(readme_text, "calibration"):
        blocks["calibration"] = render_calibration(CALIBRATION_DIR)
    if has_block(readme_text, "aggregators"):
        blocks["aggregators"] = render_aggregators(AGGREGATORS_DIR)
    if has_block(readme_text, "time-check"):
        blocks["time-check"] = render_time_check(folder)
    if has_block(readme_text, "corrections"):
        blocks["corrections"] = render_corrections(CORRECTIONS_DIR)
    if has_block(readme_text, "fuzz"):
        blocks["fuzz"] = render_fuzz(FUZZ_COUNTS)
    return replace_blocks(readme_text, blocks)


# --------------------------------------------------------------------------- copying

def copy_run(out: Path, dest: Path, files=COPIED) -> list[str]:
    """Copy an output folder's ``files`` into ``dest``; a stale optional file (absent from
    ``out``) is removed so the folder describes one run. Returns the names copied."""
    out, dest = Path(out), Path(dest)
    for src, _, required in files:
        if required and not (out / src).is_file():
            what = "--search greedy" if files is SEARCH_COPIED else "--variants all"
            raise ExampleRunError(f"{out / src} is missing: is {out} an output folder of "
                                  f"`python run_ablation.py {what} --out {out}`?")
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for src, name, _ in files:
        if (out / src).is_file():
            shutil.copyfile(out / src, dest / name)
            copied.append(name)
        elif (dest / name).exists():
            (dest / name).unlink()
            print(f"{src} not in {out}: removed the stale {dest / name}")
    return copied


def screenshot(html: Path, png: Path, timeout: float = 180.0) -> bool:
    """A screenshot of ``html`` with Debian's headless chromium; False (and any existing png
    kept) when chromium is not on PATH or fails."""
    chromium = shutil.which("chromium")
    if chromium is None:
        print(f"chromium is not on PATH: no screenshot taken, {png} kept as it was")
        return False
    if not html.is_file():
        print(f"{html} is missing: no screenshot taken, {png} kept as it was")
        return False
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, \
            tempfile.TemporaryDirectory(prefix="screenshot-") as shot_dir:
        shot = Path(shot_dir) / "report.png"
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--window-size=1400,2200", f"--screenshot={shot}",
               f"file://{html.resolve()}"]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"chromium timed out after {timeout:.0f} s: {png} kept as it was")
            return False
        if result.returncode != 0 or not shot.is_file() or shot.stat().st_size == 0:
            print(f"chromium failed (exit {result.returncode}): {png} kept as it was\n"
                  f"{result.stderr[-2000:]}")
            return False
        shutil.copyfile(shot, png)
    print(f"screenshot: {png}")
    return True


# --------------------------------------------------------------------------- command line

def _link_prefix(example_dir: Path, readme: Path) -> str:
    try:
        return Path(example_dir).resolve().relative_to(Path(readme).resolve().parent).as_posix()
    except ValueError:
        return Path(example_dir).resolve().as_posix()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path,
                        help="output folder of `python run_ablation.py --variants all --out OUT`")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--readme-only", action="store_true",
                      help="only regenerate the README's blocks from the example-run folder")
    mode.add_argument("--check", action="store_true",
                      help="exit 1, printing a diff, if the README differs from what would be "
                           "generated")
    parser.add_argument("--search", action="store_true",
                        help="OUT is the output folder of a `--search greedy` run: copy its files "
                             "into docs/example-search/")
    parser.add_argument("--until-decided", action="store_true",
                        help="OUT is the output folder of a `--until-decided` run: copy its "
                             "files into docs/example-until-decided/")
    parser.add_argument("--aggregators", action="store_true",
                        help="OUT is the output folder of a `--variants "
                             "'fixed,corrected,aggregators'` run: copy its files into "
                             "docs/example-aggregators/")
    parser.add_argument("--corrections", action="store_true",
                        help="OUT is the output folder of a `--variants 'corrected,corrected-*'` "
                             "run: measure each correction into docs/corrections/")
    parser.add_argument("--readme", type=Path, default=README, help=argparse.SUPPRESS)
    parser.add_argument("--example-dir", type=Path, default=EXAMPLE_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--search-dir", type=Path, default=SEARCH_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if (args.out is None) == (not (args.readme_only or args.check)):
        parser.error("give either an output folder OUT, or --readme-only, or --check")
    try:
        if args.out is not None and args.search:
            copied = copy_run(args.out, args.search_dir, SEARCH_COPIED)
            print(f"copied into {args.search_dir}: {', '.join(copied)}")
        elif args.out is not None and args.until_decided:
            copied = copy_run(args.out, UNTIL_DECIDED_DIR, UNTIL_DECIDED_COPIED)
            print(f"copied into {UNTIL_DECIDED_DIR}: {', '.join(copied)}")
        elif args.out is not None and args.aggregators:
            copied = copy_run(args.out, AGGREGATORS_DIR, AGGREGATORS_COPIED)
            print(f"copied into {AGGREGATORS_DIR}: {', '.join(copied)}")
        elif args.out is not None and args.corrections:
            copied = copy_run(args.out, CORRECTIONS_DIR, CORRECTIONS_COPIED)
            print(f"copied into {CORRECTIONS_DIR}: {', '.join(copied)}; wrote "
                  f"{write_corrections(args.out)}")
        elif args.out is not None:
            copied = copy_run(args.out, args.example_dir)
            print(f"copied into {args.example_dir}: {', '.join(copied)}")
            screenshot(args.out / "index.html", args.example_dir / SCREENSHOT)
        current = args.readme.read_text(encoding="utf-8")
        wanted = render_readme(current, args.example_dir,
                               _link_prefix(args.example_dir, args.readme), args.search_dir,
                               _link_prefix(args.search_dir, args.readme))
    except ExampleRunError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.check:
        if current == wanted:
            print(f"{args.readme} matches {args.example_dir}")
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            current.splitlines(keepends=True), wanted.splitlines(keepends=True),
            fromfile=f"{args.readme} (committed)", tofile=f"{args.readme} (from {args.example_dir})"))
        print(f"\n{args.readme} is stale: run `python scripts/update_example_run.py --readme-only`")
        return 1
    if current != wanted:
        args.readme.write_text(wanted, encoding="utf-8")
        print(f"updated {args.readme}")
    else:
        print(f"{args.readme} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
