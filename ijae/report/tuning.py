"""The search, reported: tuning.md, tuning.png / .pdf and tuning_trials.csv from the trials
tables ``ijae tune`` writes (one per study). Pure: pandas, numpy and matplotlib on those tables.

Per study: every trial's criterion (ijae/tune/criterion.py; lower is better) as a strip, the
hand-sized preset's (design trial 0) marked, failed trials (diverged, collapsed) drawn apart with
their reason; and the expected best of k trials for k = 1..K (Lucic et al. 2018): the expected
lowest criterion over k trials drawn without replacement from the study's K, exactly from the
order statistics. Failed trials rank below every completed one; the curve is the expectation
over the k-subsets holding at least one completed trial, beside the chance that all k failed.
A model whose curve is flat was good from its first trial; one that falls steeply is good only
once tuned. Interrupted trials (their worker was killed; each was run again) are left out.
"""
from __future__ import annotations

from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

from ijae.contract import atomic_write_text
from ijae.report.plotting import caption, pyplot, save
from ijae.report.records import read_table

NAMES = {"ijae": "λ-IJAE", "ijae-l1": "λ-IJAE-L1", "ijae-l2": "λ-IJAE-L2", "alphagan": "α-GAN",
         "age": "AGE", "twostage": "2Stage-VAE", "svae": "SVAE", "vae": "VAE"}
REQUIRED = ("profile", "dataset", "study", "model", "design", "state", "criterion", "failure")


def read_trials(paths) -> pd.DataFrame:
    """The trials tables, concatenated; interrupted trials dropped (their retry stands)."""
    trials = pd.concat([read_table(path, REQUIRED, "trials table", "written by `ijae tune`",
                                   "a trials table of `ijae tune`") for path in paths],
                       ignore_index=True)
    trials["failure"] = trials["failure"].fillna("").astype(str)
    return trials[~trials["failure"].str.startswith("interrupted")].reset_index(drop=True)


def expected_best(values: np.ndarray, n_failed: int) -> tuple[np.ndarray, np.ndarray]:
    """(E[best of k] over subsets with a completed trial, P(all k failed)) for k = 1..K, where
    ``values`` are the completed trials' criteria and ``n_failed`` trials failed (rank last)."""
    v = np.sort(np.asarray(values, float))
    total = len(v) + n_failed
    means, all_failed = [], []
    for k in range(1, total + 1):
        p_fail = comb(n_failed, k) / comb(total, k)
        weights = np.array([comb(total - i, k - 1) for i in range(1, len(v) + 1)]) / comb(total, k)
        means.append(float(weights @ v / (1 - p_fail)) if p_fail < 1 else float("nan"))
        all_failed.append(p_fail)
    return np.array(means), np.array(all_failed)


def study_rows(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, study): K, completed, failures, trial 0, best, E[best of k], time."""
    rows = []
    for (dataset, study), part in trials.groupby(["dataset", "study"], sort=False):
        done = part[part["state"] == "COMPLETE"]
        failed = part[part["state"] != "COMPLETE"]
        hand = part[part["design"] == 0]
        best = done.loc[done["criterion"].idxmin()] if len(done) else None
        curve, p_fail = expected_best(done["criterion"].to_numpy(float), len(failed))
        hand_value = hand["criterion"].iloc[0] if len(hand) and hand["state"].iloc[0] == "COMPLETE" else np.nan
        rows.append({
            "dataset": dataset, "study": study, "method": NAMES.get(study, study),
            "model": part["model"].iloc[0], "trials": len(part), "completed": len(done),
            "failed": len(failed), "failures": "; ".join(f"design {int(r['design'])}: {r['failure']}"
                                                         for _, r in failed.iterrows()),
            "hand": hand_value,
            "hand_failure": "" if len(hand) == 0 or hand["state"].iloc[0] == "COMPLETE" else hand["failure"].iloc[0],
            "best": np.nan if best is None else best["criterion"],
            "best_design": None if best is None else int(best["design"]),
            "gain": np.nan if best is None else hand_value - best["criterion"],
            "median": done["criterion"].median() if len(done) else np.nan,
            "train_seconds": part["train_cpu_seconds"].median() if "train_cpu_seconds" in part else np.nan,
            "curve": curve, "p_all_failed": p_fail,
        })
    table = pd.DataFrame(rows)
    reference = table[table["study"] == "ijae"].set_index("dataset")["train_seconds"]
    table["compute_ratio"] = [r["train_seconds"] / reference.get(r["dataset"], np.nan)
                              for _, r in table.iterrows()]
    return table


ABLATION_RUNS = 24   # docs/ablations/recon.csv: the runs behind λ-IJAE's hand-sized preset


def footing(studies: pd.DataFrame) -> list[str]:
    """What the search gave each model, as measured: compute per trial against λ-IJAE's, the
    completed trials, and the tuning λ-IJAE had before it (and which way that leans)."""
    ratios = studies.loc[studies["study"] != "ijae", "compute_ratio"].dropna()
    short = [f"{r['method']} on {r['dataset']} {r['completed']} of {r['trials']}"
             for _, r in studies.iterrows() if r["completed"] < r["trials"]]
    lines = []
    if len(ratios):
        lines.append(f"- Compute: the training CPU seconds per trial are {ratios.min():.2f}–"
                     f"{ratios.max():.2f}× λ-IJAE's (measured medians, column below), not equal: "
                     "each space fixes its model's train.steps from an earlier timing "
                     "(bench/trial_compute.py), and λ-IJAE-L1 / -L2 keep λ-IJAE's steps at a "
                     "cheaper step. The baselines had less compute per trial, never more.")
    lines.append("- Completed trials: " + ("; ".join(short) if short else "every study completed "
                                           "every trial") + " (a failed trial, diverged or "
                 "collapsed, has no criterion: those studies chose among fewer).")
    lines.append(f"- λ-IJAE's trial 0 is its hand-sized preset, chosen before the search by a "
                 f"{ABLATION_RUNS}-run ablation (docs/ablations/recon.md) outside this budget; no "
                 "baseline had one. Every one of these leans the comparison towards λ-IJAE: a "
                 "verdict against λ-IJAE holds despite them, one in its favour may owe to them.")
    return lines


def _f(value, digits: int = 3) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def markdown(trials: pd.DataFrame, studies: pd.DataFrame) -> str:
    k = int(studies["trials"].max())
    profile = ", ".join(sorted(set(trials["profile"].astype(str))))
    lines = [f"# The search — {profile} profile", "",
             "One Optuna study per dataset and model (`snakemake --cores 8 tune`, ijae/tune): the "
             f"same K trials for every model, a random design whose trial 0 is the hand-sized "
             "preset, each trial trained, exported and scored on a validation split carved from "
             "the train split (the test split is never loaded). Criterion, lower is better: "
             "**ln FID + ln reconstruction distance**, both on the validation split "
             "(ijae/tune/criterion.py). Compute per trial: the training CPU seconds of a run at one "
             "thread, set equal to λ-IJAE's 1,200 steps by each space's `train.steps` "
             "(bench/trial_compute.py; λ-IJAE-L1 / -L2 keep λ-IJAE's steps); the median measured "
             "per study is below. A failed trial (diverged, or collapsed: ijae/metrics/collapse.py) "
             "has no criterion and ranks last.", "",
             "Expected best of k (Lucic et al. 2018): the expected lowest criterion of k trials "
             "drawn from the study's K without replacement (over the draws with a completed "
             "trial; the share of draws of k failed trials in brackets where not 0). Flat: good "
             "from the first trial; falling: good only once tuned.", ""]
    lines += ["## Equal footing, as measured", "", *footing(studies), ""]
    for dataset, block in studies.groupby("dataset", sort=True):
        lines += [f"## {dataset}", "",
                  "| method | trials | completed | trial 0 (hand-sized) | best (design trial) | "
                  "gain over trial 0 | median | train CPU s / trial (× λ-IJAE's) | "
                  + " | ".join(f"E best of {i}" for i in range(1, k + 1)) + " |",
                  "| --- " * (8 + k) + "|"]
        for _, r in block.iterrows():
            hand = _f(r["hand"]) if not r["hand_failure"] else f"failed ({r['hand_failure']})"
            best = "—" if pd.isna(r["best"]) else f"{r['best']:.3f} ({r['best_design']})"
            curve = [f"{m:.3f}" + (f" [{p:.2f}]" if p > 0 else "") if not pd.isna(m) else f"— [{p:.2f}]"
                     for m, p in zip(r["curve"], r["p_all_failed"])]
            curve += ["—"] * (k - len(curve))
            lines.append(f"| {r['method']} | {r['trials']} | {r['completed']} | {hand} | {best} | "
                         f"{_f(r['gain'])} | {_f(r['median'])} | {_f(r['train_seconds'], 0)} "
                         f"({_f(r['compute_ratio'], 2)}) | " + " | ".join(curve) + " |")
        failures = [f"- {r['method']}: {r['failures']}" for _, r in block.iterrows() if r["failures"]]
        if failures:
            lines += ["", "Failed trials:", "", *failures]
        lines.append("")
    lines += ["## Every trial", "",
              "| dataset | method | design | state | criterion | FID | reconstruction | values | failure |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    params = [c for c in trials.columns if c.startswith("param_")]
    for _, r in trials.sort_values(["dataset", "study", "design"]).iterrows():
        values = ", ".join(f"{c[6:]}={_value(r[c])}" for c in params if not pd.isna(r[c]))
        lines.append(f"| {r['dataset']} | {NAMES.get(r['study'], r['study'])} | {int(r['design'])} | "
                     f"{r['state']} | {_f(r['criterion'])} | {_f(r.get('fid'), 1)} | "
                     f"{_f(r.get('recon_mean'))} | {values} | {r['failure']} |")
    return "\n".join(lines) + "\n"


def _value(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def plot(trials: pd.DataFrame, studies: pd.DataFrame, out: Path) -> Path:
    """A row per dataset: the trials' criteria per model (strip) and the expected best of k."""
    plt = pyplot()
    datasets = sorted(studies["dataset"].unique())
    fig, axes = plt.subplots(len(datasets), 2, figsize=(13, 5.0 * len(datasets)), squeeze=False)
    fig.subplots_adjust(hspace=0.55)
    for row, dataset in zip(axes, datasets):
        block = studies[studies["dataset"] == dataset].reset_index(drop=True)
        part = trials[trials["dataset"] == dataset]
        strip, curves = row
        top = part["criterion"].max()
        for x, r in block.iterrows():
            mine = part[part["study"] == r["study"]]
            done = mine[mine["state"] == "COMPLETE"].sort_values("design")
            xs = x + np.linspace(-0.15, 0.15, max(len(done), 1))[:len(done)]
            strip.scatter(xs, done["criterion"], s=22, color="tab:blue", zorder=3)
            hand = (done["design"] == 0).to_numpy()   # the ring around trial 0's own dot
            strip.scatter(xs[hand], done["criterion"][hand], s=90, facecolors="none",
                          edgecolors="tab:orange", lw=1.5, zorder=4)
            n_failed = int((mine["state"] != "COMPLETE").sum())
            if n_failed:
                strip.scatter([x], [top], marker="x", color="tab:red", s=40, zorder=3)
                strip.annotate(f"{n_failed} failed", (x, top), textcoords="offset points",
                               xytext=(0, 6), ha="center", fontsize=7, color="tab:red")
            k = np.arange(1, len(r["curve"]) + 1)
            curves.plot(k, r["curve"], marker="o", ms=3, label=r["method"])
        strip.set_xticks(range(len(block)), block["method"], rotation=30, ha="right")
        strip.set_ylabel("criterion ↓ (ln FID + ln reconstruction)")
        strip.set_title(f"{dataset}: every trial (orange ring: the hand-sized preset)")
        curves.set_xlabel("k (trials)")
        curves.set_ylabel("expected best criterion of k trials ↓")
        curves.set_title(f"{dataset}: expected best of k (Lucic et al. 2018)")
        curves.legend(fontsize=7, ncol=2)
        for ax in row:
            ax.grid(alpha=0.3)
    caption(fig, [f"{int(studies['trials'].max())} trials per study, random design (trial 0: the "
                  "hand-sized preset), criterion on a validation split carved from the train "
                  "split; failed trials (diverged or collapsed) marked by a red cross at the top "
                  "and ranked last in the best-of-k expectation."], width=150)
    return save(fig, out)


def write_report(paths, out_dir) -> Path:
    """tuning.md, tuning.png / .pdf and tuning_trials.csv in ``out_dir``; returns the .md."""
    trials = read_trials(paths)
    studies = study_rows(trials)
    out = Path(out_dir)
    atomic_write_text(out / "tuning_trials.csv", trials.to_csv(index=False))
    atomic_write_text(out / "tuning.md", markdown(trials, studies))
    plot(trials, studies, out / "tuning.png")
    return out / "tuning.md"
