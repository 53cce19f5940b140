"""Table 1 as LaTeX (booktabs), one block per dataset, best value per column in bold as the
paper prints it: highest IS, lowest FID and reconstruction among our rows, and separately
among the paper's values beside them."""
from __future__ import annotations

import pandas as pd

from ijae.metrics.keys import (KEY_BACKEND, KEY_DATASET, KEY_METRIC_FID, KEY_METRIC_IS_MEAN,
                               KEY_METRIC_IS_STD, KEY_METRIC_RECON_MEAN, KEY_METRIC_RECON_STD,
                               KEY_RECON_METRIC)
from ijae.report.provenance import FRESH, PROVENANCE
from ijae.report.records import FID_STD, METHOD, N_COLLAPSED, N_SEEDS, our_key, paper_key

CACHED_MARK = r"$^\dagger$"   # beside a row that is not fresh (ijae/report/provenance.py)
COLLAPSED_MARK = r"$^\ddagger$"   # beside a row with a collapsed seed: never bold (not ranked)

LATEX_SPECIALS = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "\\": r"\textbackslash{}",
                  "λ": r"$\lambda$", "α": r"$\alpha$", "±": r"$\pm$", "—": "---", "↑": r"$\uparrow$",
                  "↓": r"$\downarrow$"}


def escape(text: str) -> str:
    return "".join(LATEX_SPECIALS.get(c, c) for c in str(text))


def _cell(mean, std, digits: int, bold: bool) -> str:
    if pd.isna(mean):
        return "---"
    text = f"{mean:.{digits}f}" + ("" if pd.isna(std) else rf" $\pm$ {std:.{digits}f}")
    return rf"\textbf{{{text}}}" if bold else text


def _best(values: pd.Series, higher: bool, ranked: pd.Series | None = None) -> pd.Series:
    """Which entries hold the column's best value among the ``ranked`` ones (ties all bold; NaN
    never)."""
    if ranked is not None:
        values = values.where(ranked)
    if values.notna().sum() == 0:
        return pd.Series(False, index=values.index)
    best = values.max() if higher else values.min()
    return (values - best).abs() < 1e-12


def table1_latex(rows: pd.DataFrame, paper: pd.DataFrame | None, profile: str) -> str:
    lines = [f"% Table 1, {profile} profile (ijae table1); needs \\usepackage{{booktabs}}"]
    for (dataset, backend), block in rows.groupby([KEY_DATASET, KEY_BACKEND], sort=True):
        theirs = None if paper is None else paper[paper["dataset"] == dataset]
        side = theirs is not None and not theirs.empty
        block = block.reset_index(drop=True)
        collapsed = block[N_COLLAPSED] > 0 if N_COLLAPSED in block.columns \
            else pd.Series(False, index=block.index)
        bold_is = _best(block[KEY_METRIC_IS_MEAN], True, ~collapsed)
        bold_fid = _best(block[KEY_METRIC_FID], False, ~collapsed)
        bold_rec = _best(block[KEY_METRIC_RECON_MEAN], False, ~collapsed)
        cached = (block[PROVENANCE] != FRESH) if PROVENANCE in block.columns \
            else pd.Series(False, index=block.index)
        seeds = "over seeds" if (block[N_SEEDS] > 1).all() else (
            "over IS splits / test images of one seed" if (block[N_SEEDS] == 1).all()
            else "over seeds where a row has several, else over IS splits / images")
        lines += [r"\begin{table}[t]", r"\centering",
                  rf"\caption{{Table 1, {escape(dataset)} ({escape(backend)} backend, "
                  rf"{escape(profile)} profile); $\pm$: standard deviation {seeds}."
                  + (" Paper: the values printed in the paper." if side else "")
                  + (rf" {CACHED_MARK}: cached, from the committed records (its run is not in "
                     "this work folder)." if cached.any() else "")
                  + (rf" {COLLAPSED_MARK}: collapsed in a seed (degenerate samples), not ranked."
                     if collapsed.any() else "") + "}",
                  r"\begin{tabular}{l" + "c" * (3 + 2 * side) + "}", r"\toprule",
                  "Method & IS $\\uparrow$ & FID $\\downarrow$ & "
                  + escape(block[KEY_RECON_METRIC].iloc[0]) + " $\\downarrow$"
                  + (r" & Paper IS $\uparrow$ & Paper LPIPS $\downarrow$" if side else "")
                  + r" \\", r"\midrule"]
        if side:
            by_key = {paper_key(str(m)): r for m, r in zip(theirs["method"], theirs.to_dict("records"))}
            matched = [by_key.get(our_key(r)) for _, r in block.iterrows()]
            p_is = pd.Series([m["is_mean"] if m else float("nan") for m in matched])
            p_lp = pd.Series([m["lpips_mean"] if m else float("nan") for m in matched])
            bold_pis, bold_plp = _best(p_is, True), _best(p_lp, False)
        for i, r in block.iterrows():
            cells = [escape(r[METHOD]) + (CACHED_MARK if cached[i] else "")
                     + (COLLAPSED_MARK if collapsed[i] else ""),
                     _cell(r[KEY_METRIC_IS_MEAN], r[KEY_METRIC_IS_STD], 2, bold_is[i]),
                     _cell(r[KEY_METRIC_FID], r[FID_STD], 2, bold_fid[i]),
                     _cell(r[KEY_METRIC_RECON_MEAN], r[KEY_METRIC_RECON_STD], 3, bold_rec[i])]
            if side:
                m = matched[i] or {}
                cells += [_cell(m.get("is_mean"), m.get("is_std"), 2, bold_pis[i]),
                          _cell(m.get("lpips_mean"), m.get("lpips_std"), 2, bold_plp[i])]
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)
