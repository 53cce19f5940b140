"""The tuning report (ijae/report/tuning.py): the expected best of k is exact, failures rank
last, interrupted trials are left out, and the report names every study's numbers."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from ijae import cli
from ijae.report import tuning


def brute_force(values, n_failed, k):
    """E[min over every k-subset with a completed trial], P(all k failed): by enumeration."""
    items = list(values) + [np.inf] * n_failed
    subsets = list(combinations(items, k))
    best = [min(s) for s in subsets]
    finite = [b for b in best if np.isfinite(b)]
    return (np.mean(finite) if finite else np.nan), 1 - len(finite) / len(subsets)


@pytest.mark.parametrize("values, n_failed", [([3.0, 1.0, 2.0, 5.0], 0), ([4.0, 2.5], 2),
                                              ([1.0], 3), ([2.0, 2.0, 7.0], 1)])
def test_expected_best_of_k_is_the_mean_of_every_k_subsets_best(values, n_failed):
    means, p_fail = tuning.expected_best(np.array(values), n_failed)
    for k in range(1, len(values) + n_failed + 1):
        mean, fail = brute_force(values, n_failed, k)
        assert means[k - 1] == pytest.approx(mean) and p_fail[k - 1] == pytest.approx(fail)
    assert means[-1] == pytest.approx(min(values))            # k = K: the study's best
    assert means[0] == pytest.approx(np.mean(values))         # k = 1: a trial at random


def trials_csv(tmp_path, name, study, criteria, failures=(), interrupted=()):
    rows = []
    for design, value in enumerate(criteria):
        failed = design in failures
        rows.append({"profile": "default", "dataset": "digits", "study": study, "model": study,
                     "design": design, "state": "FAIL" if failed else "COMPLETE",
                     "criterion": np.nan if failed else value,
                     "failure": "collapsed: near-constant images" if failed else "",
                     "fid": 50.0, "recon_mean": 1.0, "train_cpu_seconds": 100.0 if study == "ijae" else 150.0,
                     "param_lr": 1e-3 * (design + 1)})
    for design in interrupted:   # a killed trial, retried above
        rows.append({**rows[design], "state": "FAIL", "criterion": np.nan,
                     "failure": "interrupted: its worker stopped"})
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_report_tables_every_study_with_its_trial_zero_best_and_compute(tmp_path):
    a = trials_csv(tmp_path, "a.csv", "ijae", [5.0, 4.0, 4.5], interrupted=[1])
    b = trials_csv(tmp_path, "b.csv", "vae", [6.0, 3.0, 7.0], failures=[2])
    assert cli.main(["tuning", str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    studies = tuning.study_rows(tuning.read_trials([a, b])).set_index("study")
    assert studies.loc["ijae", "trials"] == 3                  # the interrupted one is left out
    assert studies.loc["ijae", "hand"] == 5.0 and studies.loc["ijae", "best"] == 4.0
    assert studies.loc["vae", "failed"] == 1 and studies.loc["vae", "best_design"] == 1
    assert studies.loc["vae", "gain"] == pytest.approx(3.0)
    assert studies.loc["vae", "compute_ratio"] == pytest.approx(1.5)
    md = (tmp_path / "out" / "tuning.md").read_text()
    assert "| λ-IJAE | 3 | 3 | 5.000 | 4.000 (1) |" in md
    assert "design 2: collapsed: near-constant images" in md
    for name in ("tuning.png", "tuning.pdf", "tuning_trials.csv"):
        assert (tmp_path / "out" / name).stat().st_size > 0
