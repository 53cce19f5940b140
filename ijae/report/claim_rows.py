"""The claims as data, and each claim's per-seed values: what claims.py decides on.

A claim row holds the per-seed values of its effect (``values``: {seed: a slope, a hypervolume
gap or a paired difference}), the sign the claim gives it, its smallest effect of
interest ``delta`` (DELTAS) and everything the table prints; claims.py adds the statistics and
the verdict. Each of the paper's generation claims has a **calibrated twin** on a measure that
passes its known-answer controls (calibration.md): IS → FID, recall → coverage, modes covered and
mode KL → the same over the samples accepted as digits.

Pure: pandas and numpy on the records.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ijae.metrics import keys as K
from ijae.report import pareto
from ijae.report.records import collapsed_mask, variant_name

MODE_SHARE = "modes_covered_share"              # modes covered / modes: comparable across datasets
MODE_SHARE_ACCEPTED = "modes_covered_accepted_share"
PAPER, CALIBRATED = "paper", "calibrated"       # a row's role: the paper's measure, or its twin
TREND, FRONTS, TABLE1 = "λ trends", "Figure 2 fronts", "Table 1"   # the families (claims.py)

# The smallest effect of interest per measure (docs/measures.md, its table of δ): (absolute, relative, of):
# delta = absolute, or relative × the mean of column ``of`` over the claim's runs. A slope's
# delta is the measure's (a change of delta over the whole λ range).
DELTAS = {
    K.KEY_METRIC_IS_MEAN: (None, 0.05, K.KEY_IS_REAL),       # 5 % of the real images' IS
    K.KEY_METRIC_FID: (None, 0.10, K.KEY_METRIC_FID),          # 10 % of the runs' FID
    K.KEY_METRIC_RECON_MEAN: (None, 0.05, K.KEY_METRIC_RECON_MEAN),
    K.KEY_METRIC_RECON_LABEL_AGREEMENT: (0.02, None, None),
    MODE_SHARE: (0.01, None, None), MODE_SHARE_ACCEPTED: (0.01, None, None),
    K.KEY_METRIC_MODE_KL: (0.05, None, None), K.KEY_METRIC_MODE_KL_ACCEPTED: (0.05, None, None),
    K.KEY_METRIC_RECALL: (0.02, None, None), K.KEY_METRIC_PRECISION: (0.02, None, None),
    K.KEY_METRIC_COVERAGE: (0.02, None, None),
}
HYPERVOLUME_DELTA = 0.05   # of the mean hypervolume of the two fronts


def delta_of(measure: str, runs: pd.DataFrame) -> float:
    absolute, relative, of = DELTAS.get(measure, (None, None, None))
    if absolute is not None:
        return absolute
    if relative is None or of not in runs.columns or runs[of].isna().all():
        return float("nan")
    return float(relative * runs[of].abs().mean())


@dataclass(frozen=True)
class Trend:
    claim: str          # the paper's claim, in words
    measure: str        # the record field
    sign: int           # +1: the claim says it rises with λ; -1: it falls
    skip_zero: bool = False   # reconstruction measures: λ = 0 has an untrained encoder
    twin: "Trend | None" = None   # the same claim on a calibrated measure


TRENDS = (
    Trend("IS falls with λ (small λ generates best)", K.KEY_METRIC_IS_MEAN, -1,
          twin=Trend("FID rises with λ (small λ generates best)", K.KEY_METRIC_FID, +1)),
    Trend("reconstruction distance falls with λ (larger λ reconstructs best)",
          K.KEY_METRIC_RECON_MEAN, -1, skip_zero=True),
    Trend("reconstructions keep their label more often with λ", K.KEY_METRIC_RECON_LABEL_AGREEMENT,
          +1, skip_zero=True),
    Trend("modes covered rise with λ (mass-covering)", MODE_SHARE, +1,
          twin=Trend("modes covered by accepted samples rise with λ", MODE_SHARE_ACCEPTED, +1)),
    Trend("mode KL to the reference falls with λ", K.KEY_METRIC_MODE_KL, -1,
          twin=Trend("mode KL of accepted samples falls with λ", K.KEY_METRIC_MODE_KL_ACCEPTED, -1)),
    Trend("recall rises with λ (mass-covering)", K.KEY_METRIC_RECALL, +1,
          twin=Trend("coverage rises with λ (mass-covering)", K.KEY_METRIC_COVERAGE, +1)),
    Trend("precision falls with λ (small λ is mode-seeking)", K.KEY_METRIC_PRECISION, -1),
)
AXES = {PAPER: (K.KEY_METRIC_IS_MEAN, +1), CALIBRATED: (K.KEY_METRIC_FID, -1)}   # Figure 2's x


def with_shares(runs: pd.DataFrame) -> pd.DataFrame:
    out = runs.copy()
    for share, key in ((MODE_SHARE, K.KEY_METRIC_MODES_COVERED),
                       (MODE_SHARE_ACCEPTED, K.KEY_METRIC_MODES_COVERED_ACCEPTED)):
        if key in out.columns and K.KEY_N_MODES in out.columns:
            out[share] = out[key] / out[K.KEY_N_MODES]
    return out


def slope(x, y) -> float:
    """Least-squares slope of y on x."""
    dx = np.asarray(x, float) - np.mean(x)
    return float(dx @ (np.asarray(y, float) - np.mean(y)) / (dx @ dx))


def spearman(x, y) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(pd.Series(x).rank().corr(pd.Series(y).rank()))


def lambdas_text(values) -> str:
    return ", ".join(f"{v:g}" for v in sorted(set(values)))


def trend_row(runs: pd.DataFrame, trend: Trend, role: str, positive_only: bool) -> dict:
    """One trend claim on one dataset's λ-IJAE runs: per-seed least-squares slopes on λ, over
    λ > 0 (``positive_only``, the headline) or over every λ with the GAN end point λ = 0."""
    part = runs.dropna(subset=[trend.measure])
    if trend.skip_zero or positive_only:
        part = part[part[K.KEY_LAMBDA] > 1e-9]
    per_seed = {int(s): slope(g[K.KEY_LAMBDA], g[trend.measure])
                for s, g in part.groupby(K.KEY_SEED) if g[K.KEY_LAMBDA].nunique() >= 2}
    values = part[trend.measure].to_numpy(float)
    notes = []
    if len(values) and np.ptp(values) == 0:
        notes.append(f"saturated: every run scores {values[0]:g}")
    if trend.skip_zero:
        notes.append("λ = 0 left out (untrained encoder)")
    elif not positive_only:
        notes.append("with λ = 0, the GAN end point (a pure GAN; its encoder untrained)")
    collapsed = part[collapsed_mask(part)]
    if not collapsed.empty:   # a collapse at some λ is an outcome of that λ: kept, and named
        notes.append("collapsed runs kept in the slope: " + ", ".join(
            f"λ = {r[K.KEY_LAMBDA]:g} seed {int(r[K.KEY_SEED])}" for _, r in collapsed.iterrows()))
    claim = trend.claim if positive_only or trend.skip_zero else f"{trend.claim}, with λ = 0"
    return {"family": TREND, "claim": claim, "measure": trend.measure, "role": role,
            "headline": positive_only or trend.skip_zero,
            "direction": "rises" if trend.sign > 0 else "falls", "sign": trend.sign,
            "lambdas": lambdas_text(part[K.KEY_LAMBDA]), "runs": len(part), "values": per_seed,
            "delta": delta_of(trend.measure, part),
            "effect_unit": f"{trend.measure} per unit λ (least-squares slope, mean over seeds)",
            "spearman_rho": spearman(part[K.KEY_LAMBDA].to_numpy(float), values),
            "seeds_dominating": "", "note": "; ".join(notes)}


def _front_gap(a: pd.DataFrame, b: pd.DataFrame, box, x: str, sign: int):
    """(does a's front dominate b's, hypervolume of a's − b's, their mean hypervolume), with the
    x axis ``x`` (sign +1: higher is better) and reconstruction (lower is better)."""
    (a_x, a_rec), (b_x, b_rec) = ([sign * d[c].to_numpy(float) for c, sign in
                                   ((x, sign), (K.KEY_METRIC_RECON_MEAN, 1))] for d in (a, b))
    hv_a, hv_b = (pareto.hypervolume_of(px, pr, *box) for px, pr in ((a_x, a_rec), (b_x, b_rec)))
    return pareto.front_dominates(a_x, a_rec, b_x, b_rec), hv_a - hv_b, (hv_a + hv_b) / 2


def _ahead_everywhere(mine: pd.DataFrame, theirs: pd.DataFrame, x: str, sign: int) -> str | None:
    """The axis on which ``theirs`` is ahead of ``mine`` at every shared λ in every seed (then no
    seed's front of ``mine`` can dominate), or None."""
    merged = mine.merge(theirs, on=[K.KEY_SEED, K.KEY_LAMBDA], suffixes=("_a", "_b"))
    if merged.empty:
        return None
    if (sign * (merged[f"{x}_b"] - merged[f"{x}_a"]) > 0).all():
        return x
    recon = K.KEY_METRIC_RECON_MEAN
    if (merged[f"{recon}_b"] < merged[f"{recon}_a"]).all():
        return recon
    return None


def dominance_row(runs: pd.DataFrame, variant: str, role: str) -> dict:
    """λ-IJAE's front against ``variant``'s on one dataset (x: IS for the paper, FID for its
    twin; y: reconstruction), over the λ values both ran: per-seed hypervolume gaps."""
    x, sign = AXES[role]
    name = variant_name(variant)
    lams = sorted(set(runs.loc[runs[K.KEY_VARIANT] == pareto.IMPLICIT, K.KEY_LAMBDA])
                  & set(runs.loc[runs[K.KEY_VARIANT] == variant, K.KEY_LAMBDA]))
    part = runs[runs[K.KEY_LAMBDA].isin(lams) & runs[K.KEY_VARIANT].isin([pareto.IMPLICIT, variant])]
    part = part.dropna(subset=[x, K.KEY_METRIC_RECON_MEAN])
    mine, theirs = (part[part[K.KEY_VARIANT] == v] for v in (pareto.IMPLICIT, variant))
    box = ((sign * part[x]).min(), part[K.KEY_METRIC_RECON_MEAN].max())
    seeds = sorted(set(mine[K.KEY_SEED]) & set(theirs[K.KEY_SEED]))
    judged = [_front_gap(mine[mine[K.KEY_SEED] == s], theirs[theirs[K.KEY_SEED] == s], box, x, sign)
              for s in seeds]
    dominating = sum(d for d, _, _ in judged)
    means = [d.groupby(K.KEY_LAMBDA)[[x, K.KEY_METRIC_RECON_MEAN]].mean() for d in (mine, theirs)]
    on_means = bool(len(lams)) and bool(seeds) and _front_gap(*means, box, x, sign)[0]
    ahead = _ahead_everywhere(mine, theirs, x, sign) if seeds and not dominating else None
    note = (f"λ-IJAE and {name} share no λ" if not lams else
            f"on the seed means λ-IJAE's front {'dominates' if on_means else 'does not dominate'}")
    axis = "IS ↑" if role == PAPER else "FID ↓"
    return {"family": FRONTS, "claim": f"λ-IJAE's front dominates the {name} front (Figure 2"
                                       f"{'' if role == PAPER else ', on FID'})",
            "measure": f"{x} {'↑' if sign > 0 else '↓'}, {K.KEY_METRIC_RECON_MEAN} ↓", "role": role,
            "headline": True, "direction": "dominates", "sign": +1, "lambdas": lambdas_text(lams),
            "runs": len(part), "values": {int(s): gap for s, (_, gap, _) in zip(seeds, judged)},
            "delta": HYPERVOLUME_DELTA * float(np.mean([m for _, _, m in judged])) if judged else np.nan,
            "effect_unit": f"hypervolume in ({axis}, reconstruction ↓) of λ-IJAE's front − the "
                           f"{name} front's (mean over seeds)",
            "spearman_rho": np.nan, "seeds_dominating": f"{dominating} of {len(seeds)}",
            "all_dominate": bool(seeds) and dominating == len(seeds) and on_means,
            "cannot_hold": (f"cannot hold: no seed's front dominates, and {name} is ahead on "
                            f"{ahead} at every λ in every seed") if ahead else "",
            "note": note}


def _paired(mine: pd.DataFrame, theirs: pd.DataFrame):
    """(seeds both ran where neither collapsed, the seeds left out for a collapse, with why)."""
    both = sorted(set(mine[K.KEY_SEED]) & set(theirs[K.KEY_SEED]))
    kept, dropped = [], []
    for seed in both:
        bad = [(who, r) for who, d in (("λ-IJAE", mine), ("it", theirs))
               for _, r in d[(d[K.KEY_SEED] == seed) & collapsed_mask(d)].iterrows()]
        if bad:
            dropped.append(f"seed {int(seed)} ({'; '.join(f'{who} collapsed: {r.get(K.KEY_COLLAPSE_REASON)}' for who, r in bad)})")
        else:
            kept.append(seed)
    return kept, dropped


def table1_rows(part: pd.DataFrame, baseline: pd.DataFrame, lam: float) -> list[dict]:
    """The Table 1 claims of λ-IJAE at ``lam`` against one baseline on one dataset: IS (and FID,
    its twin), reconstruction, and the dominance of the (IS, reconstruction) point (and of the
    (FID, reconstruction) point); the dominance rows combine the others (claims.py)."""
    mine = part[(part[K.KEY_MODEL] == "ijae") & (part[K.KEY_VARIANT] == pareto.IMPLICIT)
                & ((part[K.KEY_LAMBDA] - lam).abs() < 1e-9)]
    name = str(baseline[K.KEY_LABEL].iloc[0])
    seeds, dropped = _paired(mine, baseline)
    pairs = [(mine[mine[K.KEY_SEED] == s].iloc[0], baseline[baseline[K.KEY_SEED] == s].iloc[0])
             for s in seeds]
    both = pd.concat([mine, baseline])
    base = {"family": TABLE1, "baseline": name, "lambdas": f"{lam:g}", "runs": len(mine) + len(baseline),
            "spearman_rho": np.nan, "seeds_dominating": "", "headline": True,
            "note": ("seeds left out: " + "; ".join(dropped)) if dropped else "",
            "not_ranked": bool(dropped) and not seeds}
    if not seeds:   # nothing to pair: every shared seed collapsed, or none is shared
        return [{**base, "claim": f"λ-IJAE beats {name} on IS, on reconstruction and in both "
                                  "(Table 1)", "measure": "is_mean, recon_mean", "role": PAPER,
                 "direction": "dominates", "sign": +1, "values": {}, "delta": np.nan,
                 "effect_unit": "", "note": base["note"] or f"λ-IJAE and {name} share no seed"}]
    rows = []
    measures = ((K.KEY_METRIC_IS_MEAN, +1, PAPER, f"λ-IJAE beats {name} on IS (Table 1)"),
                (K.KEY_METRIC_FID, -1, CALIBRATED, f"λ-IJAE beats {name} on FID (Table 1, calibrated)"),
                (K.KEY_METRIC_RECON_MEAN, -1, PAPER, f"λ-IJAE reconstructs closer than {name} (Table 1)"))
    for measure, sign, role, claim in measures:
        if measure not in both.columns or both[measure].isna().all():
            continue
        rows.append({**base, "claim": claim, "measure": measure, "role": role,
                     "direction": "higher" if sign > 0 else "lower", "sign": +1,
                     "values": {int(s): sign * (a[measure] - b[measure]) for s, (a, b) in zip(seeds, pairs)},
                     "delta": delta_of(measure, both),
                     "effect_unit": f"λ-IJAE's {measure} − {name}'s" if sign > 0 else
                                    f"{name}'s {measure} − λ-IJAE's"})
    for x, sign, role in ((K.KEY_METRIC_IS_MEAN, +1, PAPER), (K.KEY_METRIC_FID, -1, CALIBRATED)):
        if not any(r["measure"] == x for r in rows):
            continue
        dominating = sum(sign * (a[x] - b[x]) >= 0
                         and a[K.KEY_METRIC_RECON_MEAN] <= b[K.KEY_METRIC_RECON_MEAN] for a, b in pairs)
        rows.append({**base, "claim": f"λ-IJAE's ({x}, reconstruction) point dominates {name}'s "
                                      "(Table 1)", "measure": f"{x} {'↑' if sign > 0 else '↓'}, "
                                      f"{K.KEY_METRIC_RECON_MEAN} ↓", "role": role,
                     "direction": "dominates", "sign": +1, "values": None, "delta": np.nan,
                     "combines": (x, K.KEY_METRIC_RECON_MEAN), "effect_unit": "both claims above",
                     "seeds_dominating": f"{dominating} of {len(seeds)}"})
    return rows
