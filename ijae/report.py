"""Table 1 and the Pareto plot, as pure functions of the metric records (metrics.csv).

Nothing here reads a checkpoint or imports a model: a table row is a metrics.json record, and
each row says which backend scored it and over how many samples. The paper's printed Table 1
sits beside ours, labelled as the paper's, never merged with our numbers.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ijae import UserError
from ijae.contract import atomic_write_bytes, atomic_write_text

REQUIRED = ("model", "variant", "lambda", "seed", "dataset", "backend", "is_mean", "is_std",
            "n_samples", "is_std_over", "fid", "recon_metric", "recon_mean", "recon_std",
            "n_reconstructions", "recon_std_over")
GENERATION = {"inception": "Inception Score (torch-fidelity inception-v3-compat)",
              "digits": "digits-classifier score (IS formula on a digits CNN; not Inception)"}


def read_metrics(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"metrics table {path} not found (make it with `ijae collect`)")
    table = pd.read_csv(path)
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected the records of `ijae evaluate`")
    return table


def _model_info(name: str) -> tuple[str, str]:
    from baselines.base import REGISTRY, all_adapters

    all_adapters()
    adapter = REGISTRY.get(name)
    return (adapter.label, adapter.kind) if adapter else (name, "unregistered")


def method_label(row) -> str:
    """Table label; a port says so in every table it appears in."""
    label, kind = _model_info(row["model"])
    if row["model"] == "ijae":
        variant = {"implicit": "", "l1": "-L1", "l2": "-L2"}.get(row["variant"], f"-{row['variant']}")
        label = f"λ-IJAE{variant} (λ = {row['lambda']:g})"
    suffix = {"port": " [port]", "port (from paper)": " [port from paper]"}.get(kind, "")
    return label + suffix


def _pm(mean: float, std: float, digits: int = 2) -> str:
    if pd.isna(mean):
        return "—"
    return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def table1(metrics: pd.DataFrame, lam: float = 0.3) -> pd.DataFrame:
    """Rows of Table 1: lambda-IJAE (implicit) at ``lam`` and every other model, one per run."""
    is_ijae = metrics["model"] == "ijae"
    keep = (is_ijae & (metrics["variant"] == "implicit") & ((metrics["lambda"] - lam).abs() < 1e-9)) | ~is_ijae
    rows = metrics[keep].copy()
    if rows.empty:
        raise UserError(f"no record for λ-IJAE at λ = {lam} nor any baseline in the metrics table")
    rows["method"] = rows.apply(method_label, axis=1)
    rows["implementation"] = [_model_info(m)[1] for m in rows["model"]]
    return rows.sort_values(["dataset", "model", "seed"]).reset_index(drop=True)


def table1_markdown(rows: pd.DataFrame, paper: pd.DataFrame | None, profile: str,
                    notes: list[str] = ()) -> str:
    lines = [f"# Table 1 — {profile} profile", ""]
    for backend, part in rows.groupby("backend"):
        first = part.iloc[0]
        lines += [f"Generation: {GENERATION.get(backend, backend)}, mean ± std over "
                  f"{first['is_std_over']}. Reconstruction: `{first['recon_metric']}`, mean ± std over "
                  f"{first['recon_std_over']} of the test split. FID against the {first['dataset']} "
                  "train split.", "",
                  "| method | implementation | dataset | IS ↑ | FID ↓ | reconstruction ↓ | metric | samples | "
                  "reconstructions | seed |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for _, r in part.iterrows():
            fid = "—" if pd.isna(r["fid"]) else f"{r['fid']:.2f}"
            lines.append(f"| {r['method']} | {r['implementation']} | {r['dataset']} | "
                         f"{_pm(r['is_mean'], r['is_std'])} | {fid} | {_pm(r['recon_mean'], r['recon_std'], 3)} | "
                         f"{r['recon_metric']} ({backend}) | {int(r['n_samples'])} | "
                         f"{int(r['n_reconstructions'])} | {int(r['seed'])} |")
        lines.append("")
    lines += [f"- {note}" for note in notes] + ([""] if notes else [])
    if paper is not None:
        lines += ["## The paper's Table 1, as printed (for reference; not produced here)", "",
                  "Inception Score (TF 1.13 reference code) and LPIPS (v0.1, AlexNet) on CIFAR-10 and "
                  "TinyImageNet; the paper does not say what its ± is over.", "",
                  "| dataset | method | IS ↑ | LPIPS ↓ | printed | note |", "| --- | --- | --- | --- | --- | --- |"]
        for _, r in paper.iterrows():
            note = "" if pd.isna(r["note"]) else r["note"]
            lines.append(f"| {r['dataset']} | {r['method']} | {_pm(r['is_mean'], r['is_std'])} | "
                         f"{_pm(r['lpips_mean'], r['lpips_std'])} | {r['printed']} | {note} |")
        lines.append("")
    return "\n".join(lines)


def write_table1(metrics_csv: str | Path, out_dir: str | Path, paper_csv: str | Path | None = None,
                 lam: float = 0.3, profile: str | None = None, notes: list[str] = ()) -> pd.DataFrame:
    """table1.csv and table1.md in ``out_dir`` from a metrics table."""
    out = Path(out_dir)
    rows = table1(read_metrics(metrics_csv), lam)
    paper = pd.read_csv(paper_csv) if paper_csv else None
    profile = profile or ", ".join(sorted(set(rows.get("profile", pd.Series(["?"])).astype(str))))
    columns = ["method", "implementation", "model", "variant", "lambda", "seed", "dataset", "backend",
               "is_mean", "is_std", "is_std_over", "n_samples", "fid", "recon_metric", "recon_mean",
               "recon_std", "recon_std_over", "n_reconstructions"]
    atomic_write_text(out / "table1.csv", rows[columns].to_csv(index=False))
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

    metrics = read_metrics(metrics_csv)
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    ijae = metrics[metrics["model"] == "ijae"].groupby(["variant", "lambda"], as_index=False)[
        ["is_mean", "recon_mean"]].mean()
    names = {"implicit": "λ-IJAE", "l1": "λ-IJAE-L1", "l2": "λ-IJAE-L2"}
    colours = iter(sns.color_palette("tab10", 10))
    for variant, part in ijae.groupby("variant"):
        part = part.sort_values("lambda")
        ax.plot(part["recon_mean"], part["is_mean"], marker="o", color=next(colours),
                label=names.get(variant, variant))
        for _, r in part.iterrows():
            ax.annotate(f"{r['lambda']:g}", (r["recon_mean"], r["is_mean"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)
    others = metrics[metrics["model"] != "ijae"].copy()
    if not others.empty:
        others["method"] = others.apply(method_label, axis=1)
        for method, part in others.groupby("method"):
            ax.scatter(part["recon_mean"].mean(), part["is_mean"].mean(), marker="s", s=50,
                       color=next(colours), label=method)
    first = metrics.iloc[0]
    ax.set_xlabel(f"{first['recon_metric']} ↓ (mean over {int(first['n_reconstructions'])} test images)")
    ax.set_ylabel(f"IS ↑ ({first['backend']} backend, {int(first['n_samples'])} samples)")
    ax.set_title(f"Generation vs reconstruction — {first['dataset']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    for suffix in (".png", ".pdf"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=suffix[1:], dpi=150)
        atomic_write_bytes(out.with_suffix(suffix), buffer.getvalue())
    plt.close(fig)
    return out.with_suffix(".png")

