"""The paper's claims, each decided with its uncertainty over seeds: claims.csv and claims.md.

Rule (printed above the table, RULE below):

- A trend claim ("a measure rises / falls with λ") is measured on λ-IJAE's runs (reconstruction
  measures over λ > 0 only: at λ = 0 the encoder gets no gradient, so its reconstructions say
  nothing about λ). Each seed's λ sweep gives a least-squares slope of the measure on λ; the
  effect is their mean (units of the measure per unit λ; Spearman's ρ over every run beside it),
  the interval the Student-t interval of that mean over the seeds (mean ± t · sd / √n, n − 1
  degrees of freedom): seeds are the independent repetitions, and with few of them t is wide.
  Every other trend gets a second row over λ > 0 alone (where λ = 0 and two or more λ > 0 were
  run): at λ = 0 λ-IJAE is a pure GAN, which can fail on its own (a collapse) and so decide a
  slope by itself; the second row says whether the trend holds within (0, 1].
- A dominance claim ("λ-IJAE's front dominates the L1 front") compares the two variants' fronts
  in (IS ↑, reconstruction ↓) over the λ values both ran (report/pareto.py). Each seed gives the
  hypervolume of λ-IJAE's front minus the other's, in one box (the lowest IS and highest
  reconstruction of any run of the two); the effect is their mean, the interval the t interval
  as above. Dominance implies a difference ≥ 0, so an interval below 0 refutes it; an interval
  above 0 confirms it only with dominance itself, in every seed's sweep and on the seed means.
- Verdict: **holds** when the interval lies wholly on the claimed side of 0 (dominance: and
  λ-IJAE's front dominates in every seed and on the means), **refuted** when it lies wholly on
  the other side, **undecided at this budget** otherwise, and whenever fewer than 2 seeds have
  the measure: no interval.

Pure: pandas, numpy and scipy on the metric records (metrics.csv) alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ijae import UserError
from ijae.contract import atomic_write_text
from ijae.metrics import keys as K
from ijae.report import pareto
from ijae.report.records import collapsed_mask, read_metrics, run_summary, variant_name

RULE = __doc__.split("\n\n", 1)[1].rsplit("\nPure:", 1)[0].strip()
HOLDS, REFUTED, UNDECIDED = "holds", "refuted", "undecided at this budget"
NOT_RANKED = "not ranked (collapsed)"
MAX_SEEDS = 10_000   # beyond this, "seeds to decide" reads "> 10000": the effect is ~0
MODE_SHARE = "modes_covered_share"   # modes covered / modes: comparable across datasets
COLUMNS = ("dataset", "claim", "measure", "direction", "lambdas", "runs", "seeds",
           "effect", "effect_low", "effect_high", "effect_unit", "spearman_rho",
           "seeds_dominating", "verdict", "seeds_to_decide", "note")


@dataclass(frozen=True)
class Trend:
    claim: str          # the paper's claim, in words
    measure: str        # the record field
    sign: int           # +1: the claim says it rises with λ; -1: it falls
    skip_zero: bool = False   # reconstruction measures: λ = 0 has an untrained encoder


TRENDS = (
    Trend("IS falls with λ (small λ generates best)", K.KEY_METRIC_IS_MEAN, -1),
    Trend("reconstruction distance falls with λ (larger λ reconstructs best)",
          K.KEY_METRIC_RECON_MEAN, -1, skip_zero=True),
    Trend("reconstructions keep their label more often with λ", K.KEY_METRIC_RECON_LABEL_AGREEMENT,
          +1, skip_zero=True),
    Trend("modes covered rise with λ (mass-covering)", MODE_SHARE, +1),
    Trend("mode KL to the reference falls with λ", K.KEY_METRIC_MODE_KL, -1),
    Trend("recall rises with λ (mass-covering)", K.KEY_METRIC_RECALL, +1),
    Trend("precision falls with λ (small λ is mode-seeking)", K.KEY_METRIC_PRECISION, -1),
)


def verdict(low: float, high: float, sign: int) -> str:
    """holds / refuted / undecided from an interval of an effect the claim says has ``sign``."""
    low, high = sorted((sign * low, sign * high))
    return HOLDS if low > 0 else REFUTED if high < 0 else UNDECIDED


def slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of y on x."""
    dx = np.asarray(x, float) - np.mean(x)
    return float(dx @ (np.asarray(y, float) - np.mean(y)) / (dx @ dx))


def t_interval(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval of the mean of independent ``values``; NaN
    bounds with fewer than 2."""
    from scipy import stats

    values = np.asarray(values, float)
    mean = float(values.mean()) if len(values) else float("nan")
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def seeds_to_decide(values, confidence: float):
    """The fewest seeds whose t interval, at the mean and standard deviation of the per-seed
    ``values``, leaves 0 out: an int, "> MAX_SEEDS" for an effect near 0, or None (fewer than 2
    values: no spread to go on)."""
    from scipy import stats

    values = np.asarray(values, float)
    if len(values) < 2:
        return None
    mean, sd = abs(values.mean()), values.std(ddof=1)
    if sd == 0:
        return 2 if mean > 0 else f"> {MAX_SEEDS}"
    q = (1 + confidence) / 2
    n = np.arange(2, MAX_SEEDS + 1)
    ok = stats.t.ppf(q, n - 1) * sd / np.sqrt(n) < mean
    return int(n[ok][0]) if ok.any() else f"> {MAX_SEEDS}"


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(pd.Series(x).rank().corr(pd.Series(y).rank()))


def _lambdas(values) -> str:
    return ", ".join(f"{v:g}" for v in sorted(set(values)))


def trend_row(runs: pd.DataFrame, trend: Trend, confidence: float,
              positive_only: bool = False) -> dict:
    """One trend claim on one dataset's λ-IJAE runs (columns ``trend.measure``, lambda, seed);
    over λ > 0 alone with ``positive_only`` (always for ``trend.skip_zero``)."""
    part = runs.dropna(subset=[trend.measure])
    if trend.skip_zero or positive_only:
        part = part[part[K.KEY_LAMBDA] > 1e-9]
    per_seed = [slope(g[K.KEY_LAMBDA], g[trend.measure]) for _, g in part.groupby(K.KEY_SEED)
                if g[K.KEY_LAMBDA].nunique() >= 2]
    effect, low, high = t_interval(np.array(per_seed), confidence)
    values = part[trend.measure].to_numpy(float)
    notes = []
    if len(per_seed) < 2:
        notes.append(f"{len(per_seed)} seed(s) with a λ sweep: no interval")
    if len(values) and np.ptp(values) == 0:
        notes.append(f"saturated: every run scores {values[0]:g}")
    if trend.skip_zero:
        notes.append("λ = 0 left out (untrained encoder)")
    elif positive_only:
        notes.append("λ = 0 left out: the trend within (0, 1], without the pure GAN")
    claim = f"{trend.claim}, over λ > 0" if positive_only and not trend.skip_zero else trend.claim
    result = verdict(low, high, trend.sign) if len(per_seed) >= 2 else UNDECIDED
    collapsed = part[collapsed_mask(part)]
    if not collapsed.empty:   # a collapse at some λ is an outcome of that λ: kept, and named
        notes.append("collapsed runs kept in the slope: " + ", ".join(
            f"λ = {r[K.KEY_LAMBDA]:g} seed {int(r[K.KEY_SEED])}" for _, r in collapsed.iterrows()))
    return {"claim": claim, "measure": trend.measure,
            "direction": "rises" if trend.sign > 0 else "falls",
            "lambdas": _lambdas(part[K.KEY_LAMBDA]), "runs": len(part), "seeds": len(per_seed),
            "effect": effect, "effect_low": low, "effect_high": high,
            "effect_unit": f"{trend.measure} per unit λ (least-squares slope, mean over seeds)",
            "spearman_rho": spearman(part[K.KEY_LAMBDA].to_numpy(float), values),
            "seeds_dominating": "", "verdict": result,
            "seeds_to_decide": seeds_to_decide(per_seed, confidence) if result == UNDECIDED else None,
            "note": "; ".join(notes)}


def _front_gap(a: pd.DataFrame, b: pd.DataFrame, box) -> tuple[bool, float]:
    """(does a's front dominate b's, hypervolume of a's front − b's in ``box``)."""
    cols = (K.KEY_METRIC_IS_MEAN, K.KEY_METRIC_RECON_MEAN)
    (a_is, a_rec), (b_is, b_rec) = ([d[c].to_numpy(float) for c in cols] for d in (a, b))
    return (pareto.front_dominates(a_is, a_rec, b_is, b_rec),
            pareto.hypervolume_of(a_is, a_rec, *box) - pareto.hypervolume_of(b_is, b_rec, *box))


def dominance_row(runs: pd.DataFrame, variant: str, confidence: float) -> dict:
    """λ-IJAE's front against ``variant``'s on one dataset's runs of the two (columns variant,
    lambda, seed, is_mean, recon_mean), over the λ values both ran."""
    name = variant_name(variant)
    lams = sorted(set(runs.loc[runs[K.KEY_VARIANT] == pareto.IMPLICIT, K.KEY_LAMBDA])
                  & set(runs.loc[runs[K.KEY_VARIANT] == variant, K.KEY_LAMBDA]))
    part = runs[runs[K.KEY_LAMBDA].isin(lams) & runs[K.KEY_VARIANT].isin([pareto.IMPLICIT, variant])]
    mine, theirs = (part[part[K.KEY_VARIANT] == v] for v in (pareto.IMPLICIT, variant))
    box = (part[K.KEY_METRIC_IS_MEAN].min(), part[K.KEY_METRIC_RECON_MEAN].max())
    seeds = sorted(set(mine[K.KEY_SEED]) & set(theirs[K.KEY_SEED]))
    judged = [_front_gap(mine[mine[K.KEY_SEED] == s], theirs[theirs[K.KEY_SEED] == s], box)
              for s in seeds]
    effect, low, high = t_interval(np.array([gap for _, gap in judged]), confidence)
    dominating = sum(d for d, _ in judged)
    on_means = bool(len(lams)) and _front_gap(*(
        d.groupby(K.KEY_LAMBDA)[[K.KEY_METRIC_IS_MEAN, K.KEY_METRIC_RECON_MEAN]].mean()
        for d in (mine, theirs)), box)[0]
    if len(seeds) < 2:
        result = UNDECIDED
    elif high < 0:
        result = REFUTED       # dominance would give a difference >= 0
    elif low > 0 and on_means and dominating == len(seeds):
        result = HOLDS
    else:
        result = UNDECIDED
    note = (f"λ-IJAE and {name} share no λ" if not lams else
            ("" if len(seeds) >= 2 else f"{len(seeds)} seed(s): no interval; ")
            + f"on the seed means λ-IJAE's front {'dominates' if on_means else 'does not dominate'}")
    return {"claim": f"λ-IJAE's front dominates the {name} front (Figure 2)",
            "measure": f"{K.KEY_METRIC_IS_MEAN} ↑, {K.KEY_METRIC_RECON_MEAN} ↓",
            "direction": "dominates", "lambdas": _lambdas(lams), "runs": len(part),
            "seeds": len(seeds), "effect": effect, "effect_low": low, "effect_high": high,
            "effect_unit": f"hypervolume of λ-IJAE's front − the {name} front's (mean over seeds)",
            "spearman_rho": np.nan, "seeds_dominating": f"{dominating} of {len(seeds)}",
            "verdict": result,
            "seeds_to_decide": seeds_to_decide([gap for _, gap in judged], confidence)
            if result == UNDECIDED else None, "note": note}


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


def table1_rows(part: pd.DataFrame, baseline: pd.DataFrame, lam: float, confidence: float) -> list[dict]:
    """The Table 1 claims of λ-IJAE at ``lam`` against one baseline on one dataset (module
    docstring): IS, reconstruction and the dominance of the (IS, reconstruction) point."""
    mine = part[(part[K.KEY_MODEL] == "ijae") & (part[K.KEY_VARIANT] == pareto.IMPLICIT)
                & ((part[K.KEY_LAMBDA] - lam).abs() < 1e-9)]
    name = str(baseline[K.KEY_LABEL].iloc[0])
    seeds, dropped = _paired(mine, baseline)
    by_seed = {s: (mine[mine[K.KEY_SEED] == s].iloc[0], baseline[baseline[K.KEY_SEED] == s].iloc[0])
               for s in seeds}
    base = {"lambdas": f"{lam:g}", "runs": len(mine) + len(baseline), "seeds": len(seeds),
            "spearman_rho": np.nan}
    dropped_note = ("seeds left out: " + "; ".join(dropped)) if dropped else ""
    if not seeds:
        why = dropped_note or f"λ-IJAE and {name} share no seed"
        return [{**base, "claim": f"λ-IJAE beats {name} on IS, on reconstruction and in both "
                                  "(Table 1)", "measure": "is_mean, recon_mean",
                 "direction": "dominates", "effect": np.nan, "effect_low": np.nan,
                 "effect_high": np.nan, "effect_unit": "", "seeds_dominating": "",
                 "verdict": NOT_RANKED if dropped else UNDECIDED, "seeds_to_decide": None,
                 "note": why}]
    rows, parts = [], {}
    for measure, claim, sign, unit in (
            (K.KEY_METRIC_IS_MEAN, f"λ-IJAE beats {name} on IS (Table 1)", +1,
             f"λ-IJAE's IS − {name}'s (mean over seeds)"),
            (K.KEY_METRIC_RECON_MEAN, f"λ-IJAE reconstructs closer than {name} (Table 1)", -1,
             f"{name}'s reconstruction distance − λ-IJAE's (mean over seeds)")):
        diffs = np.array([sign * (a[measure] - b[measure]) for a, b in by_seed.values()], float)
        effect, low, high = t_interval(diffs, confidence)
        result = verdict(low, high, +1) if len(diffs) >= 2 else UNDECIDED
        parts[measure] = (result, diffs)
        rows.append({**base, "claim": claim, "measure": measure, "direction": "higher" if sign > 0
                     else "lower", "effect": effect, "effect_low": low, "effect_high": high,
                     "effect_unit": unit, "seeds_dominating": "", "verdict": result,
                     "seeds_to_decide": seeds_to_decide(diffs, confidence) if result == UNDECIDED else None,
                     "note": "; ".join(filter(None, [f"{len(diffs)} seed(s): no interval"
                                                     if len(diffs) < 2 else "", dropped_note]))})
    results = [r for r, _ in parts.values()]
    dominating = sum(a[K.KEY_METRIC_IS_MEAN] >= b[K.KEY_METRIC_IS_MEAN]
                     and a[K.KEY_METRIC_RECON_MEAN] <= b[K.KEY_METRIC_RECON_MEAN]
                     for a, b in by_seed.values())
    result = HOLDS if all(r == HOLDS for r in results) else \
        REFUTED if any(r == REFUTED for r in results) else UNDECIDED
    needed = [seeds_to_decide(d, confidence) for r, d in parts.values() if r == UNDECIDED]
    rows.append({**base, "claim": f"λ-IJAE's (IS, reconstruction) point dominates {name}'s (Table 1)",
                 "measure": f"{K.KEY_METRIC_IS_MEAN} ↑, {K.KEY_METRIC_RECON_MEAN} ↓",
                 "direction": "dominates", "effect": np.nan, "effect_low": np.nan,
                 "effect_high": np.nan, "effect_unit": "both claims above",
                 "seeds_dominating": f"{dominating} of {len(seeds)}", "verdict": result,
                 "seeds_to_decide": _most(needed) if result == UNDECIDED else None,
                 "note": "; ".join(filter(None, ["holds when both hold, refuted when either is",
                                                 dropped_note]))})
    return rows


def _most(needed: list):
    """The largest of several seeds-to-decide (any "> N" wins; None when none is known)."""
    known = [n for n in needed if n is not None]
    if not known:
        return None
    return next((n for n in known if isinstance(n, str)), max(known))


def claims(metrics: pd.DataFrame, confidence: float = 0.95, lam: float = 0.3) -> pd.DataFrame:
    """A row per claim and dataset (COLUMNS), from every λ-IJAE run of the metrics table and,
    for the Table 1 claims, λ-IJAE at ``lam`` against each baseline's runs."""
    if not 0 < confidence < 1:
        raise UserError(f"confidence = {confidence}: expected a number in (0, 1), e.g. 0.95")
    ablation = metrics[metrics[K.KEY_MODEL] == "ijae"].copy()
    if ablation.empty:
        raise UserError("no λ-IJAE record in the metrics table: the claims need its λ sweep")
    if K.KEY_METRIC_MODES_COVERED in ablation.columns and K.KEY_N_MODES in ablation.columns:
        ablation[MODE_SHARE] = ablation[K.KEY_METRIC_MODES_COVERED] / ablation[K.KEY_N_MODES]
    rows = []
    for dataset, part in ablation.groupby(K.KEY_DATASET, sort=True):
        implicit = part[part[K.KEY_VARIANT] == pareto.IMPLICIT]
        lams = implicit[K.KEY_LAMBDA]
        # a second row over λ > 0 where λ = 0 was run and λ > 0 has a slope (two λ or more)
        second = (lams.abs() < 1e-9).any() and lams[lams > 1e-9].nunique() >= 2
        for trend in TRENDS:
            if trend.measure in implicit.columns and implicit[trend.measure].notna().any():
                rows.append({"dataset": dataset, **trend_row(implicit, trend, confidence)})
                if second and not trend.skip_zero:
                    rows.append({"dataset": dataset,
                                 **trend_row(implicit, trend, confidence, positive_only=True)})
        for variant in sorted(set(part[K.KEY_VARIANT].dropna()) - {pareto.IMPLICIT}):
            rows.append({"dataset": dataset, **dominance_row(part, variant, confidence)})
        at_lam = ((implicit[K.KEY_LAMBDA] - lam).abs() < 1e-9).any()
        others = metrics[(metrics[K.KEY_DATASET] == dataset) & (metrics[K.KEY_MODEL] != "ijae")]
        for model, baseline in (others.groupby(K.KEY_MODEL, sort=True) if at_lam else ()):
            rows += [{"dataset": dataset, **row} for row in table1_rows(part, baseline, lam, confidence)]
    for row in rows:   # text: a count, "> 10000", or "" (decided, or no spread to go on)
        row["seeds_to_decide"] = "" if row["seeds_to_decide"] is None else str(row["seeds_to_decide"])
    return pd.DataFrame(rows, columns=list(COLUMNS))


def interval_text(row) -> str:
    """The effect and its interval, e.g. '-1.02 [-1.4, -0.61]'."""
    if pd.isna(row["effect"]):
        return "—"
    text = f"{row['effect']:+.3g}"
    if not pd.isna(row["effect_low"]):
        text += f" [{row['effect_low']:+.3g}, {row['effect_high']:+.3g}]"
    return text


def markdown(table: pd.DataFrame, metrics: pd.DataFrame, confidence: float) -> str:
    lines = ["# The paper's claims, decided", "",
             f"Intervals: {confidence:.0%}, Student t over the seeds.", "", RULE, "",
             "Run: " + run_summary(metrics), ""]
    for dataset, block in table.groupby("dataset", sort=True):
        lines += [f"## {dataset}", "",
                  "| claim | verdict | effect [interval] | unit | ρ (λ, measure) | "
                  "seeds where λ-IJAE dominates | seeds that would decide it | λ | runs | seeds | note |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for _, r in block.iterrows():
            rho = "—" if pd.isna(r["spearman_rho"]) else f"{r['spearman_rho']:+.2f}"
            decide = r["seeds_to_decide"] or "—"
            lines.append(f"| {r['claim']} | **{r['verdict']}** | {interval_text(r)} | "
                         f"{r['effect_unit']} | {rho} | {r['seeds_dominating'] or '—'} | {decide} | "
                         f"{r['lambdas']} | {r['runs']} | {r['seeds']} | {r['note']} |")
        lines.append("")
    return "\n".join(lines)


def write_claims(metrics_csv: str | Path, out_dir: str | Path, confidence: float = 0.95,
                 lam: float = 0.3) -> pd.DataFrame:
    """claims.csv and claims.md in ``out_dir`` from a metrics table; returns the table."""
    metrics = read_metrics(metrics_csv)
    table = claims(metrics, confidence, lam)
    out = Path(out_dir)
    atomic_write_text(out / "claims.csv", table.to_csv(index=False))
    atomic_write_text(out / "claims.md", markdown(table, metrics, confidence))
    return table
