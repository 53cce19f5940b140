"""Figures 2 and 3 of the paper from the metric records: IS against reconstruction distance.

figure2: the ablation, λ-IJAE against λ-IJAE-L1 / -L2 across λ, each variant's non-dominated
front drawn as a step line, the Pareto verdict (report.pareto) printed under the plot.
figure3: the methods, λ-IJAE's λ curve against the baselines' points, a panel per dataset.
Pure: the records in, PNG and PDF out (matplotlib, no torch)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ijae.metrics.keys import KEY_BACKEND, KEY_DATASET, KEY_RECON_METRIC
from ijae.report import pareto
from ijae.report.plotting import caption, pyplot, save, spread_labels
from ijae.report.records import END_NOTES, run_summary, variant_name

COLOURS = {"implicit": "tab:red", "l1": "tab:blue", "l2": "tab:green"}
MARKERS = {"implicit": "o", "l1": "s", "l2": "^"}


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
    _spread(ax, part, colour)
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
        untrained = " (E untrained)" if r["lambda"] == 0 else ""
        texts.append(ax.text(r["recon"], r["is"], f"λ={r['lambda']:g}{untrained}", fontsize=7,
                             color=colour))


def _spread(ax, points: pd.DataFrame, colour) -> None:
    """Bars of ± one standard deviation over seeds, in IS and in reconstruction (none for a
    point of one seed)."""
    ax.errorbar(points["recon"], points["is"], xerr=points["recon_std_over_seeds"],
                yerr=points["is_std_over_seeds"], fmt="none", ecolor=colour, elinewidth=0.8,
                alpha=0.6, capsize=2, zorder=2)


def figure2(metrics: pd.DataFrame, out: str | Path) -> Path:
    """The ablation (Figure 2), a panel per dataset, the Pareto verdict under it."""
    every = pareto.points(metrics)
    points, verdicts = every[every["ablation"]], pareto.verdict(every)
    datasets = sorted(points["dataset"].unique())
    fig, axes = _panels(max(1, len(datasets)))
    lines = ["Figure 2: IS against reconstruction for λ-IJAE and its explicit ablations across λ "
             "(mean over seeds, bars: ± one standard deviation over seeds); filled: non-dominated "
             "within its variant, joined by the front's step line; hollow: dominated. "
             + " ".join(f"{note}." for note in END_NOTES.values())]
    for ax, dataset in zip(axes, datasets):
        texts = []
        for variant in sorted(points.loc[points["dataset"] == dataset, "variant"].unique()):
            _sweep(ax, points[points["dataset"] == dataset], variant, texts, front=True)
        _axes_labels(ax, metrics, dataset)
        ax.legend(fontsize=8)
        spread_labels(ax, texts)
        lines += [f"{dataset}: {s}" for s in pareto.verdict_sentences(verdicts, dataset)]
    caption(fig, lines + ["Run: " + run_summary(metrics)], width=int(110 * len(axes) ** 0.8))
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
            _spread(ax, pd.DataFrame([r]), colour)
            texts.append(ax.text(r["recon"], r["is"], r["variant"], fontsize=8, color=colour))
        _axes_labels(ax, metrics, dataset)
        spread_labels(ax, texts)
    caption(fig, ["Figure 3: IS against reconstruction, λ-IJAE across λ (line, labelled with λ) "
                  "and the other methods (diamonds), each the mean over its seeds (bars: ± one "
                  "standard deviation over seeds, where there are several). "
                  + " ".join(f"{note}." for note in END_NOTES.values()),
                  "Run: " + run_summary(metrics)], width=int(110 * len(axes) ** 0.8))
    return save(fig, out)
