"""The budget study's figures, from the snapshots' records and the claims per budget
(report/budget.py): learning curves (IS, reconstruction, label agreement against the training
step, per variant and λ, mean ± std over seeds) and each claim's effect with its interval against
the budget. Pure: the tables in, PNG and PDF out (matplotlib, no torch)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from ijae.metrics import keys as K
from ijae.report.budget import MEASURES, checked
from ijae.report.figures import COLOURS
from ijae.report.plotting import caption, pyplot, save
from ijae.report.records import run_summary, variant_name

MEASURE_LABELS = {K.KEY_METRIC_IS_MEAN: "IS ↑", K.KEY_METRIC_RECON_MEAN: "reconstruction ↓",
                  K.KEY_METRIC_RECON_LABEL_AGREEMENT: "label agreement ↑"}
LINESTYLES = ("-", "--", ":", "-.")


def learning_curves(metrics: pd.DataFrame, out: str | Path) -> Path:
    """A row per dataset, a column per measure; a line per variant and λ (colour: variant, line
    style: λ), each point the mean over seeds with ± one std."""
    metrics = checked(metrics)
    runs = metrics[metrics[K.KEY_MODEL] == "ijae"]
    datasets = sorted(runs[K.KEY_DATASET].unique())
    measures = [m for m in MEASURES if m in runs.columns and runs[m].notna().any()]
    plt = pyplot()
    fig, axes = plt.subplots(len(datasets), len(measures), squeeze=False,
                             figsize=(4.6 * len(measures), 3.6 * len(datasets)))
    lams = sorted(runs[K.KEY_LAMBDA].unique())
    for i, dataset in enumerate(datasets):
        part = runs[runs[K.KEY_DATASET] == dataset]
        for j, measure in enumerate(measures):
            ax = axes[i][j]
            for (variant, lam), curve in part.groupby([K.KEY_VARIANT, K.KEY_LAMBDA], sort=True):
                stats = curve.groupby(K.KEY_TRAIN_STEP)[measure].agg(["mean", "std"]).reset_index()
                ax.errorbar(stats[K.KEY_TRAIN_STEP], stats["mean"], yerr=stats["std"].fillna(0),
                            color=COLOURS.get(variant, "tab:purple"), capsize=3, marker="o", ms=4,
                            linestyle=LINESTYLES[lams.index(lam) % len(LINESTYLES)],
                            label=f"{variant_name(variant)}, λ = {lam:g}")
            ax.set_xscale("log", base=2)
            steps = sorted(part[K.KEY_TRAIN_STEP].unique())
            ax.set_xticks(steps, [str(s) for s in steps])
            ax.set_xlabel("training step")
            ax.set_ylabel(MEASURE_LABELS.get(measure, measure))
            ax.set_title(f"{dataset}: {MEASURE_LABELS.get(measure, measure)}")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    caption(fig, ["Each point: the mean over seeds of the run's snapshot at that step (one long run "
                  "per seed, train.snapshot_steps), bars ± one std over seeds.",
                  "Run: " + run_summary(metrics)])
    return save(fig, out)


def claims_against_budget(table: pd.DataFrame, metrics: pd.DataFrame, out: str | Path,
                          confidence: float = 0.95) -> Path:
    """A panel per claim and dataset: the effect at each budget with its t interval, 0 dashed,
    the verdict above each point."""
    keys = list(dict.fromkeys(zip(table["dataset"], table["claim"])))
    cols = min(3, len(keys))
    rows = int(np.ceil(len(keys) / cols))
    plt = pyplot()
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(4.8 * cols, 3.2 * rows))
    for ax, (dataset, claim) in zip(axes.flat, keys):
        part = table[(table["dataset"] == dataset) & (table["claim"] == claim)].sort_values("steps")
        x = np.arange(len(part))
        effect = part["effect"].to_numpy(float)
        low = effect - part["effect_low"].to_numpy(float)
        high = part["effect_high"].to_numpy(float) - effect
        ax.errorbar(x, effect, yerr=[np.nan_to_num(low), np.nan_to_num(high)], fmt="o", capsize=4,
                    color="tab:red")
        ax.axhline(0, color="0.4", lw=0.8, ls="--")
        for xi, yi, verdict in zip(x, effect, part["verdict"]):
            ax.annotate(verdict.replace(" at this budget", ""), (xi, yi), textcoords="offset points",
                        xytext=(6, 4), fontsize=7)
        ax.set_xticks(x, list(part["budget"]))
        ax.set_xlim(-0.5, len(part) - 0.3)
        ax.set_title(textwrap.fill(f"{dataset}: {claim}", 48), fontsize=8)
        ax.set_ylabel("effect", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    fig.tight_layout()
    caption(fig, [f"Effect and {confidence:.0%} t interval over seeds at each budget, by the rule of claims.md "
                  "(a slope per unit λ, or a hypervolume difference for dominance).",
                  "Run: " + run_summary(metrics)])
    return save(fig, out)
