"""Table 1 and the Pareto plot, as pure functions of the metric records (metrics.csv).

Nothing here reads a checkpoint, imports a model or the model registry, or imports torch: a
table row is a metrics.json record, which names its method (``label``), how it is implemented
(``implementation``), which backend scored it and over how many samples. The paper's printed
Table 1 sits beside ours, labelled as the paper's, never merged with our numbers.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ijae import UserError
from ijae import availability as avail
from ijae.contract import atomic_write_bytes, atomic_write_text
from ijae.metrics.keys import (KEY_BACKEND, KEY_DATASET, KEY_GENERATION_METRIC,
                               KEY_IMPLEMENTATION, KEY_IS_STD_OVER, KEY_LABEL, KEY_LAMBDA,
                               KEY_METRIC_FID, KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD,
                               KEY_METRIC_RECON_MEAN, KEY_METRIC_RECON_STD, KEY_MODEL,
                               KEY_N_RECONSTRUCTIONS, KEY_N_SAMPLES, KEY_PROFILE,
                               KEY_RECON_METRIC, KEY_RECON_STD_OVER, KEY_SEED, KEY_VARIANT,
                               TABLE_KEYS)

REQUIRED = TABLE_KEYS
SUFFIX = {"port": " [port]", "port (from paper)": " [port from paper]"}  # by implementation


def read_metrics(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"metrics table {path} not found (make it with `ijae collect`)")
    table = pd.read_csv(path)
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected the records of "
                        "`ijae evaluate` (records written before these columns existed: run "
                        "`ijae evaluate` on their runs again)")
    return table


def method_label(row) -> str:
    """Table label, from the record alone; a port says so in every table it appears in."""
    label = row[KEY_LABEL]
    if row[KEY_MODEL] == "ijae":
        variant = {"implicit": "", "l1": "-L1", "l2": "-L2"}.get(row[KEY_VARIANT],
                                                                 f"-{row[KEY_VARIANT]}")
        label = f"λ-IJAE{variant} (λ = {row[KEY_LAMBDA]:g})"
    return label + SUFFIX.get(row[KEY_IMPLEMENTATION], "")


def _pm(mean: float, std: float, digits: int = 2) -> str:
    if pd.isna(mean):
        return "—"
    return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


METHOD = "method"   # the table's label column, made here from the record (method_label)


def table1(metrics: pd.DataFrame, lam: float = 0.3) -> pd.DataFrame:
    """Rows of Table 1: lambda-IJAE (implicit) at ``lam`` and every other model, one per run."""
    is_ijae = metrics[KEY_MODEL] == "ijae"
    at_lam = (metrics[KEY_LAMBDA] - lam).abs() < 1e-9
    keep = (is_ijae & (metrics[KEY_VARIANT] == "implicit") & at_lam) | ~is_ijae
    rows = metrics[keep].copy()
    if rows.empty:
        raise UserError(f"no record for λ-IJAE at λ = {lam} nor any baseline in the metrics table")
    rows[METHOD] = rows.apply(method_label, axis=1)
    return rows.sort_values([KEY_DATASET, KEY_MODEL, KEY_SEED]).reset_index(drop=True)


def table1_markdown(rows: pd.DataFrame, paper: pd.DataFrame | None, profile: str,
                    notes: list[str] = ()) -> str:
    lines = [f"# Table 1 — {profile} profile", ""]
    for backend, part in rows.groupby(KEY_BACKEND):
        first = part.iloc[0]
        lines += [f"Generation: {first[KEY_GENERATION_METRIC]}, mean ± std over "
                  f"{first[KEY_IS_STD_OVER]}. Reconstruction: `{first[KEY_RECON_METRIC]}`, mean ± "
                  f"std over {first[KEY_RECON_STD_OVER]} of the test split. FID against the "
                  f"{first[KEY_DATASET]} train split.", "",
                  "| method | implementation | dataset | IS ↑ | FID ↓ | reconstruction ↓ | metric | "
                  "samples | reconstructions | seed |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for _, r in part.iterrows():
            fid = "—" if pd.isna(r[KEY_METRIC_FID]) else f"{r[KEY_METRIC_FID]:.2f}"
            lines.append(
                f"| {r[METHOD]} | {r[KEY_IMPLEMENTATION]} | {r[KEY_DATASET]} | "
                f"{_pm(r[KEY_METRIC_IS_MEAN], r[KEY_METRIC_IS_STD])} | {fid} | "
                f"{_pm(r[KEY_METRIC_RECON_MEAN], r[KEY_METRIC_RECON_STD], 3)} | "
                f"{r[KEY_RECON_METRIC]} ({backend}) | {int(r[KEY_N_SAMPLES])} | "
                f"{int(r[KEY_N_RECONSTRUCTIONS])} | {int(r[KEY_SEED])} |")
        lines.append("")
    lines += [f"- {note}" for note in notes] + ([""] if notes else [])
    if paper is not None:   # columns of inputs/paper_table1.csv, the paper's printed numbers
        lines += ["## The paper's Table 1, as printed (for reference; not produced here)", "",
                  "Inception Score (TF 1.13 reference code) and LPIPS (v0.1, AlexNet) on CIFAR-10 "
                  "and TinyImageNet; the paper does not say what its ± is over.", "",
                  "| dataset | method | IS ↑ | LPIPS ↓ | printed | note |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for _, r in paper.iterrows():
            note = "" if pd.isna(r["note"]) else r["note"]
            lines.append(f"| {r['dataset']} | {r['method']} | {_pm(r['is_mean'], r['is_std'])} | "
                         f"{_pm(r['lpips_mean'], r['lpips_std'])} | {r['printed']} | {note} |")
        lines.append("")
    return "\n".join(lines)


TABLE1_COLUMNS = (METHOD, KEY_IMPLEMENTATION, KEY_MODEL, KEY_VARIANT, KEY_LAMBDA, KEY_SEED,
                  KEY_DATASET, KEY_BACKEND, KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD,
                  KEY_IS_STD_OVER, KEY_N_SAMPLES, KEY_METRIC_FID, KEY_RECON_METRIC,
                  KEY_METRIC_RECON_MEAN, KEY_METRIC_RECON_STD, KEY_RECON_STD_OVER,
                  KEY_N_RECONSTRUCTIONS)


def availability_notes(records: list[dict], rows: pd.DataFrame) -> list[str]:
    """A line for each model of ``ijae checkout``'s records that could not run here (and so has
    no row), and for each that could but has no row in ``rows`` either."""
    present = set(rows[KEY_MODEL])
    notes = []
    for r in records:
        if not r[avail.AVAILABLE]:
            notes.append(f"{r[avail.LABEL]} ({r[avail.MODEL]}) is not in this table: "
                         f"it cannot run here ({r[avail.REASON]})")
        elif r[avail.MODEL] not in present:
            notes.append(f"{r[avail.LABEL]} ({r[avail.MODEL]}) is not in this table: "
                         "no metric record")
    return notes


def write_table1(metrics_csv: str | Path, out_dir: str | Path, paper_csv: str | Path | None = None,
                 lam: float = 0.3, profile: str | None = None, notes: list[str] = (),
                 availability: str | Path | None = None) -> pd.DataFrame:
    """table1.csv and table1.md in ``out_dir`` from a metrics table; ``availability``: the
    record of ``ijae checkout``, whose unavailable models are named under the table."""
    out = Path(out_dir)
    rows = table1(read_metrics(metrics_csv), lam)
    if availability is not None:
        notes = [*availability_notes(avail.read(availability), rows), *notes]
    paper = pd.read_csv(paper_csv) if paper_csv else None
    profile = profile or ", ".join(sorted(set(rows.get(KEY_PROFILE, pd.Series(["?"])).astype(str))))
    atomic_write_text(out / "table1.csv", rows[list(TABLE1_COLUMNS)].to_csv(index=False))
    atomic_write_text(out / "table1.md", table1_markdown(rows, paper, profile, list(notes)))
    return rows


def pareto_plot(metrics_csv: str | Path, out: str | Path) -> Path:
    """IS against reconstruction distance: lambda-IJAE and its L1 / L2 ablations across lambda
    (lines, each point annotated with lambda), the other models as single points (Figure 2 / 3)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    is_mean, recon_mean = KEY_METRIC_IS_MEAN, KEY_METRIC_RECON_MEAN
    metrics = read_metrics(metrics_csv)
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    ijae = metrics[metrics[KEY_MODEL] == "ijae"].groupby([KEY_VARIANT, KEY_LAMBDA],
                                                        as_index=False)[[is_mean, recon_mean]].mean()
    names = {"implicit": "λ-IJAE", "l1": "λ-IJAE-L1", "l2": "λ-IJAE-L2"}
    colours = iter(sns.color_palette("tab10", 10))
    for variant, part in ijae.groupby(KEY_VARIANT):
        part = part.sort_values(KEY_LAMBDA)
        ax.plot(part[recon_mean], part[is_mean], marker="o", color=next(colours),
                label=names.get(variant, variant))
        for _, r in part.iterrows():
            ax.annotate(f"{r[KEY_LAMBDA]:g}", (r[recon_mean], r[is_mean]),
                        textcoords="offset points", xytext=(4, 4), fontsize=7)
    others = metrics[metrics[KEY_MODEL] != "ijae"].copy()
    if not others.empty:
        others[METHOD] = others.apply(method_label, axis=1)
        for method, part in others.groupby(METHOD):
            ax.scatter(part[recon_mean].mean(), part[is_mean].mean(), marker="s", s=50,
                       color=next(colours), label=method)
    first = metrics.iloc[0]
    ax.set_xlabel(f"{first[KEY_RECON_METRIC]} ↓ (mean over {int(first[KEY_N_RECONSTRUCTIONS])} "
                  "test images)")
    ax.set_ylabel(f"IS ↑ ({first[KEY_BACKEND]} backend, {int(first[KEY_N_SAMPLES])} samples)")
    ax.set_title(f"Generation vs reconstruction — {first[KEY_DATASET]}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    for suffix in (".png", ".pdf"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=suffix[1:], dpi=150)
        atomic_write_bytes(out.with_suffix(suffix), buffer.getvalue())
    plt.close(fig)
    return out.with_suffix(".png")
