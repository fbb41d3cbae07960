"""The report's figures (matplotlib, Agg backend, PNG). Curves are means over seeds; each
figure splits variants into the two directions of the ablation so that twenty lines never share
one panel."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.instruments import registry  # noqa: E402
from harness.io import atomic_write_file  # noqa: E402
from harness.report.load import GridRecords  # noqa: E402
from harness.schema import LOSS_TERMS, LR, loss_key, val_key  # noqa: E402

DPI = 110
#: Curves with fewer points than this are drawn with a marker at each point.
SPARSE_POINTS = 10


def panels(records: GridRecords) -> list[tuple[str, list[str]]]:
    """Variants split by direction: the original and what is added to it, the fixed design and
    what is removed from it, and anything else (user variants)."""
    names = records.variant_names()
    from_original = [n for n in names if n.startswith("original")]
    from_fixed = [n for n in names if n.startswith("fixed")]
    others = [n for n in names if n not in from_original and n not in from_fixed]
    out = [("original and single fixes", from_original), ("fixed and single removals", from_fixed)]
    if others:
        out.append(("other variants", others))
    return [(title, group) for title, group in out if group]


def colors(names: list[str]) -> dict[str, tuple]:
    palette = plt.get_cmap("tab20").colors
    out, i = {}, 0
    for name in names:
        if name == "original":
            out[name] = (0.0, 0.0, 0.0, 1.0)
        elif name == "fixed":
            out[name] = (0.85, 0.1, 0.1, 1.0)
        else:
            out[name] = palette[i % len(palette)]
            i += 1
    return out


def _curve(records: GridRecords, variant: str, metric: str, smooth: int) -> pd.Series:
    frame = records.step_values(variant, metric)
    if frame.empty:
        return pd.Series(dtype=float)
    mean = frame.groupby("step")["value"].mean().sort_index()
    return mean.rolling(smooth, min_periods=1).mean() if smooth > 1 else mean


def _wide_positive_range(ax) -> bool:
    """Log scale only pays off when the values span more than an order of magnitude."""
    values = np.concatenate([line.get_ydata() for line in ax.get_lines()] or [np.zeros(0)])
    values = values[np.isfinite(values) & (values > 0)]
    return len(values) > 0 and values.max() / values.min() > 20


def _save(fig, path: Path) -> Path:
    """Write through a temporary file and a rename, so a kill never leaves half a PNG."""
    try:
        atomic_write_file(path, lambda tmp: fig.savefig(tmp, dpi=DPI, bbox_inches="tight",
                                                         format="png"))
    finally:
        plt.close(fig)
    return path


def curve_grid(records: GridRecords, metrics: list[tuple[str, str]], path: Path, *,
               log: bool = False, smooth: int = 1, ylim=None, suptitle: str = "") -> Path | None:
    """Rows: metrics; columns: the directions of the ablation; lines: variants."""
    groups = panels(records)
    if not groups or not metrics:
        return None
    palette = colors(records.variant_names())
    fig, axes = plt.subplots(len(metrics), len(groups), squeeze=False, sharex=True,
                             figsize=(5.2 * len(groups), 2.1 * len(metrics) + 1.6),
                             layout="constrained")
    drawn = False
    for col, (title, names) in enumerate(groups):
        for row, (metric, label) in enumerate(metrics):
            ax = axes[row][col]
            for name in names:
                curve = _curve(records, name, metric, smooth)
                values = curve[np.isfinite(curve.to_numpy(dtype=float))]
                if log:
                    values = values[values > 0]
                if len(values):
                    # a sparse curve (the probe steps of a short run: maybe one point) shows its
                    # points; a single point drawn as a line is invisible
                    marker = "o" if len(values) < SPARSE_POINTS else None
                    ax.plot(values.index, values.to_numpy(), lw=1.3 if name in ("original", "fixed") else 0.9,
                            color=palette[name], label=name, marker=marker, ms=3.5)
                    drawn = True
            if log and _wide_positive_range(ax):
                ax.set_yscale("log")
            if ylim:
                ax.set_ylim(*ylim)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(title, fontsize=10)
            if col == 0:
                ax.set_ylabel(label, fontsize=9)
            if row == len(metrics) - 1:
                ax.set_xlabel("step", fontsize=9)
        handles, labels = axes[0][col].get_legend_handles_labels()
        for ax in axes[:, col]:
            if len(ax.get_legend_handles_labels()[0]) > len(handles):
                handles, labels = ax.get_legend_handles_labels()
        axes[-1][col].legend(handles, labels, fontsize=6.5, loc="upper center",
                             bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    if not drawn:
        plt.close(fig)
        return None
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return _save(fig, path)


def bars(table: pd.DataFrame, columns: list[tuple[str, str]], path: Path) -> Path | None:
    """Horizontal bars per variant, one panel per column."""
    columns = [(c, label) for c, label in columns
               if c in table.columns and table[c].notna().any()]
    if table.empty or not columns:
        return None
    fig, axes = plt.subplots(1, len(columns), figsize=(3.6 * len(columns), 0.26 * len(table) + 1.2),
                             sharey=True, squeeze=False)
    palette = colors(list(table.variant))
    y = np.arange(len(table))
    for ax, (column, label) in zip(axes[0], columns):
        ax.barh(y, table[column].fillna(0).to_numpy(), color=[palette[v] for v in table.variant])
        ax.set_title(label, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(y, table.variant, fontsize=7)
    axes[0][0].invert_yaxis()
    fig.tight_layout()
    return _save(fig, path)


def effects_forest(effects: pd.DataFrame, metric: str, label: str, path: Path) -> Path | None:
    """Mean paired difference and its 95% interval for each fix and direction."""
    if effects.empty or f"d_{metric}" not in effects:
        return None
    rows = effects.reset_index(drop=True)
    # drawn beside the table, at about 460 px wide: a narrow figure, so its text stays legible
    fig, ax = plt.subplots(figsize=(5.2, 0.32 * len(rows) + 1.2))
    y = np.arange(len(rows))
    mean = rows[f"d_{metric}"].to_numpy(dtype=float)
    low = rows[f"d_{metric}_low"].to_numpy(dtype=float)
    high = rows[f"d_{metric}_high"].to_numpy(dtype=float)
    color = np.where(np.isfinite(low) & (low > 0), "tab:green",
                     np.where(np.isfinite(high) & (high < 0), "tab:red", "tab:gray"))
    for i in range(len(rows)):
        if np.isfinite(low[i]) and np.isfinite(high[i]):
            ax.plot([low[i], high[i]], [y[i], y[i]], color=color[i], lw=2)
        if np.isfinite(mean[i]):
            ax.plot(mean[i], y[i], "o", color=color[i])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{f} ({d})" for f, d in zip(rows.fix, rows.direction)], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(f"change in {label} with the fix (paired by seed, 95% interval)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def smoothing(records: GridRecords) -> int:
    """Rolling window of the noisy per-step curves: about 40 points per run."""
    return max(1, int(records.run["settings"]["train"]["steps"]) // 40)


def make_plots(records: GridRecords, effects: pd.DataFrame, summary: pd.DataFrame,
               folder: Path) -> dict[str, Path]:
    """The report's own figures and every registered instrument's, by name (each write
    makes the folder)."""
    smooth = smoothing(records)
    made = {
        "losses": curve_grid(records, [(loss_key(h), f"{h} loss") for h in LOSS_TERMS],
                             folder / "losses.png", log=True, smooth=smooth,
                             suptitle="training loss per head (log scale, smoothed)"),
        "validation": curve_grid(records, [(val_key("step_acc"), "step accuracy"),
                                           (val_key("action_acc"), "action accuracy"),
                                           (val_key("tap_acc"), "tap accuracy"),
                                           (val_key("text_f1"), "typed text F1")],
                                 folder / "validation.png", ylim=(-0.02, 1.02),
                                 suptitle="validation metrics during training (the "
                                          "validation split, not the held-out one)"),
        "lr": curve_grid(records, [(LR, "learning rate")], folder / "lr.png",
                         suptitle="learning rate used at each step"),
        "cost": bars(summary, [("step_time_s", "step time (s)"), ("samples_per_s", "samples/s"),
                               ("peak_memory_mb", "peak memory (MB)")], folder / "cost.png"),
        "effects": effects_forest(effects, "step_acc", "step accuracy", folder / "effects.png"),
    }
    for name, plot in registry.plots().items():
        if name in made:
            raise registry.InstrumentRegistryError(
                f"an instrument's plot is named {name!r}, as one of the report's own")
        made[name] = draw_declared(records, plot, folder / f"{name}.png")
    return {k: v for k, v in made.items() if v is not None}


def draw_declared(records: GridRecords, plot: registry.Plot, path: Path) -> Path | None:
    """An instrument's declared curves (:class:`harness.instruments.registry.Plot`)."""
    return curve_grid(records, list(plot.curves), path, log=plot.log,
                      smooth=smoothing(records) if plot.smooth else 1, ylim=plot.ylim,
                      suptitle=plot.title)


__all__ = ["make_plots", "curve_grid", "draw_declared"]
