"""The paper's claims, each decided with its uncertainty over seeds: claims.csv and claims.md.

Rule (printed above the table, RULE below):

- A **trend** claim ("a measure rises / falls with λ") is measured on λ-IJAE's runs: each seed's
  λ sweep gives a least-squares slope of the measure on λ. The headline row is over λ-IJAE
  itself, λ > 0; a second row adds λ = 0, the GAN end point (a pure GAN whose encoder gets no
  gradient; reconstruction measures never use it). A **dominance** claim (Figure 2) compares
  the two variants' fronts in (IS ↑, reconstruction ↓) over the λ values both ran: each seed
  gives the hypervolume of λ-IJAE's front minus the other's. A **Table 1** claim pairs λ-IJAE
  (λ = 0.3) with a baseline seed by seed (a collapsed seed is left out and named).
- The effect is the mean of the per-seed values, the interval their Student-t interval (seeds
  are the independent repetitions), unadjusted. The verdict comes from tests adjusted for
  multiplicity: the claims of one dataset and one family (the λ trends, the Figure 2 fronts,
  Table 1) are one family, and Holm's correction holds the chance of any false verdict in it
  below 1 - confidence. **holds**: the adjusted t test rejects "effect = 0" and the effect has
  the claimed sign (dominance: and λ-IJAE's front dominates in every seed and on the seed
  means); **refuted**: it rejects with the other sign, or the claim cannot hold (no seed's front
  dominates and the other variant is ahead on one axis at every λ in every seed); **no effect
  larger than δ**: the adjusted two one-sided tests put the effect within ±δ, the measure's
  declared smallest effect of interest (docs/measures.md); **undecided at this budget**
  otherwise, and whenever fewer than 2 seeds have the measure.
- Every generation claim on the paper's measure (IS, recall, modes covered, mode KL) has a
  calibrated twin below it (FID, coverage, the same over the samples accepted as digits), and
  a claim on a measure that fails its known-answer controls on that dataset (calibration.md) is
  shown and **not decided (measure fails its controls)**.
- **Seeds to decide** (undecided rows): the seeds a new experiment needs for 80 % power at the
  observed effect and standard deviation, at the family's Bonferroni level (Holm's first step),
  with the range the standard deviation's own interval gives.

Pure: pandas, numpy, scipy and statsmodels on the metric records (metrics.csv) alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ijae import UserError
from ijae.contract import atomic_write_text
from ijae.metrics import keys as K
from ijae.report import claim_rows as cr
from ijae.report import pareto, stats
from ijae.report.claim_rows import MODE_SHARE, slope   # noqa: F401  (the claims' own names)
from ijae.report.records import read_metrics, run_summary
from ijae.report.stats import t_interval   # noqa: F401

RULE = __doc__.split("\n\n", 1)[1].rsplit("\nPure:", 1)[0].strip()
HOLDS, REFUTED, UNDECIDED = "holds", "refuted", "undecided at this budget"
NO_EFFECT = "no effect larger than δ"
NOT_RANKED = "not ranked (collapsed)"
DEMOTED = "not decided (measure fails its controls)"
COLUMNS = ("dataset", "family", "claim", "measure", "role", "headline", "direction", "lambdas",
           "runs", "seeds", "effect", "effect_low", "effect_high", "effect_unit", "delta", "p",
           "p_holm", "p_equivalence", "p_equivalence_holm", "spearman_rho", "seeds_dominating",
           "verdict", "verdict_unadjusted", "seeds_to_decide", "seeds_to_decide_range", "per_seed",
           "note")


def per_seed_text(values: dict) -> str:
    """{seed: value} as the CSV keeps it, e.g. '0:-1.02; 1:-0.88'."""
    return "; ".join(f"{s}:{v:.6g}" for s, v in sorted(values.items()))


def per_seed_values(text) -> dict:
    """The inverse of per_seed_text ({} for an empty cell)."""
    if not isinstance(text, str) or not text.strip():
        return {}
    return {int(s): float(v) for s, v in (item.split(":") for item in text.split("; "))}


def verdict(low: float, high: float, sign: int) -> str:
    """holds / refuted / undecided from an interval of an effect the claim says has ``sign``
    (the unadjusted reading, shown beside the adjusted verdict)."""
    low, high = sorted((sign * low, sign * high))
    return HOLDS if low > 0 else REFUTED if high < 0 else UNDECIDED


def _rows(metrics: pd.DataFrame, lam: float) -> list[dict]:
    ablation = cr.with_shares(metrics[metrics[K.KEY_MODEL] == "ijae"])
    if ablation.empty:
        raise UserError("no λ-IJAE record in the metrics table: the claims need its λ sweep")
    rows = []
    for dataset, part in ablation.groupby(K.KEY_DATASET, sort=True):
        implicit = part[part[K.KEY_VARIANT] == pareto.IMPLICIT]
        lams = implicit[K.KEY_LAMBDA]
        positive = lams[lams > 1e-9].nunique() >= 2     # a slope within (0, 1]
        with_zero = (lams.abs() < 1e-9).any()
        for trend in cr.TRENDS:   # the headline over λ > 0, its twin, then with λ = 0
            have = [(t, role) for t, role in ((trend, cr.PAPER), (trend.twin, cr.CALIBRATED))
                    if t is not None and t.measure in implicit.columns
                    and implicit[t.measure].notna().any()]
            for t, role in have:
                if positive or t.skip_zero:
                    rows.append({"dataset": dataset, **cr.trend_row(implicit, t, role, True)})
            if with_zero and not trend.skip_zero and have and have[0][1] == cr.PAPER:
                rows.append({"dataset": dataset, **cr.trend_row(implicit, trend, cr.PAPER, False)})
        for variant in sorted(set(part[K.KEY_VARIANT].dropna()) - {pareto.IMPLICIT}):
            for role in (cr.PAPER, cr.CALIBRATED):
                if cr.AXES[role][0] in part.columns and part[cr.AXES[role][0]].notna().any():
                    rows.append({"dataset": dataset, **cr.dominance_row(part, variant, role)})
        at_lam = ((implicit[K.KEY_LAMBDA] - lam).abs() < 1e-9).any()
        others = metrics[(metrics[K.KEY_DATASET] == dataset) & (metrics[K.KEY_MODEL] != "ijae")]
        for _, baseline in (others.groupby(K.KEY_MODEL, sort=True) if at_lam else ()):
            rows += [{"dataset": dataset, **row} for row in cr.table1_rows(part, baseline, lam)]
    return rows


# a claim's measure as the calibration names it (a share of the modes is the mode count's)
CALIBRATED_AS = {cr.MODE_SHARE: K.KEY_METRIC_MODES_COVERED,
                 cr.MODE_SHARE_ACCEPTED: K.KEY_METRIC_MODES_COVERED_ACCEPTED}


def _calibration_key(row: dict) -> tuple[str, str]:
    return row["dataset"], CALIBRATED_AS.get(row["measure"], row["measure"])


def _decide(row: dict, alpha: float, demoted: dict) -> tuple[str, str]:
    """(verdict, unadjusted verdict) of a row whose statistics are in place."""
    n = row["seeds"]
    unadjusted = verdict(row["effect_low"], row["effect_high"], row["sign"]) if n >= 2 else UNDECIDED
    key = _calibration_key(row)
    if key in demoted:
        return DEMOTED, unadjusted
    if row.get("not_ranked"):
        return NOT_RANKED, NOT_RANKED
    if n < 2:
        return UNDECIDED, unadjusted
    if row.get("cannot_hold"):
        return REFUTED, REFUTED
    if row["p_holm"] < alpha:
        if row["sign"] * row["effect"] > 0:
            return (HOLDS if row.get("all_dominate", True) else UNDECIDED), unadjusted
        return REFUTED, unadjusted
    if row["p_equivalence_holm"] < alpha:
        return NO_EFFECT, unadjusted
    return UNDECIDED, unadjusted


def _combine(rows: list[dict]) -> None:
    """Table 1's point-dominance rows: holds when both of its claims hold, refuted when either
    is refuted, not decided when either is, else undecided."""
    for row in (r for r in rows if "combines" in r):
        parts = [r for r in rows if "combines" not in r and r["family"] == cr.TABLE1
                 and r["dataset"] == row["dataset"] and r.get("baseline") == row["baseline"]
                 and r["measure"] in row["combines"]]
        verdicts = [p["verdict"] for p in parts]
        row["verdict"] = (NOT_RANKED if row.get("not_ranked") else
                          DEMOTED if DEMOTED in verdicts else
                          HOLDS if verdicts and all(v == HOLDS for v in verdicts) else
                          REFUTED if REFUTED in verdicts else UNDECIDED)
        row["verdict_unadjusted"] = row["verdict"]
        plans = [p["seeds_to_decide"] for p in parts if p["verdict"] == UNDECIDED and p["seeds_to_decide"]]
        row["seeds_to_decide"] = max(plans, key=lambda v: float(str(v).strip("> "))) \
            if plans and row["verdict"] == UNDECIDED else ""
        row["seeds_to_decide_range"] = ""
        row["note"] = "; ".join(filter(None, ["holds when both hold, refuted when either is",
                                              row["note"]]))


def claims(metrics: pd.DataFrame, confidence: float = 0.95, lam: float = 0.3,
           demoted: dict | None = None) -> pd.DataFrame:
    """A row per claim and dataset (COLUMNS), from every λ-IJAE run of the metrics table and,
    for the Table 1 claims, λ-IJAE at ``lam`` against each baseline's runs. ``demoted``:
    {(dataset, measure): why} of the measures that fail their controls (calibration.py)."""
    if not 0 < confidence < 1:
        raise UserError(f"confidence = {confidence}: expected a number in (0, 1), e.g. 0.95")
    alpha, demoted = 1 - confidence, demoted or {}
    rows = _rows(metrics, lam)
    for row in rows:
        by_seed = row.get("values")
        values = np.asarray(list((by_seed or {}).values()), float)
        row["per_seed"] = per_seed_text(by_seed) if by_seed else ""
        row["values"] = list(values)
        row["seeds"] = int(np.isfinite(values).sum()) if by_seed is not None else \
            int(row["seeds_dominating"].split(" of ")[1]) if row.get("seeds_dominating") else 0
        if by_seed is not None and row["seeds"] < 2:
            row["note"] = "; ".join(filter(None, [f"{row['seeds']} seed(s): no interval", row["note"]]))
        row["effect"], row["effect_low"], row["effect_high"] = \
            t_interval(values, confidence) if len(values) else (np.nan,) * 3
        row["p"] = stats.p_value(values) if len(values) else np.nan
        row["p_equivalence"] = stats.tost_p(values, row["delta"]) if len(values) else np.nan
        if _calibration_key(row) in demoted:
            row["note"] = "; ".join(filter(None, [demoted[_calibration_key(row)], row["note"]]))
    frame = pd.DataFrame(rows)
    for _, index in frame.groupby(["dataset", "family"]).groups.items():
        family = [rows[i] for i in index if "combines" not in rows[i]
                  and _calibration_key(rows[i]) not in demoted]
        for key in ("p", "p_equivalence"):
            for r, adjusted in zip(family, stats.adjust([r[key] for r in family], alpha)):
                r[f"{key}_holm"] = adjusted
        plan_alpha = alpha / max(1, sum(np.isfinite(r["p"]) for r in family))
        for r in family:
            r["_plan_alpha"] = plan_alpha
    for row in rows:
        row.setdefault("p_holm", np.nan)
        row.setdefault("p_equivalence_holm", np.nan)
        if "combines" in row:
            continue
        row["verdict"], row["verdict_unadjusted"] = _decide(row, alpha, demoted)
        plan = stats.seeds_for_power(row.get("values") or [], row.get("_plan_alpha", alpha)) \
            if row["verdict"] == UNDECIDED else (None, None, None)
        row["seeds_to_decide"] = "" if plan[0] is None else str(plan[0])
        row["seeds_to_decide_range"] = "" if plan[0] is None else f"{plan[1]}–{plan[2]}"
        if row.get("cannot_hold"):
            row["note"] = "; ".join(filter(None, [row["cannot_hold"], row["note"]]))
    _combine(rows)
    return pd.DataFrame(rows).reindex(columns=list(COLUMNS))


def interval_text(row) -> str:
    """The effect and its interval, e.g. '-1.02 [-1.4, -0.61]'."""
    if pd.isna(row["effect"]):
        return "—"
    text = f"{row['effect']:+.3g}"
    if not pd.isna(row["effect_low"]):
        text += f" [{row['effect_low']:+.3g}, {row['effect_high']:+.3g}]"
    return text


def _p(value) -> str:
    return "—" if pd.isna(value) else f"{value:.2g}"


def disagreements(table: pd.DataFrame) -> list[str]:
    """Where a paper-measure claim and its calibrated twin (the next row of the same family)
    reach different verdicts."""
    out = []
    for dataset, block in table.groupby("dataset", sort=True):
        rows = block.reset_index(drop=True)
        for i in range(len(rows) - 1):
            a, b = rows.iloc[i], rows.iloc[i + 1]
            twin = a["role"] == cr.PAPER and b["role"] == cr.CALIBRATED and a["family"] == b["family"]
            if twin and a["verdict"] != b["verdict"]:
                out.append(f"- {dataset}: “{a['claim']}” is **{a['verdict']}** on {a['measure']}, "
                           f"**{b['verdict']}** on {b['measure']} (“{b['claim']}”)")
    return out


def markdown(table: pd.DataFrame, metrics: pd.DataFrame, confidence: float,
             calibrated: bool = True) -> str:
    lines = ["# The paper's claims, decided", "",
             f"Intervals: {confidence:.0%}, Student t over the seeds (unadjusted); verdicts: "
             f"Holm-adjusted tests at {1 - confidence:.0%} per family.", "", RULE, "",
             "Run: " + run_summary(metrics), "",
             "Calibration: " + ("the measures' known-answer controls, calibration.md" if calibrated
                                else "none given: no measure is demoted (`ijae claims --calibration`)"), ""]
    for dataset, block in table.groupby("dataset", sort=True):
        lines += [f"## {dataset}", ""]
        for family, rows in block.groupby("family", sort=False):
            lines += [f"### {family}", "",
                      "| claim | measure | verdict | effect [interval] | δ | p (Holm) | "
                      "seeds where λ-IJAE dominates | seeds to decide (80 % power) | λ | seeds | note |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            for _, r in rows.iterrows():
                role = "calibrated: " if r["role"] == cr.CALIBRATED else ""
                unadjusted = "" if r["verdict_unadjusted"] in (r["verdict"], np.nan) or \
                    pd.isna(r["verdict_unadjusted"]) else f" (unadjusted: {r['verdict_unadjusted']})"
                decide = "—" if not r["seeds_to_decide"] or pd.isna(r["seeds_to_decide"]) else \
                    f"{r['seeds_to_decide']}" + (f" ({r['seeds_to_decide_range']})"
                                                 if isinstance(r["seeds_to_decide_range"], str)
                                                 and r["seeds_to_decide_range"] else "")
                delta = "—" if pd.isna(r["delta"]) else f"{r['delta']:.3g}"
                lines.append(f"| {r['claim']} | {role}{r['measure']} | **{r['verdict']}**{unadjusted} | "
                             f"{interval_text(r)} | {delta} | {_p(r['p_holm'])} | "
                             f"{r['seeds_dominating'] or '—'} | {decide} | {r['lambdas']} | "
                             f"{r['seeds']} | {r['note'] if isinstance(r['note'], str) else ''} |")
            lines.append("")
    split = disagreements(table)
    lines += ["## Where the paper's measure and the calibrated one disagree", ""] + \
        (split or ["Nowhere: every calibrated twin reaches its paper claim's verdict."]) + [""]
    return "\n".join(lines)


def write_claims(metrics_csv: str | Path, out_dir: str | Path, confidence: float = 0.95,
                 lam: float = 0.3, calibration=None) -> pd.DataFrame:
    """claims.csv and claims.md in ``out_dir`` from a metrics table (and ``calibration``, the
    controls' records of `ijae calibrate`: a measure failing its controls is demoted)."""
    from ijae.report.calibration import read_demoted

    metrics = read_metrics(metrics_csv)
    demoted = read_demoted(calibration)
    table = claims(metrics, confidence, lam, demoted=demoted)
    out = Path(out_dir)
    atomic_write_text(out / "claims.csv", table.to_csv(index=False))
    atomic_write_text(out / "claims.md", markdown(table, metrics, confidence, calibrated=bool(calibration)))
    return table
