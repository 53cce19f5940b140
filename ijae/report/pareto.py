"""The Pareto claim, computed: which points are non-dominated in (IS ↑, reconstruction ↓), and
whether λ-IJAE's front dominates the fronts of its explicit ablations λ-IJAE-L1 / -L2.

Definitions (per dataset; a point is one method, or one variant at one λ, averaged over seeds):
- p dominates q when IS(p) ≥ IS(q) and recon(p) ≤ recon(q), one of them strictly; a point is
  non-dominated in a set when no point of the set dominates it. A variant's front is its
  non-dominated points across λ.
- "λ-IJAE's front dominates the V front" when every point of V's front is weakly dominated
  (IS ≥ and recon ≤) by some point of λ-IJAE's front, both fronts taken over the λ values both
  variants ran (λ = 0 is λ-IJAE's alone: with no likelihood term every variant is the same GAN).
- Hypervolume of a front: the area of the (recon, IS) region its points dominate, bounded by a
  reference point: the lowest IS and the highest reconstruction of all the dataset's ablation
  points (so each front is measured in the same box; a point on the box's edge adds nothing).
Pure: pandas and numpy on the records alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ijae import UserError
from ijae.contract import atomic_write_text
from ijae.metrics.keys import (KEY_DATASET, KEY_LAMBDA, KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD,
                               KEY_METRIC_RECON_MEAN, KEY_METRIC_RECON_STD, KEY_MODEL,
                               KEY_VARIANT)
from ijae.report.records import METHOD, N_SEEDS, RUNS, end_note, over_seeds, variant_name

DEFINITIONS = __doc__.split("\n\n", 1)[1].rsplit("\nPure:", 1)[0].strip()

IMPLICIT = "implicit"
POINT_COLUMNS = ("dataset", "run", "variant", "lambda", "is", "recon", "is_std_over_seeds",
                 "recon_std_over_seeds", "n_seeds", "non_dominated_in_variant", "non_dominated",
                 "note")
VERDICT_COLUMNS = ("dataset", "variant", "front_points", "front_points_weakly_dominated_by_implicit",
                   "implicit_front_dominates", "front_dominates_implicit", "hypervolume",
                   "implicit_hypervolume", "reference_is", "reference_recon", "lambdas")


def non_dominated(is_: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Mask of the points no other point dominates (IS higher better, recon lower better)."""
    is_, recon = np.asarray(is_, float), np.asarray(recon, float)
    ge = (is_[None, :] >= is_[:, None]) & (recon[None, :] <= recon[:, None])   # [i, j]: j ≥ i
    strict = (is_[None, :] > is_[:, None]) | (recon[None, :] < recon[:, None])
    return ~(ge & strict).any(axis=1)


def covered(front_is, front_recon, is_, recon) -> np.ndarray:
    """For each point (is_, recon): is some front point at least as good in both IS and recon?"""
    f_is, f_rec = np.asarray(front_is, float)[None, :], np.asarray(front_recon, float)[None, :]
    p_is, p_rec = np.asarray(is_, float)[:, None], np.asarray(recon, float)[:, None]
    return ((f_is >= p_is) & (f_rec <= p_rec)).any(axis=1)


def front_dominates(a_is, a_recon, b_is, b_recon) -> bool:
    """Does front a dominate front b: every point of b's front weakly dominated by a's front?
    (The arguments are whole sweeps; their non-dominated points are taken here.)"""
    a, b = non_dominated(a_is, a_recon), non_dominated(b_is, b_recon)
    if not a.any() or not b.any():
        return False
    return bool(covered(np.asarray(a_is)[a], np.asarray(a_recon)[a],
                        np.asarray(b_is)[b], np.asarray(b_recon)[b]).all())


def weakly_dominated_by(front: pd.DataFrame, points: pd.DataFrame) -> np.ndarray:
    """For each of ``points``: is some point of ``front`` at least as good in both IS and recon?"""
    return covered(front["is"], front["recon"], points["is"], points["recon"])


def hypervolume_of(is_, recon, ref_is: float, ref_recon: float) -> float:
    """Area dominated by the points (is_, recon) inside the box [recon ≤ ref_recon, IS ≥ ref_is]."""
    pts = np.column_stack([np.asarray(recon, float), np.asarray(is_, float)])
    pts = pts[(pts[:, 1] > ref_is) & (pts[:, 0] < ref_recon)]
    pts = pts[np.argsort(pts[:, 0], kind="stable")]
    pts = pts[non_dominated(pts[:, 1], pts[:, 0])] if len(pts) else pts
    area = 0.0
    for i, (recon_i, is_i) in enumerate(pts):   # IS rises along the front as recon rises
        next_recon = pts[i + 1, 0] if i + 1 < len(pts) else ref_recon
        area += (next_recon - recon_i) * (is_i - ref_is)
    return float(area)


def hypervolume(front: pd.DataFrame, ref_is: float, ref_recon: float) -> float:
    """Area dominated by ``front`` inside the box [recon ≤ ref_recon, IS ≥ ref_is]."""
    return hypervolume_of(front["is"], front["recon"], ref_is, ref_recon)


def points(metrics: pd.DataFrame) -> pd.DataFrame:
    """One point per method (and per λ-IJAE variant and λ), over seeds, per dataset; the
    ``non_dominated*`` columns: within the variant's λ sweep, and among all the dataset's points."""
    rows = over_seeds(metrics)
    several = rows[N_SEEDS] > 1   # over_seeds' ± is over seeds only when there are several
    table = pd.DataFrame({
        "dataset": rows[KEY_DATASET], "run": rows[RUNS],
        "variant": np.where(rows[KEY_MODEL] == "ijae", rows[KEY_VARIANT], rows[METHOD]),
        "lambda": rows[KEY_LAMBDA], "is": rows[KEY_METRIC_IS_MEAN],
        "recon": rows[KEY_METRIC_RECON_MEAN],
        "is_std_over_seeds": rows[KEY_METRIC_IS_STD].where(several),
        "recon_std_over_seeds": rows[KEY_METRIC_RECON_STD].where(several),
        "n_seeds": rows[N_SEEDS], "ablation": rows[KEY_MODEL] == "ijae"})
    table["note"] = [end_note(lam) if ablation else ""
                     for lam, ablation in zip(table["lambda"], table["ablation"])]
    table["non_dominated_in_variant"] = False
    table["non_dominated"] = False
    for _, idx in table.groupby(["dataset", "variant"]).groups.items():
        part = table.loc[idx]
        table.loc[idx, "non_dominated_in_variant"] = non_dominated(part["is"], part["recon"])
    for _, idx in table.groupby("dataset").groups.items():
        part = table.loc[idx]
        table.loc[idx, "non_dominated"] = non_dominated(part["is"], part["recon"])
    return table.sort_values(["dataset", "ablation", "variant", "lambda"],
                             ascending=[True, False, True, True]).reset_index(drop=True)


def front(table: pd.DataFrame, dataset: str, variant: str, lambdas=None) -> pd.DataFrame:
    """A variant's non-dominated points on ``dataset``, over ``lambdas`` (default: all it ran)."""
    part = table[(table["dataset"] == dataset) & (table["variant"] == variant) & table["ablation"]]
    if lambdas is not None:
        part = part[part["lambda"].isin(lambdas)]
    return part[non_dominated(part["is"], part["recon"])].sort_values("recon")


def common_lambdas(table: pd.DataFrame, dataset: str, variant: str) -> list[float]:
    """The λ values both λ-IJAE and ``variant`` ran on ``dataset``: where fronts are compared."""
    part = table[(table["dataset"] == dataset) & table["ablation"]]
    mine = set(part.loc[part["variant"] == IMPLICIT, "lambda"])
    return sorted(mine & set(part.loc[part["variant"] == variant, "lambda"]))


def verdict(table: pd.DataFrame) -> pd.DataFrame:
    """A row per dataset and explicit variant: does λ-IJAE's front dominate its front, the
    reverse, and both fronts' hypervolumes against the dataset's reference point."""
    rows = []
    for dataset, part in table[table["ablation"]].groupby("dataset"):
        ref_is, ref_recon = part["is"].min(), part["recon"].max()
        for variant in sorted(set(part["variant"]) - {IMPLICIT}):
            lambdas = common_lambdas(table, dataset, variant)
            implicit = front(table, dataset, IMPLICIT, lambdas)
            theirs = front(table, dataset, variant, lambdas)
            covered = weakly_dominated_by(implicit, theirs)
            rows.append({
                "dataset": dataset, "variant": variant, "front_points": len(theirs),
                "front_points_weakly_dominated_by_implicit": int(covered.sum()),
                "implicit_front_dominates": bool(len(implicit) and covered.all()),
                "front_dominates_implicit": bool(len(theirs) and weakly_dominated_by(theirs, implicit).all()),
                "hypervolume": hypervolume(theirs, ref_is, ref_recon),
                "implicit_hypervolume": hypervolume(implicit, ref_is, ref_recon),
                "reference_is": ref_is, "reference_recon": ref_recon,
                "lambdas": ", ".join(f"{v:g}" for v in lambdas)})
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def verdict_sentences(verdicts: pd.DataFrame, dataset: str) -> list[str]:
    """The claim in words, one sentence per explicit variant of ``dataset``."""
    lines = []
    for _, v in verdicts[verdicts["dataset"] == dataset].iterrows():
        name = variant_name(v["variant"])
        if v["implicit_front_dominates"] and not v["front_dominates_implicit"]:
            claim = f"λ-IJAE's front dominates the {name} front"
        elif v["front_dominates_implicit"] and not v["implicit_front_dominates"]:
            claim = f"the {name} front dominates λ-IJAE's front (the opposite of the paper's claim)"
        elif v["implicit_front_dominates"]:
            claim = f"λ-IJAE's front and the {name} front coincide"
        else:
            claim = f"neither λ-IJAE's front nor the {name} front dominates the other"
        lines.append(
            f"{claim}: {v['front_points_weakly_dominated_by_implicit']} of the {name} front's "
            f"{v['front_points']} points are matched or beaten in both IS and reconstruction by a "
            f"λ-IJAE point; hypervolume λ-IJAE {v['implicit_hypervolume']:.3g} vs {name} "
            f"{v['hypervolume']:.3g} (reference: IS {v['reference_is']:.3g}, reconstruction "
            f"{v['reference_recon']:.3g}).")
    return lines


def write_pareto(metrics: pd.DataFrame, out_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """pareto_fronts.csv (every point), pareto_verdict.csv and pareto_verdict.md in ``out_dir``."""
    if not (metrics[KEY_MODEL] == "ijae").any():
        raise UserError("no λ-IJAE record in the metrics table: the Pareto claim needs its λ sweep")
    table, out = points(metrics), Path(out_dir)
    verdicts = verdict(table)
    atomic_write_text(out / "pareto_fronts.csv", table[list(POINT_COLUMNS)].to_csv(index=False))
    atomic_write_text(out / "pareto_verdict.csv", verdicts.to_csv(index=False))
    seeds = sorted(set(table.loc[table["ablation"], "n_seeds"].astype(int)))
    text = ["# The Pareto claim, computed", "", DEFINITIONS, "",
            f"Points are means over {' or '.join(map(str, seeds))} seed(s) (pareto_fronts.csv: "
            "n_seeds, and the standard deviations over seeds); claims.md decides the dominance "
            "claims with an interval over the seeds.", ""]
    for dataset in sorted(table["dataset"].unique()):
        best = table[(table["dataset"] == dataset) & table["non_dominated"]]
        text += [f"## {dataset}", "", *[f"- {s}" for s in verdict_sentences(verdicts, dataset)],
                 "- Non-dominated among all points: " + ", ".join(
                     f"{variant_name(v)} λ = {lam:g}" if ablation else str(v)
                     for v, lam, ablation in zip(best["variant"], best["lambda"], best["ablation"])),
                 *sorted({f"- {n}." for n in table.loc[table["dataset"] == dataset, "note"] if n}), ""]
    atomic_write_text(out / "pareto_verdict.md", "\n".join(text))
    return table, verdicts
