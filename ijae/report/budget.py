"""Do the verdicts survive a longer run? The claims re-decided at each training budget, and
whether each variant's learning curve has settled: claims_budget.csv / .md, budget_convergence.csv.

The records are those of the budget runs' snapshots (train.snapshot_steps, RUN/steps/<N>/), each
naming the step of the weights it scored (``train_step``). A budget is a step count; its name is
the multiple of the base budget (the default profile's 1,200 steps: 1×, 2×, 4×).

- **Claims per budget**: the claims of report/claims.py (the λ trends and the Figure 2 dominance),
  decided by the same rule on the records of one step at a time. Records of different steps are
  never pooled: each budget's rows come from the records of that step alone.
- **Settled or still moving**: the change over the last doubling of the budget (the per-seed
  difference between the last budget and the one before, its mean and t interval), for every
  measure a claim uses (per dataset, variant and λ) and for every claim's own effect (a slope, a
  hypervolume gap, a paired difference): **settled** when the whole interval lies within ±δ, the
  measure's declared smallest effect of interest (claims.md; convergence, not merely no evidence
  of change), **still moving** when it leaves 0 out, **undetermined** otherwise (too few seeds to
  tell). The claims table says which verdicts at the last budget rest on effects not settled.

Pure: pandas and numpy on the metric records alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ijae import UserError
from ijae.contract import atomic_write_text
from ijae.metrics import keys as K
from ijae.report import claim_rows
from ijae.report import claims as claims_mod
from ijae.report.records import read_metrics, run_summary, variant_name
from ijae.report.stats import t_interval

MEASURES = tuple(claim_rows.DELTAS)     # every measure a claim uses
SETTLED, MOVING, UNDETERMINED = "settled", "still moving", "undetermined"
CONVERGENCE_COLUMNS = ("dataset", "variant", "lambda", "measure", "steps", "budget", "seeds",
                       "last_mean", "last_std", "change_last_doubling", "change_low", "change_high",
                       "delta", "verdict")
EFFECT_COLUMNS = ("dataset", "claim", "budget", "seeds", "last_effect", "change_last_doubling",
                  "change_low", "change_high", "delta", "verdict")


def settled_verdict(change, delta: float, confidence: float) -> tuple[float, float, float, str]:
    """(mean, low, high, verdict) of per-seed changes: settled when the interval lies within
    ±delta, still moving when it leaves 0 out, undetermined otherwise."""
    mean, low, high = t_interval(change, confidence)
    if np.isnan(low):
        return mean, low, high, f"{UNDETERMINED} ({len(change)} seed(s))"
    if np.isfinite(delta) and -delta < low and high < delta:
        return mean, low, high, SETTLED
    if low > 0 or high < 0:
        return mean, low, high, MOVING
    return mean, low, high, UNDETERMINED


def checked(metrics: pd.DataFrame) -> pd.DataFrame:
    """``metrics`` with an integer ``train_step``; a record without one is refused, naming it
    (a record written before train_step existed, or by a model whose training keeps no timing)."""
    if K.KEY_TRAIN_STEP not in metrics.columns:
        raise UserError(f"the metrics table has no {K.KEY_TRAIN_STEP} column: its records name no "
                        "training step; score the snapshots again with `ijae evaluate`")
    missing = metrics[metrics[K.KEY_TRAIN_STEP].isna()]
    if not missing.empty:
        r = missing.iloc[0]
        run = r[K.KEY_RUN] if K.KEY_RUN in r and pd.notna(r[K.KEY_RUN]) else _identity(r)
        raise UserError(f"{len(missing)} record(s) name no {K.KEY_TRAIN_STEP} (first: {run}); a budget "
                        "table cannot place them: score those runs again with `ijae evaluate`")
    out = metrics.copy()
    out[K.KEY_TRAIN_STEP] = out[K.KEY_TRAIN_STEP].astype(int)
    keys = [K.KEY_DATASET, K.KEY_MODEL, K.KEY_VARIANT, K.KEY_LAMBDA, K.KEY_SEED, K.KEY_TRAIN_STEP]
    twice = out[out.duplicated([k for k in keys if k in out.columns], keep=False)]
    if not twice.empty:
        r = twice.iloc[0]
        raise UserError(f"two records of one run at one step ({_identity(r)}, step "
                        f"{r[K.KEY_TRAIN_STEP]}); collect each snapshot once")
    return out


def _identity(r) -> str:
    return (f"{r[K.KEY_DATASET]} {r[K.KEY_MODEL]} {r.get(K.KEY_VARIANT)} λ = {r.get(K.KEY_LAMBDA)} "
            f"seed {int(r[K.KEY_SEED])}")


def budget_name(step: int, base_steps: int) -> str:
    multiple = step / base_steps
    return f"{multiple:g}×"


def claims_by_budget(metrics: pd.DataFrame, base_steps: int, confidence: float = 0.95,
                     lam: float = 0.3, demoted: dict | None = None) -> pd.DataFrame:
    """claims.claims on the records of each step, one block per step (columns steps, budget
    first); ``demoted``: the measures that fail their controls (claims.md's rule)."""
    metrics = checked(metrics)
    blocks = []
    for step, part in metrics.groupby(K.KEY_TRAIN_STEP, sort=True):
        table = claims_mod.claims(part, confidence, lam, demoted=demoted)
        table.insert(0, "budget", budget_name(step, base_steps))
        table.insert(0, "steps", int(step))
        blocks.append(table)
    return pd.concat(blocks, ignore_index=True)


def convergence(metrics: pd.DataFrame, base_steps: int, confidence: float = 0.95) -> pd.DataFrame:
    """A row per dataset, variant, λ and measure: the change over the last doubling, and whether
    it settled within the measure's δ (module docstring)."""
    metrics = claim_rows.with_shares(checked(metrics))
    rows = []
    group = [K.KEY_DATASET, K.KEY_VARIANT, K.KEY_LAMBDA]
    for (dataset, variant, lam), part in metrics[metrics[K.KEY_MODEL] == "ijae"].groupby(group, sort=True):
        steps = sorted(part[K.KEY_TRAIN_STEP].unique())
        if len(steps) < 2:
            continue
        last, before = steps[-1], steps[-2]
        for measure in (m for m in MEASURES if m in part.columns and part[m].notna().any()):
            at = {s: part[part[K.KEY_TRAIN_STEP] == s].set_index(K.KEY_SEED)[measure] for s in (last, before)}
            change = (at[last] - at[before]).dropna().to_numpy(float)
            delta = claim_rows.delta_of(measure, part[part[K.KEY_TRAIN_STEP] == last])
            mean, low, high, verdict = settled_verdict(change, delta, confidence)
            spread = float(np.std(at[last].dropna(), ddof=1)) if at[last].notna().sum() >= 2 else np.nan
            rows.append({"dataset": dataset, "variant": variant, "lambda": lam, "measure": measure,
                         "steps": f"{before} → {last}",
                         "budget": f"{budget_name(before, base_steps)} → {budget_name(last, base_steps)}",
                         "seeds": len(change), "last_mean": float(at[last].mean()),
                         "last_std": spread, "change_last_doubling": mean, "change_low": low,
                         "change_high": high, "delta": delta, "verdict": verdict})
    return pd.DataFrame(rows, columns=list(CONVERGENCE_COLUMNS))


def effect_convergence(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """A row per dataset and claim decided at the last two budgets: the change of the claim's
    own per-seed effect (slope, hypervolume gap, paired difference) over the last doubling."""
    rows = []
    budgets = list(dict.fromkeys(table.sort_values("steps")["budget"]))
    if len(budgets) < 2:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    before, last = budgets[-2], budgets[-1]
    for (dataset, claim), part in table.groupby(["dataset", "claim"], sort=False):
        at = {b: part[part["budget"] == b] for b in (before, last)}
        if any(v.empty for v in at.values()):
            continue
        values = {b: claims_mod.per_seed_values(v.iloc[0]["per_seed"]) for b, v in at.items()}
        seeds = sorted(set(values[before]) & set(values[last]))
        if not seeds:
            continue
        change = np.array([values[last][s] - values[before][s] for s in seeds])
        delta = float(at[last].iloc[0]["delta"])
        mean, low, high, verdict = settled_verdict(change, delta, confidence)
        rows.append({"dataset": dataset, "claim": claim, "budget": f"{before} → {last}",
                     "seeds": len(seeds), "last_effect": float(at[last].iloc[0]["effect"]),
                     "change_last_doubling": mean, "change_low": low, "change_high": high,
                     "delta": delta, "verdict": verdict})
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def _fmt(value) -> str:
    return "—" if pd.isna(value) else f"{value:+.3g}"


def _interval(r) -> str:
    return f"{_fmt(r['change_last_doubling'])} [{_fmt(r['change_low'])}, {_fmt(r['change_high'])}]"


def markdown(table: pd.DataFrame, settled: pd.DataFrame, effects: pd.DataFrame,
             metrics: pd.DataFrame, base_steps: int, confidence: float) -> str:
    budgets = list(dict.fromkeys(table["budget"]))
    moving = {(r["dataset"], r["claim"]): r["verdict"] for _, r in effects.iterrows()}
    lines = ["# The claims at each training budget", "",
             f"Budgets: {', '.join(budgets)} of {base_steps} steps, each the snapshot of one longer "
             f"run per seed (train.snapshot_steps). Intervals: {confidence:.0%}, Student t over the "
             "seeds. Each budget's verdicts come from the records of that step alone, by the rule "
             "of claims.md (each budget's claims are their own families):", "", claims_mod.RULE, "",
             "Settled: " + __doc__.split("- **Settled or still moving**: ", 1)[1].split("\n\nPure:")[0]
             .replace("\n  ", " ").strip(), "", "Run: " + run_summary(metrics), ""]
    for dataset, block in table.groupby("dataset", sort=True):
        lines += [f"## {dataset}", "", "| claim | " + " | ".join(budgets) + " | its effect, last doubling |",
                  "| --- |" + " --- |" * (len(budgets) + 1)]
        for claim, rows in block.groupby("claim", sort=False):
            cells = []
            for budget in budgets:
                row = rows[rows["budget"] == budget]
                cells.append("—" if row.empty else
                             f"**{row.iloc[0]['verdict']}** {claims_mod.interval_text(row.iloc[0])}")
            lines.append(f"| {claim} | " + " | ".join(cells) + f" | {moving.get((dataset, claim), '—')} |")
        lines.append("")
    resting = [f"- {r['dataset']}: {r['claim']}: its effect is {r['verdict']} ({_interval(r)}, δ "
               f"{r['delta']:.3g})" for _, r in effects.iterrows() if r["verdict"] != SETTLED]
    lines += ["## Verdicts whose effect has not settled", "",
              "At the last budget, these claims' own effects (per seed) still changed over the last "
              "doubling, or cannot be told apart from a change: their verdicts may move with a "
              "longer run.", ""] + (resting or ["None."]) + [""]
    lines += ["## Settled or still moving, per measure", "",
              "| dataset | variant | λ | measure | budget | last (mean ± std) | change [interval] | δ | verdict |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in settled.iterrows():
        lines.append(f"| {r['dataset']} | {variant_name(r['variant'])} | {r['lambda']:g} | {r['measure']} | "
                     f"{r['budget']} | {r['last_mean']:.3g} ± {r['last_std']:.2g} | {_interval(r)} | "
                     f"{r['delta']:.3g} | **{r['verdict']}** |")
    return "\n".join(lines) + "\n"


def write_budget(metrics_csv: str | Path, out_dir: str | Path, base_steps: int,
                 confidence: float = 0.95, lam: float = 0.3, calibration=None):
    """claims_budget.csv / .md, budget_convergence.csv and budget_effects.csv in ``out_dir``
    (``calibration``: the controls' records, as for claims.md); returns (claims per budget,
    convergence, the records read) for the figures."""
    from ijae.report.calibration import read_demoted

    if base_steps < 1:
        raise UserError(f"base steps {base_steps}: expected a positive integer (the 1× budget)")
    metrics = read_metrics(metrics_csv)
    table = claims_by_budget(metrics, base_steps, confidence, lam, demoted=read_demoted(calibration))
    settled = convergence(metrics, base_steps, confidence)
    effects = effect_convergence(table, confidence)
    out = Path(out_dir)
    atomic_write_text(out / "claims_budget.csv", table.to_csv(index=False))
    atomic_write_text(out / "budget_convergence.csv", settled.to_csv(index=False))
    atomic_write_text(out / "budget_effects.csv", effects.to_csv(index=False))
    atomic_write_text(out / "claims_budget.md",
                      markdown(table, settled, effects, metrics, base_steps, confidence))
    return table, settled, metrics
