"""Trend plot of bandwidth/busbw history, with the pass threshold and regression floor drawn.

matplotlib is an optional extra (`pip install 'dgx-sparkctl[plot]'`), imported only here.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from sparkctl.errors import EnvironmentProblem, InputError
from sparkctl.fileio import atomic_write
from sparkctl.health.regression import DEFAULT_DROP_PCT, DEFAULT_WINDOW
from sparkctl.health.store import HistoryPoint

DEFAULT_PLOT_METRICS = ("rail_bandwidth_gbps", "collective_busbw_gbps")


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise EnvironmentProblem(
            "--plot needs matplotlib, which is not installed",
            hint="install the plot extra: pip install 'dgx-sparkctl[plot]'") from None
    matplotlib.use("Agg")  # files only, no display (cron, CI, ssh sessions)
    import matplotlib.pyplot as plt

    return plt


def plot_trend(points: list[HistoryPoint], path: Path, *,
               thresholds: dict[str, float] | None = None,
               drop_pct: float = DEFAULT_DROP_PCT, window: int = DEFAULT_WINDOW) -> Path:
    if not points:
        raise InputError("nothing to plot: no history for these metrics in this period",
                         hint="widen --since, or run `sparkctl health --probe` first")
    plt = _matplotlib()
    metrics = sorted({p.metric for p in points})
    fig, axes = plt.subplots(len(metrics), 1, figsize=(10, 3.5 * len(metrics)), squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        # one line per cluster and subject: two clusters' spark-1 are two lines
        several = len({p.target for p in points}) > 1
        series: dict[str, list[HistoryPoint]] = defaultdict(list)
        for p in points:
            if p.metric == metric:
                series[f"{p.target}: {p.subject}" if several else p.subject].append(p)
        unit = next((p.unit for p in points if p.metric == metric and p.unit), "")
        for subject, items in sorted(series.items()):
            items = [p for p in items if p.value is not None]  # failed runs have no value
            xs = [datetime.fromtimestamp(p.ts) for p in items]
            ax.plot(xs, [p.value for p in items], marker="o", markersize=3, label=subject)
            recent = [p.value for p in items if p.value is not None][-window:]
            if len(recent) >= 3:
                floor = statistics.median(recent) * (1 - drop_pct / 100)
                ax.axhline(floor, linestyle=":", linewidth=0.8, color="grey")
        if thresholds and metric in thresholds:
            ax.axhline(thresholds[metric], color="red", linestyle="--", linewidth=1,
                       label=f"pass threshold {thresholds[metric]:g}")
        ax.set_title(f"{metric} (dotted: -{drop_pct:g}% of trailing median)")
        ax.set_ylabel(unit or metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="lower left")
    fig.autofmt_xdate()
    fig.tight_layout()
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return atomic_write(path, buffer.getvalue())
