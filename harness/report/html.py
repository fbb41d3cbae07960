"""Assemble the report: ``index.html`` (self-contained but for its PNGs, which sit next to it
under ``plots/``), ``plots/*.png`` and ``tables/*.csv``. A pure function of the records.

Every string from data, variant files or errors goes through Jinja2's autoescaping; nothing is
marked safe, so a variant named ``<script>...`` is shown as text.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import jinja2
import pandas as pd

from harness.errors import HarnessInputError
from harness.instruments import registry
from harness.io import atomic_write_csv, atomic_write_text
from harness.schema import describe_precision
from harness.report import corrections, analysis as A
from harness.report.aggregators import aggregators_section
from harness.report.claims import build_claims
from harness.report.findings import build_findings, findings_table, grouped
from harness.report.load import GridRecords, load_records
from harness.report.plots import make_plots
from harness.report.stats import DEFAULT_MARGIN, verdict_rule
from harness.report.tables import effects_for_readers
from harness.results import READ_ERRORS, SEARCH_JSON, first_line

LATEST_BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "latest.csv"
#: The report's own curves, with their headings and where each is listed; the instruments'
#: (:class:`harness.instruments.registry.Plot`) slot in by their own positions.
CURVE_POSITIONS = {"losses": ("Training loss per head", 10), "lr": ("Learning rate", 40),
                   "validation": ("Validation metrics during training", 50)}
#: The report's own tables and where each is listed among all of them (``tables/`` and the
#: "Tables as CSV" line); the instruments' (:class:`harness.instruments.registry.Table`) slot
#: in by their own positions.
TABLE_POSITIONS = {"search_path": 5, "search_confirmation": 6, "corrections": 8,
                   "summary_by_variant": 10,
                   "effects": 20, "aggregators": 25, "clipping": 80, "failed_runs": 100,
                   "zero_lr_spans": 110, "cost": 130, "cost_of_choices": 140,
                   "scheduler_events": 150, "deviations": 170, "findings": 180}
_CSS_CLASS = {"helps": "verdict-helps", "hurts": "verdict-hurts", "crashes": "verdict-crashes",
              "equivalent": "verdict-equivalent", "undecided": "verdict-undecided",
              "diverges": "verdict-diverges", "failed": "status-failed",
              "diverged": "status-diverged", "missing": "status-missing",
              "interrupted": "status-interrupted"}


def _num(value) -> str:
    """Display format: 3 decimals, scientific for very small or large values, n/a for NaN."""
    if value is None or isinstance(value, str):
        return "n/a" if value is None else value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "n/a"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3g}"
    return f"{value:.3f}"


def _rawnum(value) -> str:
    """The exact value for data-value attributes (tests and sorting read these)."""
    if value is None or isinstance(value, str):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return repr(float(value)) if isinstance(value, float) else str(value)


def _py(value):
    """numpy scalars -> Python, so that the template's `is number` works."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False)
    env.filters.update(num=_num, rawnum=_rawnum, py=_py,
                       css_class=lambda value, column: _CSS_CLASS.get(str(value), ""))
    env.tests["number"] = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    return env


def _run_facts(records: GridRecords) -> list[tuple[str, str]]:
    run = records.run
    settings, data, env = run["settings"], run.get("data", {}), run.get("environment", {})
    units = data.get("units", {})
    train = settings["train"]
    mix = ", ".join(f"{k} {v}" for k, v in data.get("action_mix", {}).items())
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)
    return [
        ("data", data.get("source", "?")),
        ("units", f"{units.get('units')} (screen {units.get('screen_size')}), axis order in "
                  f"source {data.get('axis_order_in_source')}"),
        ("size", f"{data.get('episodes')} episodes, {data.get('steps')} steps, split by "
                 f"{data.get('split_by', 'episode')}: {data.get('train_steps')} train / "
                 f"{data.get('val_steps')} validation (the schedulers', every epoch; "
                 f"{data.get('validation', 'its own split')}) / "
                 + (f"{data['selection_steps']} selection ({data.get('selection')}) / "
                    if "selection_steps" in data else "")
                 + f"{data.get('heldout_steps', data.get('val_steps'))} held out (scored at the "
                 f"end); query decoder {data.get('query_steps', 32)} steps"
                 + (f" (from the {data['query_steps_from']})" if "query_steps_from" in data
                    else "")),
        *_data_roles(data),
        ("action mix", mix),
        ("prompts", f"{data.get('tokenizer')}; max length {data.get('max_length')}, mean "
                    f"{data.get('mean_prompt_tokens')} tokens; truncated "
                    f"{data.get('truncated_prompts')}"),
        ("encoder", f"{settings['encoder']}"),
        ("training", f"{train['steps']} steps, batch {train['batch_size']}, AdamW lr "
                     f"{train['lr']}, weight decay {train['weight_decay']}; "
                     f"{describe_precision(train.get('precision', 'fp32'))}; batches padded to "
                     + ("their longest prompt" if train.get("trim_padding", True) else
                        "the maximum length")
                     + ("; bucketed by length" if train.get("bucket_by_length") else "")),
        ("seeds", ", ".join(map(str, settings["seeds"]))),
        ("device", f"{env.get('device')} {env.get('gpu', '')} ({env.get('platform', '')}, "
                   f"{env.get('cpu_count')} CPUs)"),
        ("execution", ", ".join(f"{k} {v}" for k, v in run.get("execution", {}).items())),
        ("versions", f"Python {env.get('python')}; {packages}"),
        ("notes", "; ".join(data.get("notes", [])) or "none"),
    ]


def _data_roles(data: dict) -> list[tuple[str, str]]:
    """The three roles of the data (training, selection, confirmation) and how many selection
    and confirmation goals also occur in training; nothing for records older than the roles."""
    roles = data.get("roles")
    if not roles:
        return []
    facts = [("data roles", "; ".join(f"{name}: {what}" for name, what in roles.items()))]
    goals = data.get("goals")
    if goals:
        facts.append(("goals", f"{goals['training']} in training, {goals['selection']} in "
                               f"selection ({goals['selection_in_training']} also in training), "
                               f"{goals['confirmation']} in confirmation "
                               f"({goals['confirmation_in_training']} also in training)"))
    return facts


def _incomplete(records: GridRecords) -> str:
    counts = records.summary.status.value_counts()
    parts = [f"{counts[s]} run(s) {s}" for s in ("missing", "interrupted") if s in counts]
    return ", ".join(parts)


def _benchmarks(root: Path):
    """Benchmark ratios: ``benchmarks.csv`` next to the records, else the latest ``make bench``
    of this checkout (``benchmarks/results/latest.csv``), if any."""
    for path in (root / "benchmarks.csv", LATEST_BENCHMARKS):
        if path.is_file():
            try:
                return pd.read_csv(path), str(path)
            except READ_ERRORS:       # a courtesy section: a damaged file leaves it out
                continue
    return None, None


def cost_of_choices(by_variant: pd.Series, effects: pd.DataFrame) -> pd.DataFrame:
    """From the training runs themselves: each choice's step time and FLOPs per step
    (``by_variant``: :func:`flops_by_variant`) over the variant without it."""
    if effects.empty:
        return effects
    rows = []
    for _, e in effects.iterrows():
        f_with, f_without = by_variant.get(e["with_fix"]), by_variant.get(e["without_fix"])
        rows.append({"fix": e["fix"], "direction": e["direction"], "with_fix": e["with_fix"],
                     "without_fix": e["without_fix"], "step time ratio": e["step_time_ratio"],
                     "FLOPs ratio": (f_with / f_without) if f_with and f_without else math.nan})
    return pd.DataFrame(rows)


def build_report(root, margin: float = DEFAULT_MARGIN,
                 multiplicity: str = "bh", warn=None) -> Path:
    """Write ``index.html``, ``plots/`` and ``tables/`` into the output folder ``root``;
    ``margin``: the equivalence margin of the verdicts; ``multiplicity``: the procedure that
    adjusts each family's helps/hurts decisions (:mod:`harness.report.multiplicity`);
    ``warn``: called with one line for each record that could not be read (the report lists
    them too, and counts their runs as missing)."""
    root = Path(root)
    records = load_records(root)
    for line in records.unreadable if warn is not None else ():
        warn(line)
    summary = A.summary_table(records)
    effects = A.effects_table(records, margin, multiplicity)
    measured = A.claim_measurements(records)
    aggregators = aggregators_section(records, margin, multiplicity)
    claims = build_claims(measured, effects)
    findings = build_findings(records, summary, effects, measured, margin)
    deviations = A.deviations_table()
    images = {k: f"plots/{p.name}" for k, p in make_plots(records, effects, summary,
                                                          root / "plots").items()}
    cost_table = summary[["variant", *[c for c in A.COST if c in summary]]].copy()
    flops = A.flops_by_variant(records)
    if not flops.empty:
        cost_table = cost_table.merge(flops.reset_index(), on="variant", how="left")
    try:
        search = A.search_path(records.root)
        search_confirmation = A.search_confirmation(records.root)
    except (*READ_ERRORS, AttributeError) as exc:     # a damaged search.json
        raise HarnessInputError(f"{records.root / SEARCH_JSON}: unreadable ({first_line(exc)}); "
                                "the report of a search needs it") from None
    corrections, corrections_source = correction_evidence(records, effects)
    tables = _listed({
        **({"corrections": corrections} if corrections is not None else {}),
        **({"search_path": search} if search is not None else {}),
        **({"search_confirmation": search_confirmation}
           if search_confirmation is not None else {}),
        "summary_by_variant": summary, "effects": effects, "failed_runs": A.failed_runs(records),
        "cost": cost_table, "cost_of_choices": cost_of_choices(flops, effects),
        "deviations": deviations, "findings": findings_table(findings),
        **({"aggregators": aggregators["table"]} if not aggregators["table"].empty else {}),
        **measured})
    for name, table in tables.items():
        atomic_write_csv(root / "tables" / name, table)
    benchmarks, benchmarks_source = _benchmarks(root)
    settings = records.run["settings"]
    html = _environment().get_template("template.html.j2").render(
        title=str(records.run.get("data", {}).get("source", root.name)),
        n_variants=len(records.variant_names()), seeds=settings["seeds"],
        steps=settings["train"]["steps"], device=settings["device"],
        generated=time.strftime("%Y-%m-%d %H:%M", time.localtime(
            records.run.get("written", time.time()))),
        incomplete=_incomplete(records), unreadable=records.unreadable,
        run_facts=_run_facts(records),
        command=records.run.get("command", ""),
        metrics=[*A.METRICS.items(), *A.HEAD_METRICS.items()], cost=list(A.COST.items()),
        summary=summary.to_dict("records"), best=A.best_variants(summary),
        baselines=records.run.get("baselines", {}), verdict_rule=verdict_rule(margin, multiplicity),
        effects=effects_for_readers(effects), claims=claims, images=images, curves=_curves(),
        aggregators={**aggregators, "primary": effects_for_readers(aggregators["table"])},
        cost_table=cost_table, cost_choices=tables["cost_of_choices.csv"],
        benchmarks=benchmarks, benchmarks_source=benchmarks_source,
        failed=tables["failed_runs.csv"],
        errors=sorted((f"{v} seed{s}", text) for (v, s), text in records.errors.items()),
        nonfinite=tables["nonfinite.csv"], zero_lr=tables["zero_lr_spans.csv"],
        zero_grad=tables["zero_gradient_groups.csv"], tables=list(tables),
        more=[(t.caption, name, measured[name]) for name, t in registry.tables().items()
              if t.caption],
        findings=grouped(findings), scheduler=_scheduler_for_display(measured["scheduler_events"]),
        margin=margin, literal=measured["literal_checks"], deviations=deviations,
        search=search, search_final=A.search_final(records.root),
        search_confirmation=search_confirmation, corrections=corrections,
        corrections_source=corrections_source)
    atomic_write_text(root / "index.html", html)
    return root / "index.html"


def correction_evidence(records: GridRecords, effects: pd.DataFrame):
    """Why each correction of the corrected design, and the source of the numbers: measured in
    this run when it holds ``corrected-*`` (with this run's confirmation verdict of corrected
    against each), else the committed table of ``docs/corrections`` when the run holds
    ``corrected`` and this is a checkout that has it; (None, None) otherwise."""
    names = set(records.variant_names())
    if "corrected" not in names:
        return None, None
    table = corrections.measure(records)
    source = "this run"
    if table.empty:
        table = corrections.read_committed()
        if table is None:
            return None, None
        source = "the committed run in docs/corrections/ of this checkout"
    out = pd.DataFrame({"correction": table.correction, "axis": table.axis,
                        "change": table.fixed_value.astype(str) + " -> "
                        + table.corrected_value.astype(str),
                        "selection split says": [corrections.support(r)
                                                 for r in table.to_dict("records")],
                        "why (selection split)": [corrections.evidence(r)
                                                  for r in table.to_dict("records")]})
    if source == "this run" and "with_fix" in effects:
        mine = effects[effects.with_fix == "corrected"].set_index("without_fix")
        out["confirmation (held-out step accuracy: verdict, 95% interval)"] = [
            f"{mine.loc[a, 'verdict']}, {mine.loc[a, 'd_step_acc']:+.3f} "
            f"[{mine.loc[a, 'd_step_acc_low']:+.3f}, {mine.loc[a, 'd_step_acc_high']:+.3f}]"
            if a in mine.index else "n/a" for a in table.ablation]
    return out, source


def _listed(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The report's tables by file name, in listing order: its own and every instrument's."""
    positions = dict(TABLE_POSITIONS)
    for name, table in registry.tables().items():
        if name in positions:
            raise registry.InstrumentRegistryError(
                f"an instrument's table is named {name!r}, as one of the report's own")
        positions[name] = table.position
    order = sorted(frames, key=lambda name: positions[name])   # stable: ties keep their order
    return {f"{name}.csv": frames[name] for name in order}


def _curves() -> list[tuple[str, str]]:
    """(plot name, heading) of the Curves section, in listing order."""
    listed = {name: (caption, position) for name, (caption, position) in CURVE_POSITIONS.items()}
    listed.update({name: (plot.caption, plot.position)
                   for name, plot in registry.plots().items() if plot.caption})
    return [(name, caption) for name, (caption, _) in
            sorted(listed.items(), key=lambda item: item[1][1])]


def _scheduler_for_display(events: pd.DataFrame) -> pd.DataFrame:
    """Plateau cuts first (the events a reader looks for), then the warmup's steps."""
    if events.empty:
        return events
    cuts = events[events.scheduler == "ReduceLROnPlateau"]
    return pd.concat([cuts, events[events.scheduler != "ReduceLROnPlateau"]],
                     ignore_index=True)

