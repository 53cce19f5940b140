"""Metric records as tables: reading metrics.csv, method labels, and one point per method over
seeds. Pure: pandas on the records alone (no checkpoint, no model registry, no torch)."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ijae import UserError
from ijae.metrics.keys import (KEY_BACKEND, KEY_DATASET, KEY_GIT_COMMIT, KEY_IMPLEMENTATION,
                               KEY_IS_STD_OVER, KEY_LABEL, KEY_LAMBDA, KEY_METRIC_FID,
                               KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD, KEY_METRIC_RECON_MEAN,
                               KEY_METRIC_RECON_STD, KEY_MODEL, KEY_N_RECONSTRUCTIONS,
                               KEY_N_SAMPLES, KEY_PROFILE, KEY_RECON_STD_OVER, KEY_RUN, KEY_SEED,
                               KEY_VARIANT, TABLE_KEYS)
from ijae.metrics.keys import (KEY_METRIC_MODE_KL, KEY_METRIC_MODES_COVERED, KEY_METRIC_PRECISION,
                               KEY_METRIC_RECALL, KEY_METRIC_RECON_CHANNEL_AGREEMENT,
                               KEY_METRIC_RECON_LABEL_AGREEMENT, KEY_ORIGINALS_ACCURACY,
                               KEY_RECON_LABEL_AGREEMENT_CHANCE)
from ijae.metrics.keys import KEY_COLLAPSE_REASON, KEY_COLLAPSED, KEY_PRESET_KIND
from ijae.metrics import keys as K
from ijae.report import provenance as prov

REQUIRED = TABLE_KEYS
SUFFIX = {"port": " [port]", "port (from paper)": " [port from paper]"}  # by implementation
VARIANT_NAMES = {"implicit": "λ-IJAE", "l1": "λ-IJAE-L1", "l2": "λ-IJAE-L2"}
LABEL_AGREEMENT_KEYS = (KEY_METRIC_RECON_LABEL_AGREEMENT, KEY_RECON_LABEL_AGREEMENT_CHANCE,
                        KEY_ORIGINALS_ACCURACY)
# digits-backend and precision / recall numbers a row over several seeds shows as their mean
SEED_MEAN_KEYS = (*LABEL_AGREEMENT_KEYS, KEY_METRIC_RECON_CHANNEL_AGREEMENT,
                  KEY_METRIC_MODES_COVERED, KEY_METRIC_MODE_KL, KEY_METRIC_PRECISION,
                  KEY_METRIC_RECALL, K.KEY_METRIC_COVERAGE, K.KEY_METRIC_DENSITY,
                  K.KEY_METRIC_MODES_COVERED_ACCEPTED, K.KEY_METRIC_MODE_KL_ACCEPTED,
                  K.KEY_ACCEPTED_SHARE, K.KEY_IS_REAL, K.KEY_IS_CEILING)
METHOD = "method"        # the table's label column, made here from the record (method_label)
N_SEEDS = "n_seeds"      # columns added by over_seeds
N_COLLAPSED = "n_collapsed"        # how many of the row's seeds collapsed (ijae/metrics/collapse.py)
COLLAPSE_NOTE = "collapse_note"    # which seeds collapsed and the measures that decided it
PRESETS = "presets"                # the presets of the row's runs: hand, tuned
SEEDS = "seeds"
RUNS = "runs"
FID_STD = "fid_std"
# what identifies one method (one point of a figure, one row of Table 1) across seeds
METHOD_KEYS = (KEY_DATASET, KEY_BACKEND, KEY_MODEL, KEY_VARIANT, KEY_LAMBDA, KEY_LABEL,
               KEY_IMPLEMENTATION)


def read_table(path: str | Path, required, what: str, made_by: str, expected: str) -> pd.DataFrame:
    """A CSV table with ``required`` columns; a missing file or column is one line naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} not found ({made_by})")
    table = pd.read_csv(path)
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected {expected}")
    return table


def read_metrics(path: str | Path, required=REQUIRED) -> pd.DataFrame:
    """The metrics table ``ijae collect`` wrote; a missing ``required`` column is one line saying
    to score the runs again (records written before that column existed)."""
    return read_table(path, required, "metrics table", "make it with `ijae collect`",
                      "the records of `ijae evaluate` (records written before these columns "
                      "existed: run `ijae evaluate` on their runs again, then `ijae collect`)")


def variant_name(variant) -> str:
    return VARIANT_NAMES.get(variant, f"λ-IJAE-{variant}")


def method_label(row) -> str:
    """Table label, from the record alone; a port says so in every table it appears in."""
    label = row[KEY_LABEL]
    if row[KEY_MODEL] == "ijae":
        label = f"{variant_name(row[KEY_VARIANT])} (λ = {row[KEY_LAMBDA]:g})"
    return label + SUFFIX.get(row[KEY_IMPLEMENTATION], "")


def run_name(row) -> str:
    """The run's folder name (records store the folder's path)."""
    run = row.get(KEY_RUN) if hasattr(row, "get") else None
    return "" if run is None or pd.isna(run) else Path(str(run)).name


def seeds_text(seeds) -> str:
    """How many seeds and which: "1 (seed 0)", "3 (seeds 0, 1, 2)" (a bare "0" reads as none)."""
    ids = sorted(int(s) for s in seeds)
    return f"{len(ids)} (seed{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))})"


def over_seeds(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per method (METHOD_KEYS): with more than one seed, IS, FID and reconstruction
    are the mean of the seeds' scores and each ± is their standard deviation over seeds
    (ddof 1), and the ``*_std_over`` columns say "N seeds"; with one seed the record is kept as
    it is (its ± over IS splits / test images). Adds METHOD, N_SEEDS, SEEDS, RUNS, FID_STD,
    N_COLLAPSED, COLLAPSE_NOTE (seeds whose samples collapsed: the row is marked, never ranked)
    and PRESETS."""
    if metrics.empty:
        return metrics.assign(**{METHOD: [], N_SEEDS: [], SEEDS: [], RUNS: [], FID_STD: [],
                                 N_COLLAPSED: [], COLLAPSE_NOTE: [], PRESETS: []})
    rows = []
    for _, part in metrics.groupby(list(METHOD_KEYS), dropna=False, sort=False):
        first = part.iloc[0].copy()
        first[N_SEEDS] = len(part)
        first[SEEDS] = seeds_text(part[KEY_SEED])
        first[RUNS] = ", ".join(filter(None, (run_name(r) for _, r in part.iterrows())))
        first[FID_STD] = float("nan")
        first[N_COLLAPSED], first[COLLAPSE_NOTE] = collapse_summary(part)
        first[PRESETS] = ", ".join(sorted(set(part[KEY_PRESET_KIND].dropna().astype(str)))) \
            if KEY_PRESET_KIND in part.columns else ""
        if prov.PROVENANCE in part.columns:   # fresh / cached, per seed where they differ
            first[prov.PROVENANCE] = prov.over_seeds(part, KEY_SEED)
        if len(part) > 1:
            over = f"{len(part)} seeds"
            first[KEY_METRIC_IS_MEAN] = part[KEY_METRIC_IS_MEAN].mean()
            first[KEY_METRIC_IS_STD] = part[KEY_METRIC_IS_MEAN].std(ddof=1)
            first[KEY_METRIC_RECON_MEAN] = part[KEY_METRIC_RECON_MEAN].mean()
            first[KEY_METRIC_RECON_STD] = part[KEY_METRIC_RECON_MEAN].std(ddof=1)
            first[KEY_METRIC_FID] = part[KEY_METRIC_FID].mean()
            first[FID_STD] = part[KEY_METRIC_FID].std(ddof=1)
            first[KEY_IS_STD_OVER] = first[KEY_RECON_STD_OVER] = over
            for key in SEED_MEAN_KEYS:   # means over seeds
                if key in part.columns:
                    first[key] = part[key].mean()
        rows.append(first)
    table = pd.DataFrame(rows).reset_index(drop=True)
    table[METHOD] = table.apply(method_label, axis=1)
    return table


def collapsed_mask(metrics: pd.DataFrame) -> pd.Series:
    """Which records collapsed (records without the field: none)."""
    if KEY_COLLAPSED not in metrics.columns:
        return pd.Series(False, index=metrics.index)
    return metrics[KEY_COLLAPSED].map(lambda v: str(v).lower() == "true")


def collapse_summary(part: pd.DataFrame) -> tuple[int, str]:
    """(how many of ``part``'s runs collapsed, 'collapsed in 1 of 3 seeds (seed 2: ...)')."""
    bad = part[collapsed_mask(part)]
    if bad.empty:
        return 0, ""
    why = "; ".join(f"seed {int(r[KEY_SEED])}: {r.get(KEY_COLLAPSE_REASON, '')}" for _, r in bad.iterrows())
    return len(bad), f"collapsed in {len(bad)} of {len(part)} seed{'s' if len(part) > 1 else ''} ({why})"


def run_summary(metrics: pd.DataFrame) -> str:
    """What was run, in one line: profile, backend, samples, seeds, commit (from the records)."""
    def values(key, fmt=str):
        if key not in metrics:
            return "?"
        return ", ".join(sorted({fmt(v) for v in metrics[key].dropna()})) or "?"

    precision = values(K.KEY_TRAIN_PRECISION)
    return (f"profile {values(KEY_PROFILE)}; backend {values(KEY_BACKEND)}; "
            f"{values(KEY_N_SAMPLES, lambda v: str(int(v)))} samples, "
            f"{values(KEY_N_RECONSTRUCTIONS, lambda v: str(int(v)))} reconstructions per run; "
            f"seeds {values(KEY_SEED, lambda v: str(int(v)))}; "
            + ("" if precision == "?" else f"trained in {precision}; ")
            + f"commit {values(KEY_GIT_COMMIT, lambda v: str(v)[:10])}")


# what λ-IJAE is at the ends of the λ axis (docs/paper-notes.md section 1), for every table and
# figure that shows those points
END_NOTES = {0.0: "λ = 0: the encoder gets no gradient (its reconstructions are an untrained "
                  "encoder's: weights at their initialisation); G is a pure GAN generator",
             1.0: "λ = 1: G gets no gradient from D_ψ (a pure implicit autoencoder; samples are "
                  "G(z) of prior z)"}


def end_note(lam) -> str:
    """The note of a λ-IJAE point at λ = 0 or 1 ('' elsewhere, and for models without λ)."""
    if lam is None or pd.isna(lam):
        return ""
    return next((note for end, note in END_NOTES.items() if abs(float(lam) - end) < 1e-9), "")


def paper_key(name: str) -> str:
    """A method's name as both the records and the paper's CSV spell it ("α-GAN" = "alpha-GAN",
    "λ-IJAE (λ = 0.3)" = "lambda-IJAE (lambda=0.3)")."""
    name = name.replace("λ", "lambda").replace("α", "alpha").lower()
    return re.sub(r"\s+", "", name)


def our_key(row) -> str:
    if row[KEY_MODEL] == "ijae" and row[KEY_VARIANT] == "implicit":
        return paper_key(f"λ-IJAE (λ = {row[KEY_LAMBDA]:g})")
    return paper_key(str(row[KEY_LABEL]))
