"""The instruments and what each declares, readable without torch.

An instrument is one unit: a package ``harness/instruments/<name>/`` whose ``__init__.py``
declares it (:class:`Instrument`: the record keys and facts it writes, its summary columns,
its report tables and plots) and whose ``hooks.py`` measures (torch, attached to the loop by
:class:`harness.instruments.suite.Instruments`). The summary rows (:mod:`harness.results`) and
the report find every instrument here, so a new one is its own package plus one line in
:data:`BUILTIN`.

The pattern follows the registries of timm and lm-evaluation-harness: a dict filled by
registration, a listing, and an error that names the duplicate or the unknown name. Built-in
instruments are imported on first use, not with this module, because their table and plot
code is read by the report, which this module must not import.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from harness.report.load import GridRecords

#: The built-in instruments, one line each, in the order their hooks attach to the loop: the
#: order matters where two act at the same point (the step timer starts before anything else
#: runs in the step, peak memory is reset before the FLOP count allocates).
BUILTIN = (
    "harness.instruments.loop",
    "harness.instruments.cost",
    "harness.instruments.target_range",
    "harness.instruments.routing",
    "harness.instruments.literal_checks",
    "harness.instruments.head_gradients",
    "harness.instruments.aggregation",
    "harness.instruments.gradient_flow",
    "harness.instruments.grad_norms",
    "harness.instruments.nonfinite",
)


class InstrumentRegistryError(ValueError):
    """Two instruments claim one name, or a name no instrument has."""


@dataclass(frozen=True)
class Table:
    """A table of the report (``tables/<name>.csv``), built from the grid's records."""

    build: Callable[["GridRecords"], pd.DataFrame]
    #: Where the report lists it among all its tables, its own included; those sit at
    #: multiples of 10 (:data:`harness.report.html.TABLE_POSITIONS`).
    position: int
    #: Shown under "More measurements" in index.html when given. None: in tables/ only, or
    #: placed by the report's own sections (the claims, the anomalies).
    caption: str | None = None


@dataclass(frozen=True)
class Plot:
    """A figure of the report (``plots/<name>.png``): curves of per-step records over training,
    one panel per record key, one line per variant. Declared as data, drawn by the report
    (:func:`harness.report.plots.draw_declared`), so a declaration needs no plotting code."""

    curves: tuple[tuple[str, str], ...]      # (record key, panel title)
    title: str
    #: Its heading in the report's curves, listed by ``position`` among the report's own
    #: (:data:`harness.report.html.CURVE_POSITIONS`). None: shown by a claim, not listed.
    caption: str | None = None
    position: int = 0
    log: bool = False                        # log-scale values
    ylim: tuple[float, float] | None = None
    smooth: bool = False                     # a rolling mean (noisy every-step records)


Summary = Callable[[pd.DataFrame | None, dict], dict]


@dataclass(frozen=True)
class Instrument:
    name: str
    doc: str
    #: "module:Class" of its hooks (a :class:`harness.instruments.hooks.InstrumentHooks`),
    #: imported by the suite only, so that reading a declaration never needs torch. None for
    #: a unit that measures nothing itself (the training loop's own records).
    hooks: str | None = None
    #: Per-step record keys it writes (``steps.csv`` metric names); ``*`` stands for a part
    #: that is only known at run time (``val/*``).
    keys: tuple[str, ...] = ()
    #: Keys it writes into a run's facts (``status.json``).
    facts: tuple[str, ...] = ()
    #: (a run's step records, or None when it has none; its facts) -> its summary.csv columns.
    summary: Summary | None = None
    tables: Mapping[str, Table] = field(default_factory=dict)
    plots: Mapping[str, Plot] = field(default_factory=dict)

    def __post_init__(self):
        if self.hooks is not None and self.hooks.count(":") != 1:
            raise InstrumentRegistryError(
                f"instrument {self.name!r}: hooks must be 'module:Class', got {self.hooks!r}")

    def writes(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.keys)


_REGISTRY: dict[str, Instrument] = {}
_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True      # before the imports: register() below comes back here
    try:
        for module in BUILTIN:
            declared = getattr(importlib.import_module(module), "INSTRUMENT", None)
            if not isinstance(declared, Instrument):
                raise InstrumentRegistryError(
                    f"{module} declares no INSTRUMENT = Instrument(...)")
            register(declared)
    except BaseException:
        # a half-filled registry would drop instruments silently; the next call retries
        _REGISTRY.clear()
        _loaded = False
        raise


def register(instrument: Instrument) -> Instrument:
    """Add an instrument after the built-in ones; refuses a name, a table, a plot, a record
    key or a fact that another instrument already has."""
    _load_builtin()
    if instrument.name in _REGISTRY:
        raise InstrumentRegistryError(f"an instrument named {instrument.name!r} is already "
                                      f"registered; registered: {list(_REGISTRY)}")
    for other in _REGISTRY.values():
        for what, mine, theirs in (("table", instrument.tables, other.tables),
                                   ("plot", instrument.plots, other.plots),
                                   ("record key", instrument.keys, other.keys),
                                   ("fact", instrument.facts, other.facts)):
            shared = sorted(set(mine) & set(theirs))
            if shared:
                raise InstrumentRegistryError(
                    f"instrument {instrument.name!r}: {what} {shared[0]!r} is already "
                    f"written by instrument {other.name!r}")
    _REGISTRY[instrument.name] = instrument
    return instrument


def unregister(name: str) -> None:
    _load_builtin()
    _REGISTRY.pop(name, None)


def instruments() -> tuple[Instrument, ...]:
    """Every registered instrument: the built-in ones in :data:`BUILTIN` order, then the rest
    in the order they were registered."""
    _load_builtin()
    return tuple(_REGISTRY.values())


def get(name: str) -> Instrument:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InstrumentRegistryError(f"no instrument named {name!r}; registered: "
                                      f"{list(_REGISTRY)}") from None


def writer_of(key: str) -> Instrument | None:
    """The instrument that declares the per-step record ``key``, or None."""
    return next((i for i in instruments() if i.writes(key)), None)


def summary_columns(steps: pd.DataFrame | None, facts: dict) -> dict:
    """Every instrument's summary columns of one run, in registration order."""
    row: dict = {}
    owner: dict[str, str] = {}
    for instrument in instruments():
        if instrument.summary is None:
            continue
        for column, value in instrument.summary(steps, facts).items():
            if column in owner:
                raise InstrumentRegistryError(
                    f"summary column {column!r} comes from both {owner[column]!r} and "
                    f"{instrument.name!r}")
            owner[column] = instrument.name
            row[column] = value
    return row


def tables() -> dict[str, Table]:
    """Every instrument's report tables by name, in registration order."""
    return {name: table for i in instruments() for name, table in i.tables.items()}


def plots() -> dict[str, Plot]:
    """Every instrument's report plots by name, in registration order."""
    return {name: plot for i in instruments() for name, plot in i.plots.items()}
