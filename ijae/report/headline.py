"""The README's headline table: how the paper's claims came out, counted from claims.csv.

One row per family of claims (the λ trends, the Figure 2 fronts, Table 1), one column per
dataset, each cell the verdicts of the family's headline rows (λ > 0 for the trends; the paper's
measure and its calibrated twin both counted). `python -m ijae.reference` writes it into the
README between its headline markers; the claims themselves, with effects and intervals, are in
claims.md.

Pure: pandas on the claims table alone (claims.py only for its verdicts' names).
"""
from __future__ import annotations

import pandas as pd

from ijae.report import claims as C

# the verdicts (claims.py's), in the order a reader wants them, with their short labels
VERDICTS = {C.HOLDS: "hold", C.REFUTED: "refuted", C.NO_EFFECT: "no effect > δ",
            C.UNDECIDED: "undecided", C.DEMOTED: "not decided (fails its controls)",
            C.NOT_RANKED: "not ranked (collapsed)"}


def _cell(verdicts: pd.Series) -> str:
    counts = verdicts.value_counts()
    unknown = sorted(set(counts.index) - set(VERDICTS))
    if unknown:
        raise ValueError(f"claims.csv: unknown verdict(s) {unknown}")
    parts = [f"{counts[v]} {label}" for v, label in VERDICTS.items() if v in counts]
    return f"{len(verdicts)}: " + ", ".join(parts)


def headline_markdown(claims: pd.DataFrame, profile: str) -> str:
    """The headline table (markdown) from a claims.csv table (ijae/report/claims.py COLUMNS)."""
    rows = claims[claims["headline"].astype(bool)]
    datasets = list(dict.fromkeys(rows["dataset"]))
    seeds = int(rows["seeds"].max()) if rows["seeds"].notna().any() else 0
    lines = ["| claims | " + " | ".join(d.replace("_", " ") for d in datasets) + " |",
             "| --- | " + " | ".join("---" for _ in datasets) + " |"]
    for family in dict.fromkeys(rows["family"]):
        cells = [_cell(rows[(rows["family"] == family) & (rows["dataset"] == d)]["verdict"])
                 for d in datasets]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines += ["", f"Counted from [claims.md](results/{profile}/claims.md) (profile {profile}; "
              f"{seeds} seeds; verdicts Holm-adjusted within each family; "
              "each claim on the paper's measure and on its calibrated twin)."]
    return "\n".join(lines)
