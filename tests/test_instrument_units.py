"""An instrument is one unit: declared and registered in one place, it reaches the step
records, the summary and the report without a change anywhere else; its declaration is
readable without torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import variants
from harness.config import DataSettings, Settings
from harness.encoders import resolve_encoder
from harness.instruments import registry
from harness.instruments.hooks import InstrumentHooks
from harness.instruments.registry import Instrument, InstrumentRegistryError, Table
from harness.instruments.suite import Instruments, hooks_class
from harness.prepare import encode_dataset
from harness.report import build_report
from harness.runner import run_grid
from harness.train import TrainSettings
from tests.conftest import TINY_ENCODER, toy_dataset

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = Settings(data=DataSettings(vocab_size=200, max_length=32),
                    train=TrainSettings(steps=3, batch_size=8), encoder=TINY_ENCODER,
                    seeds=(0,), device="cpu")

# ----------------------------------------------------------------------- a toy instrument

TOY_KEY = "toy/rows"


class ToyHooks(InstrumentHooks):
    def on_step_start(self, run, step, batch) -> None:
        run.records.add(step, TOY_KEY, float(batch["input_ids"].shape[0]))


def toy_summary(steps, facts):
    if steps is None or steps.empty:
        return {}
    return {"toy_rows": float(steps.loc[steps.metric == TOY_KEY, "value"].mean())}


def toy_table(records) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v,
                          "rows per step": float(records.step_values(v, TOY_KEY)["value"].mean())}
                         for v in records.variant_names()])


TOY = Instrument(name="toy", doc="Rows per batch.", hooks=f"{__name__}:ToyHooks",
                 keys=(TOY_KEY,), summary=toy_summary,
                 tables={"toy": Table(toy_table, position=175, caption="Rows per batch")})


@pytest.fixture
def toy():
    registry.register(TOY)
    yield TOY
    registry.unregister(TOY.name)


def test_a_registered_instrument_reaches_records_summary_and_report(toy, tmp_path):
    data = encode_dataset(toy_dataset(), SETTINGS.data, resolve_encoder(TINY_ENCODER))
    run_grid(SETTINGS, [variants.get_variant("fixed")], tmp_path, show_progress=False,
             data=data)
    steps = pd.read_csv(tmp_path / "runs/fixed/seed0/steps.csv")
    assert list(steps[steps.metric == TOY_KEY].value) == [8.0] * SETTINGS.train.steps
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary.toy_rows) == [8.0]

    build_report(tmp_path)
    table = pd.read_csv(tmp_path / "tables/toy.csv")
    assert table.to_dict("records") == [{"variant": "fixed", "rows per step": 8.0}]
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<h3>Rows per batch</h3>" in page and 'href="tables/toy.csv"' in page
    # listed by its position: after the deviations (170), before the findings (180)
    links = [line for line in page.splitlines() if "Tables as CSV" in line][0]
    assert links.index("deviations.csv") < links.index("toy.csv") < links.index("findings.csv")

    # every key the run wrote is declared by the instrument that writes it
    undeclared = sorted(k for k in set(steps.metric) if registry.writer_of(k) is None)
    assert undeclared == []
    assert registry.writer_of(TOY_KEY) is TOY


def test_without_registration_the_toy_is_absent():
    assert "toy" not in {i.name for i in registry.instruments()}
    assert not any(isinstance(h, ToyHooks) for h in Instruments().hooks)


def test_a_second_instrument_of_one_name_is_refused(toy):
    with pytest.raises(InstrumentRegistryError, match="'toy' is already registered"):
        registry.register(TOY)


@pytest.mark.parametrize("clash,message", [
    (dict(tables={"routing": Table(toy_table, position=1)}), "table 'routing'.*'routing'"),
    (dict(keys=("grad_norm/encoder",)), "record key 'grad_norm/encoder'.*'grad_norms'"),
    (dict(facts=("target_range_audit",)), "fact 'target_range_audit'.*'target_range'"),
])
def test_a_name_another_instrument_has_is_refused(clash, message):
    with pytest.raises(InstrumentRegistryError, match=message):
        registry.register(Instrument(name="copycat", doc="", **clash))
    assert "copycat" not in {i.name for i in registry.instruments()}


def test_unknown_names_and_bad_hooks_are_named():
    with pytest.raises(InstrumentRegistryError, match="no instrument named 'nope'"):
        registry.get("nope")
    with pytest.raises(InstrumentRegistryError, match="'module:Class'"):
        Instrument(name="x", doc="", hooks="harness.instruments.cost.hooks.CostHooks")
    with pytest.raises(InstrumentRegistryError, match="not an InstrumentHooks class"):
        hooks_class(Instrument(name="x", doc="", hooks="harness.train:Hooks"))


def test_every_declared_hooks_class_is_an_instrument_hooks_class():
    for instrument in registry.instruments():
        if instrument.hooks is not None:
            assert issubclass(hooks_class(instrument), InstrumentHooks), instrument.name


def test_declarations_and_summary_rows_need_no_torch():
    """The summary (harness.results) and the report read the declarations on machines that
    cannot train: the registry, every declaration and every summary run with torch blocked."""
    script = textwrap.dedent("""
        import json, sys
        sys.modules["torch"] = None          # any import of torch now raises
        import pandas as pd
        from harness.instruments import InstrumentSettings, registry
        from harness.results import summary_row
        names = [i.name for i in registry.instruments()]
        steps = pd.DataFrame({"step": [0, 1, 2], "metric": ["step_time_s"] * 3,
                              "value": [9.0, 1.0, 3.0]})
        facts = {"nonfinite_counts": {"query:skipped": 2}, "flops_per_step": 10,
                 "backward_agreement": {"max_abs_diff": 0.5, "rel_diff": 0.1}}
        row = summary_row({"status": "ok", "facts": facts}, steps)
        empty = registry.summary_columns(None, {})
        print(json.dumps({"names": names, "row": row, "empty": empty,
                          "tables": list(registry.tables()), "plots": list(registry.plots()),
                          "settings": InstrumentSettings().probe_every}))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["names"] == [module.rsplit(".", 1)[1] for module in registry.BUILTIN]
    row = out["row"]
    assert row["step_time_s"] == 2.0          # median after step 0
    assert row["nonfinite_losses"] == 2 and row["flops_per_step"] == 10
    assert row["backward_rel_diff"] == 0.1 and row["mfu"] is None
    assert out["empty"]["nonfinite_losses"] == 0
    assert "head_conflict" in out["tables"] and "grad_norms" in out["plots"]
