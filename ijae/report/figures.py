"""Figures 2 and 3 of the paper from the metric records: IS against reconstruction distance.

figure2: the ablation, λ-IJAE against λ-IJAE-L1 / -L2 across λ, each variant's non-dominated
front drawn as a step line, the Pareto verdict (report.pareto) printed under the plot.
figure3: the methods, λ-IJAE's λ curve against the baselines' points, a panel per dataset.
Pure: the records in, PNG and PDF out (matplotlib, no torch)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ijae.metrics.keys import (KEY_BACKEND, KEY_DATASET, KEY_GIT_COMMIT,
                               KEY_N_RECONSTRUCTIONS, KEY_N_SAMPLES, KEY_PROFILE,
                               KEY_RECON_METRIC, KEY_SEED)
from ijae.report import pareto
from ijae.report.plotting import caption, pyplot, save, spread_labels
from ijae.report.records import variant_name

COLOURS = {"implicit": "tab:red", "l1": "tab:blue", "l2": "tab:green"}
MARKERS = {"implicit": "o", "l1": "s", "l2": "^"}


def provenance(metrics: pd.DataFrame) -> str:
    """What was run, in one line: profile, backend, samples, seeds, commit (from the records)."""
    def values(key, fmt=str):
        if key not in metrics:
            return "?"
        return ", ".join(sorted({fmt(v) for v in metrics[key].dropna()})) or "?"

    return (f"profile {values(KEY_PROFILE)}; backend {values(KEY_BACKEND)}; "
            f"{values(KEY_N_SAMPLES, lambda v: str(int(v)))} samples, "
            f"{values(KEY_N_RECONSTRUCTIONS, lambda v: str(int(v)))} reconstructions per run; "
            f"seeds {values(KEY_SEED, lambda v: str(int(v)))}; "
            f"commit {values(KEY_GIT_COMMIT, lambda v: str(v)[:10])}")


def _panels(n: int, width: float = 6.0, height: float = 4.6):
    plt = pyplot()
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return fig, list(axes[0])


def _axes_labels(ax, metrics: pd.DataFrame, dataset: str) -> None:
    part = metrics[metrics[KEY_DATASET] == dataset].iloc[0]
    ax.set_xlabel(f"reconstruction: {part[KEY_RECON_METRIC]} ↓")
    ax.set_ylabel(f"IS ↑ ({part[KEY_BACKEND]} backend)")
    ax.set_title(dataset)
    ax.grid(alpha=0.3)


def _sweep(ax, points: pd.DataFrame, variant: str, texts: list, front: bool) -> None:
    """A variant's λ sweep: every point (dominated ones hollow), its front as a step line."""
    colour, marker = COLOURS.get(variant, "tab:purple"), MARKERS.get(variant, "D")
    part = points[points["variant"] == variant].sort_values("lambda")
    nd = part["non_dominated_in_variant"].astype(bool)
    ax.scatter(part.loc[nd, "recon"], part.loc[nd, "is"], color=colour, marker=marker, s=36,
               label=variant_name(variant), zorder=3)
    ax.scatter(part.loc[~nd, "recon"], part.loc[~nd, "is"], facecolors="none", edgecolors=colour,
               marker=marker, s=36, zorder=3)
    if front:
        f = part[nd].sort_values("recon")
        ax.step(f["recon"], f["is"], where="post", color=colour, lw=1.3, alpha=0.8)
    else:
        ax.plot(part["recon"], part["is"], color=colour, lw=1, alpha=0.6)
    for _, r in part.iterrows():
        texts.append(ax.text(r["recon"], r["is"], f"λ={r['lambda']:g}", fontsize=7, color=colour))


def figure2(metrics: pd.DataFrame, out: str | Path) -> Path:
    """The ablation (Figure 2), a panel per dataset, the Pareto verdict under it."""
    every = pareto.points(metrics)
    points, verdicts = every[every["ablation"]], pareto.verdict(every)
    datasets = sorted(points["dataset"].unique())
    fig, axes = _panels(max(1, len(datasets)))
    lines = ["Figure 2: IS against reconstruction for λ-IJAE and its explicit ablations across λ "
             "(mean over seeds); filled: non-dominated within its variant, joined by the front's "
             "step line; hollow: dominated."]
    for ax, dataset in zip(axes, datasets):
        texts = []
        for variant in sorted(points.loc[points["dataset"] == dataset, "variant"].unique()):
            _sweep(ax, points[points["dataset"] == dataset], variant, texts, front=True)
        _axes_labels(ax, metrics, dataset)
        ax.legend(fontsize=8)
        spread_labels(ax, texts)
        lines += [f"{dataset}: {s}" for s in pareto.verdict_sentences(verdicts, dataset)]
    caption(fig, lines + ["Run: " + provenance(metrics)], width=int(110 * len(axes) ** 0.8))
    return save(fig, out)


def figure3(metrics: pd.DataFrame, out: str | Path) -> Path:
    """The methods (Figure 3): λ-IJAE's λ curve against the baselines, a panel per dataset."""
    points = pareto.points(metrics)
    datasets = sorted(points["dataset"].unique())
    fig, axes = _panels(max(1, len(datasets)))
    baseline_colours = iter(pyplot().get_cmap("tab10").colors[4:] * 3)
    colour_of = {}
    for ax, dataset in zip(axes, datasets):
        here, texts = points[points["dataset"] == dataset], []
        if (here["variant"] == "implicit").any():
            _sweep(ax, here, "implicit", texts, front=False)
        for _, r in here[~here["ablation"]].iterrows():
            colour = colour_of.setdefault(r["variant"], next(baseline_colours))
            ax.scatter(r["recon"], r["is"], marker="D", s=40, color=colour, zorder=3)
            texts.append(ax.text(r["recon"], r["is"], r["variant"], fontsize=8, color=colour))
        _axes_labels(ax, metrics, dataset)
        spread_labels(ax, texts)
    caption(fig, ["Figure 3: IS against reconstruction, λ-IJAE across λ (line, labelled with λ) "
                  "and the other methods (diamonds), each the mean over its seeds.",
                  "Run: " + provenance(metrics)], width=int(110 * len(axes) ** 0.8))
    return save(fig, out)
