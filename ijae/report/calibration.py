"""The calibration table: does each measure order its known-answer controls? calibration.md,
calibration.csv and calibration.png from the controls' records (ijae/metrics/calibration.py).

Rule, per dataset and measure (MEASURES: its better direction and what it is used for): the
measure **passes** when both positive controls (real test and real train images) score better
than every degenerate control; the **margin** is the gap between the worse positive and the best
degenerate control, in the measure's units. A measure a claim rests on that does not pass is
**demoted**: its claims are shown with their numbers and not decided (report/claims.py). The
blurred controls (poor, not degenerate) should fall between: "orders blur" says whether real ≥
mild blur ≥ strong blur. The collapse guard is checked as a whole (it must flag every degenerate
control and pass every positive and poor one), the data-copying test C_T by its known answers
(about 0 on the real test images; below -3 on copies of train images, real_train included).

Pure: pandas on the records.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ijae.contract import atomic_write_text
from ijae.metrics import keys as K
from ijae.metrics.calibration import CONTROL, CONTROL_KIND
from ijae.metrics.controls import DEGENERATE, POOR, POSITIVE

PAPER, CALIBRATED, CLAIMS, REPORTED = ("claims: the paper's measure", "claims: calibrated twin",
                                       "claims", "reported")
COPYING_LIMIT = -3.0          # C_T below this: copies of the train split (Meehan et al.)


@dataclass(frozen=True)
class Measure:
    key: str
    sign: int        # +1: higher is better; -1: lower is better
    role: str


MEASURES = (
    Measure(K.KEY_METRIC_IS_MEAN, +1, PAPER),
    Measure(K.KEY_METRIC_FID, -1, f"{CALIBRATED} (of IS); tuning criterion"),
    Measure(K.KEY_METRIC_KID_MEAN, -1, REPORTED),
    Measure(K.KEY_METRIC_PRECISION, +1, CLAIMS),
    Measure(K.KEY_METRIC_DENSITY, +1, REPORTED),
    Measure(K.KEY_METRIC_RECALL, +1, CLAIMS),
    Measure(K.KEY_METRIC_COVERAGE, +1, f"{CALIBRATED} (of recall)"),
    Measure(K.KEY_METRIC_MODES_COVERED, +1, CLAIMS),
    Measure(K.KEY_METRIC_MODES_COVERED_ACCEPTED, +1, f"{CALIBRATED} (of modes covered)"),
    Measure(K.KEY_METRIC_MODE_KL, -1, CLAIMS),
    Measure(K.KEY_METRIC_MODE_KL_ACCEPTED, -1, f"{CALIBRATED} (of mode KL)"),
)
BY_KEY = {m.key: m for m in MEASURES}
GUARD_KEYS = (K.KEY_SAMPLE_CONTRAST_RATIO, K.KEY_SAMPLE_SPREAD_RATIO, K.KEY_DUPLICATE_SHARE,
              K.KEY_TOP_MODES_SHARE, K.KEY_ACCEPTED_DIGIT_SHARE)
ORDER_COLUMNS = ("dataset", "measure", "better", "role", "passes", "margin", "worst_positive",
                 "best_degenerate", "orders_blur")


def ordering(table: pd.DataFrame) -> pd.DataFrame:
    """A row per dataset and measure of MEASURES the records hold: passes, margin, the controls
    that bound it, and whether it orders the blurred controls."""
    rows = []
    for dataset, part in table.groupby("dataset", sort=False):
        for m in MEASURES:
            if m.key not in part.columns or part[m.key].isna().all():
                continue
            value = part.set_index(CONTROL)[m.key].astype(float) * m.sign   # higher: better
            kind = part.set_index(CONTROL)[CONTROL_KIND]
            pos, deg, poor = (value[kind == k].dropna() for k in (POSITIVE, DEGENERATE, POOR))
            if pos.empty or deg.empty:
                continue
            margin = pos.min() - deg.max()
            blur = [value.get(c) for c in ("blur_mild", "blur_strong")]
            orders_blur = (None if any(b is None or np.isnan(b) for b in blur)
                           else bool(pos.min() >= blur[0] >= blur[1]))
            rows.append({"dataset": dataset, "measure": m.key,
                         "better": "higher" if m.sign > 0 else "lower", "role": m.role,
                         "passes": bool(margin > 0), "margin": float(margin),
                         "worst_positive": f"{pos.idxmin()} {m.sign * pos.min():.4g}",
                         "best_degenerate": f"{deg.idxmax()} {m.sign * deg.max():.4g}",
                         "orders_blur": orders_blur})
    return pd.DataFrame(rows, columns=list(ORDER_COLUMNS))


def demoted(order: pd.DataFrame) -> dict:
    """{(dataset, measure): why} for every measure that fails its controls on a dataset."""
    return {(r["dataset"], r["measure"]): f"{r['measure']} fails its controls on {r['dataset']}: "
            f"{r['best_degenerate']} scores as well as {r['worst_positive']} (calibration.md)"
            for _, r in order.iterrows() if not r["passes"]}


def guard_check(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and control: the guard's verdict, and whether it is the known answer
    (degenerate: collapsed; positive and poor: not)."""
    out = table[["dataset", CONTROL, CONTROL_KIND, K.KEY_COLLAPSED, K.KEY_COLLAPSE_REASON]].copy()
    out["right"] = out[K.KEY_COLLAPSED].astype(bool) == (out[CONTROL_KIND] == DEGENERATE)
    return out


def copying_check(table: pd.DataFrame) -> pd.DataFrame:
    """C_T per dataset on the real test images (about 0) and the train copies (below -3)."""
    rows = []
    for dataset, part in table.groupby("dataset", sort=False):
        ct = part.set_index(CONTROL)[K.KEY_METRIC_COPYING]
        copies = [c for c in ct.index if c.startswith("copies_") or c == "real_train"]
        rows.append({"dataset": dataset, "real_test": ct.get("real_test"),
                     "highest_copy": max(copies, key=lambda c: ct[c]) if copies else None,
                     "highest_copy_ct": max(ct[c] for c in copies) if copies else None,
                     "passes": bool(abs(ct.get("real_test", np.nan)) < -COPYING_LIMIT
                                    and all(ct[c] < COPYING_LIMIT for c in copies))})
    return pd.DataFrame(rows)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return f"{value:.3g}" if isinstance(value, (float, np.floating)) else str(value)


def markdown(table: pd.DataFrame, order: pd.DataFrame) -> str:
    guard, copying = guard_check(table), copying_check(table)
    doc = __doc__.split("\n\n", 1)[1].rsplit("\nPure:", 1)[0].strip()
    lines = ["# Calibration: the measures on known-answer controls", "", doc, ""]
    keys = [m.key for m in MEASURES if m.key in table.columns] + \
        [k for k in (K.KEY_ACCEPTED_SHARE, K.KEY_ACCEPTED_DIGIT_SHARE, K.KEY_DUPLICATE_SHARE,
                     K.KEY_TOP_MODES_SHARE,
                     K.KEY_METRIC_COPYING) if k in table.columns]
    for dataset, part in table.groupby("dataset", sort=False):
        first = part.loc[part[K.KEY_N_SAMPLES].idxmax()]   # a full-size control
        lines += [f"## {dataset}", "",
                  f"Backend {first[K.KEY_BACKEND]}; {_cell(first.get(K.KEY_N_SAMPLES))} images a "
                  f"control (a real split smaller than that gives all of it, column n); IS at "
                  f"{_cell(first.get(K.KEY_IS_SPLIT_SIZE))} samples a split (a perfect sampler: "
                  f"{_cell(first.get(K.KEY_IS_CEILING))}; a smaller control: one split of all); "
                  f"commit {str(first.get(K.KEY_GIT_COMMIT))[:7]}.",
                  "", "| control | kind | n | " + " | ".join(keys) + " | guard |",
                  "| --- | --- | --- | " + " | ".join("---" for _ in keys) + " | --- |"]
        for _, r in part.iterrows():
            verdict = f"collapsed: {r[K.KEY_COLLAPSE_REASON]}" if r[K.KEY_COLLAPSED] else "passes"
            lines.append(f"| {r[CONTROL]} | {r[CONTROL_KIND]} | {int(r[K.KEY_N_SAMPLES])} | "
                         + " | ".join(_cell(r.get(k)) for k in keys) + f" | {verdict} |")
        lines += ["", "| measure | better | used for | passes | margin | worst positive | "
                  "best degenerate | orders blur |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for _, r in order[order["dataset"] == dataset].iterrows():
            lines.append(f"| {r['measure']} | {r['better']} | {r['role']} | "
                         f"**{_cell(r['passes'])}** | {_cell(r['margin'])} | {r['worst_positive']} | "
                         f"{r['best_degenerate']} | {_cell(r['orders_blur'])} |")
        g = guard[guard["dataset"] == dataset]
        c = copying[copying["dataset"] == dataset].iloc[0]
        lines += ["", f"Collapse guard: {int(g['right'].sum())} of {len(g)} controls answered "
                  f"right{'' if g['right'].all() else ' (wrong: ' + ', '.join(g.loc[~g['right'], CONTROL]) + ')'}. "
                  f"Data copying C_T: real test images {_cell(c['real_test'])}, the highest of the "
                  f"train copies {_cell(c['highest_copy_ct'])} ({c['highest_copy']}): "
                  f"{'passes' if c['passes'] else 'fails'}.", ""]
    return "\n".join(lines)


def figure(table: pd.DataFrame, out: str | Path) -> Path:
    """A panel per dataset (row) and measure (column): every control's value, coloured by kind."""
    from ijae.report import plotting

    plt = plotting.pyplot()
    keys = [m.key for m in MEASURES if m.key in table.columns]
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(len(datasets), len(keys), figsize=(2.0 * len(keys), 3.6 * len(datasets)),
                             squeeze=False, sharey="row")
    colours = {POSITIVE: "tab:green", POOR: "tab:orange", DEGENERATE: "tab:red"}
    for row, dataset in enumerate(datasets):
        part = table[table["dataset"] == dataset].reset_index(drop=True)
        for col, key in enumerate(keys):
            ax = axes[row][col]
            ax.scatter(part[key], part.index, c=[colours[k] for k in part[CONTROL_KIND]], s=18)
            if col == 0:   # the rows share their y axis: the names once, at the left
                ax.set_yticks(part.index, part[CONTROL], fontsize=7)
                ax.invert_yaxis()
            else:
                ax.tick_params(labelleft=False)
            better = "↑" if BY_KEY[key].sign > 0 else "↓"
            ax.set_title(f"{key} {better}" if row == 0 else "", fontsize=8)
            ax.tick_params(axis="x", labelsize=6)
            ax.grid(axis="x", lw=0.3)
        axes[row][0].set_ylabel(dataset)
    plotting.caption(fig, ["Each measure on the known-answer controls: green real images, orange "
                           "blurred real images, red degenerate sets (noise, copies, one mode, "
                           "inverted, constant). A measure passes when every green point is "
                           "better (arrow) than every red one."], width=160)
    return plotting.save(fig, out)


def write_calibration(records_csvs, out_dir: str | Path) -> pd.DataFrame:
    """calibration.csv / .md / .png in ``out_dir`` from the controls' CSVs; returns the ordering."""
    table = pd.concat([pd.read_csv(p) for p in records_csvs], ignore_index=True)
    order = ordering(table)
    out = Path(out_dir)
    lead = ["dataset", CONTROL, CONTROL_KIND, K.KEY_N_SAMPLES]
    keys = [k for k in (*BY_KEY, *GUARD_KEYS, K.KEY_METRIC_COPYING, K.KEY_IS_REAL, K.KEY_IS_CEILING,
                        K.KEY_IS_SPLIT_SIZE, K.KEY_COLLAPSED, K.KEY_COLLAPSE_REASON, K.KEY_BACKEND,
                        K.KEY_GIT_COMMIT) if k in table.columns]
    atomic_write_text(out / "calibration.csv",
                      table[lead + list(dict.fromkeys(keys))].to_csv(index=False))
    atomic_write_text(out / "calibration_order.csv", order.to_csv(index=False))
    atomic_write_text(out / "calibration.md", markdown(table, order))
    figure(table, out / "calibration")
    return order


def read_demoted(records_csvs) -> dict:
    """demoted() of the ordering of the controls' records in ``records_csvs`` (`ijae calibrate`'s
    CSVs); {} for none."""
    if not records_csvs:
        return {}
    paths = [records_csvs] if isinstance(records_csvs, (str, Path)) else list(records_csvs)
    return demoted(ordering(pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)))
