"""Mode-seeking against mass-covering, measured: precision, recall, modes covered and the mode KL
against λ for λ-IJAE and its explicit ablations λ-IJAE-L1 / -L2, the other models as horizontal
reference lines; a column of panels per dataset, a row per measure.

The theory (the paper's Figure 1): small λ is mode-seeking (reverse KL: precise samples, missed
modes), large λ mass-covering (forward KL: every mode, blurrier samples), so recall and the modes
covered should rise, and precision and the mode KL fall, with λ. Modes (digits backend): the 10
classes of digits (covered: at least 1 % of the samples; KL to the test split's histogram), the
1,000 channel triples of stacked digits (covered: at least 1 sample; KL to uniform). Points are
means over seeds, bars their standard deviation (ddof 1) where there are several.

Pure: pandas and matplotlib on the metric records (metrics.csv) alone, no torch, no registry.
"""
from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from ijae import UserError
from ijae.contract import atomic_write_bytes, atomic_write_text
from ijae.metrics.keys import (KEY_BACKEND, KEY_DATASET, KEY_IMPLEMENTATION, KEY_LABEL,
                               KEY_LAMBDA, KEY_METRIC_MODE_KL, KEY_METRIC_MODES_COVERED,
                               KEY_METRIC_PRECISION, KEY_METRIC_RECALL, KEY_MODEL,
                               KEY_MODES_COVERED_RULE, KEY_N_MODES, KEY_PRC_NEIGHBORHOOD,
                               KEY_SEED, KEY_VARIANT)
from ijae.report.records import END_NOTES, SUFFIX, read_metrics, variant_name

COVERAGE = "modes_covered_share"   # modes covered / modes: on the [0, 1] axis of the others
ACCEPTED = "modes_covered_accepted_share"   # the same over the samples accepted as digits
MEASURES = {KEY_METRIC_PRECISION: "precision ↑ (share of samples on the data manifold)",
            KEY_METRIC_RECALL: "recall ↑ (share of real images the samples cover)",
            "coverage": "coverage ↑ (calibrated: share of real images with a sample near)",
            COVERAGE: "modes covered ↑ (share of the modes)",
            ACCEPTED: "modes, accepted ↑ (calibrated: over samples that are digits)",
            KEY_METRIC_MODE_KL: "mode KL ↓ (nats, to the reference)"}
SHARES = (KEY_METRIC_PRECISION, KEY_METRIC_RECALL, "coverage", COVERAGE, ACCEPTED)   # on [0, 1]
REQUIRED = (KEY_DATASET, KEY_MODEL, KEY_VARIANT, KEY_LAMBDA, KEY_SEED, KEY_LABEL,
            KEY_METRIC_PRECISION, KEY_METRIC_RECALL)
POINT_COLUMNS = ("dataset", "method", "variant", "lambda", "measure", "mean", "std", "n_seeds")


def read(path: str | Path) -> pd.DataFrame:
    return read_metrics(path, REQUIRED)


def _method(row) -> str:
    if row[KEY_MODEL] == "ijae":
        return variant_name(row[KEY_VARIANT])
    return str(row[KEY_LABEL]) + SUFFIX.get(row.get(KEY_IMPLEMENTATION), "")


def points(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method, λ, measure): mean and std over seeds (POINT_COLUMNS).
    Baselines have no λ (NaN); modes covered and mode KL only where the records carry them."""
    metrics = metrics.copy()
    metrics["method"] = metrics.apply(_method, axis=1)
    metrics[KEY_VARIANT] = metrics[KEY_VARIANT].where(metrics[KEY_MODEL] == "ijae")
    metrics[KEY_LAMBDA] = metrics[KEY_LAMBDA].where(metrics[KEY_MODEL] == "ijae")
    for share, count in ((COVERAGE, KEY_METRIC_MODES_COVERED),
                         (ACCEPTED, "modes_covered_accepted")):
        metrics[share] = (metrics[count] / metrics[KEY_N_MODES]
                          if count in metrics.columns and KEY_N_MODES in metrics.columns else np.nan)
    for key in (KEY_METRIC_MODE_KL, "coverage"):
        if key not in metrics.columns:
            metrics[key] = np.nan
    long = metrics.melt(id_vars=[KEY_DATASET, "method", KEY_VARIANT, KEY_LAMBDA, KEY_SEED],
                        value_vars=list(MEASURES), var_name="measure").dropna(subset=["value"])
    keys = [KEY_DATASET, "method", KEY_VARIANT, KEY_LAMBDA, "measure"]
    out = long.groupby(keys, dropna=False)["value"].agg(["mean", "std", "count"]).reset_index()
    out = out.rename(columns={KEY_DATASET: "dataset", KEY_VARIANT: "variant",
                              KEY_LAMBDA: "lambda", "count": "n_seeds"})
    return out[list(POINT_COLUMNS)].sort_values(["dataset", "measure", "method", "lambda"],
                                                ignore_index=True)


def trend(table: pd.DataFrame, dataset: str, method: str, measure: str) -> float | None:
    """Spearman rank correlation of a measure with λ for one variant (None: under 3 λ values)."""
    part = table[(table["dataset"] == dataset) & (table["method"] == method)
                 & (table["measure"] == measure)].dropna(subset=["lambda"])
    if part["lambda"].nunique() < 3 or part["mean"].nunique() < 2:
        return None
    return float(part["lambda"].rank().corr(part["mean"].rank()))


def trend_sentences(table: pd.DataFrame) -> list[str]:
    """What the figure shows, in words: for each dataset and variant, how each measure moves
    with λ (Spearman rank correlation; 'rises' / 'falls' from |rho| >= 0.5)."""
    lines = []
    ablations = table.dropna(subset=["lambda"])
    for (dataset, method), _ in ablations.groupby(["dataset", "method"]):
        words = []
        for measure in MEASURES:
            rho = trend(table, dataset, method, measure)
            if rho is not None:
                move = "rises" if rho >= 0.5 else "falls" if rho <= -0.5 else "has no clear trend"
                words.append(f"{measure.replace('_', ' ')} {move} with λ (ρ = {rho:+.2f})")
        if words:
            lines.append(f"{dataset}, {method}: " + "; ".join(words))
    return lines


def _panel_title(records: pd.DataFrame, dataset: str) -> str:
    """The dataset, its features, its modes and when one counts as covered (from the records)."""
    title = f"{dataset} ({records[KEY_BACKEND].iloc[0]} features)"
    if KEY_N_MODES in records.columns and records[KEY_N_MODES].notna().any():
        title += f"\n{int(records[KEY_N_MODES].dropna().iloc[0])} modes"
        if KEY_MODES_COVERED_RULE in records.columns and records[KEY_MODES_COVERED_RULE].notna().any():
            title += f", covered with {records[KEY_MODES_COVERED_RULE].dropna().iloc[0]}"
    return title


def plot(metrics_csv: str | Path, out_dir: str | Path) -> Path:
    """Write OUT_DIR/modes.png, modes.pdf and modes.csv (the plotted points); returns the PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = read(metrics_csv)
    table = points(metrics)
    if table.empty:
        raise UserError(f"{metrics_csv}: no record has precision and recall")
    datasets = sorted(table["dataset"].unique())
    measures = [m for m in MEASURES if (table["measure"] == m).any()]
    fig, axes = plt.subplots(len(measures), len(datasets), squeeze=False,
                             figsize=(max(4.6 * len(datasets), 8.0), 2.6 * len(measures) + 1.6))
    methods = list(dict.fromkeys(table["method"]))
    colours = dict(zip(methods, plt.get_cmap("tab10").colors * 2))
    labelled_rows = set()
    for col, dataset in enumerate(datasets):
        shown = [m for m in measures
                 if ((table["dataset"] == dataset) & (table["measure"] == m)).any()]
        for row, measure in enumerate(measures):
            ax = axes[row, col]
            part = table[(table["dataset"] == dataset) & (table["measure"] == measure)]
            if part.empty:   # e.g. modes off the digits backend
                ax.set_axis_off()
                continue
            for method, line in part.groupby("method", sort=False):
                if line["lambda"].notna().any():    # λ-IJAE and its ablations across λ
                    line = line.sort_values("lambda")
                    ax.errorbar(line["lambda"], line["mean"], yerr=line["std"].fillna(0),
                                marker="o", ms=4, capsize=2, color=colours[method], label=method)
                else:                               # a baseline: one value, a reference line
                    ax.axhline(line["mean"].iloc[0], ls="--", lw=1, color=colours[method],
                               label=method)
            if measure in SHARES:
                ax.set_ylim(-0.03, 1.03)
            else:
                ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(_panel_title(metrics[metrics[KEY_DATASET] == dataset], dataset),
                             fontsize=9)
            if row not in labelled_rows:
                labelled_rows.add(row)
                ax.set_ylabel(MEASURES[measure].split(" (")[0], fontsize=9)
            if measure == shown[-1]:
                ax.set_xlabel("λ (small: mode-seeking, large: mass-covering)")
    k = metrics[KEY_PRC_NEIGHBORHOOD].dropna().unique() \
        if KEY_PRC_NEIGHBORHOOD in metrics.columns else []
    width, height = fig.get_size_inches()
    title = textwrap.wrap(   # about 15 characters of 8-pt text an inch
        "Precision, recall, coverage, modes covered (all, and over the samples accepted as digits) "
        "and mode KL against λ (dashed: other models; bars: std over seeds; 'calibrated': passes "
        "its known-answer controls, calibration.md). Precision / recall: k-NN balls of k = {', '.join(f'{v:g}' for v in k) or '?'}. "
        + " ".join(f"{note}." for note in END_NOTES.values()), width=int(15 * width))
    fig.suptitle("\n".join(title), fontsize=8)
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    ncol = min(len(handles), 3)
    legend_rows = -(-len(handles) // ncol)
    fig.legend(handles.values(), handles.keys(), loc="lower center", fontsize=8, ncol=ncol,
               frameon=False)
    fig.tight_layout(rect=(0, 0.025 * legend_rows + 0.01, 1, 1 - (0.15 * len(title) + 0.15) / height))
    out = Path(out_dir)
    for suffix in ("png", "pdf"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=suffix, dpi=150)
        atomic_write_bytes(out / f"modes.{suffix}", buffer.getvalue())
    plt.close(fig)
    atomic_write_text(out / "modes.csv", table.to_csv(index=False))
    return out / "modes.png"
