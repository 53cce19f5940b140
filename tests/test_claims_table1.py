"""The Table 1 claims (λ-IJAE against each baseline, seed by seed), the collapse guard in them,
and the seeds that would decide an undecided claim. Each test names the broken rule it catches."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ijae.report import claims, stats
from test_report import record


def runs(ijae_is, ijae_rec, base_is, base_rec, collapsed=()):
    """λ-IJAE (λ = 0.3) and an AGE baseline, one record per seed; ``collapsed``: (model, seed)."""
    rows = []
    for seed, (a_is, a_rec, b_is, b_rec) in enumerate(zip(ijae_is, ijae_rec, base_is, base_rec)):
        rows.append({**record(is_mean=a_is, recon=a_rec, seed=seed),
                     "collapsed": ("ijae", seed) in collapsed, "collapse_reason": "x"})
        rows.append({**record(model="age", label="AGE", implementation="upstream", variant=None,
                              lam=None, is_mean=b_is, recon=b_rec, seed=seed),
                     "collapsed": ("age", seed) in collapsed,
                     "collapse_reason": "near-constant images: sample_contrast_ratio 0.01 < 0.2"})
    return pd.DataFrame(rows)


def table1_claims(metrics):
    table = claims.claims(metrics)
    return table[table["claim"].str.contains("Table 1")].set_index("measure")


def test_a_better_lambda_ijae_in_every_seed_holds_and_a_worse_one_is_refuted():
    better = table1_claims(runs([8.0, 8.2, 7.9], [0.5, 0.52, 0.49], [6.0, 6.1, 5.9], [0.9, 0.95, 0.92]))
    assert better.loc["is_mean", "verdict"] == claims.HOLDS
    assert better.loc["is_mean", "effect"] == pytest.approx(2.033, abs=1e-3)
    assert better.loc["recon_mean", "verdict"] == claims.HOLDS          # lower distance: better
    both = better[better["direction"] == "dominates"].iloc[0]
    assert both["verdict"] == claims.HOLDS and both["seeds_dominating"] == "3 of 3"
    # swapped: λ-IJAE the worse reconstructor, the better generator -> dominance refuted
    mixed = table1_claims(runs([8.0, 8.2, 7.9], [0.9, 0.95, 0.92], [6.0, 6.1, 5.9], [0.5, 0.52, 0.49]))
    assert mixed.loc["recon_mean", "verdict"] == claims.REFUTED
    assert mixed[mixed["direction"] == "dominates"].iloc[0]["verdict"] == claims.REFUTED


def test_a_collapsed_seed_is_left_out_and_named_and_all_collapsed_is_not_ranked():
    """Seed 1 of the baseline collapsed: it leaves the interval (two seeds remain) and the note
    says why; every seed collapsed: the baseline is not ranked at all."""
    some = table1_claims(runs([8.0, 8.2, 7.9], [0.5, 0.5, 0.5], [6.0, 20.0, 5.9], [0.9, 0.9, 0.9],
                              collapsed={("age", 1)}))
    assert some.loc["is_mean", "seeds"] == 2
    assert some.loc["is_mean", "effect"] == pytest.approx(2.0)    # seed 1's 20.0 is not a result
    assert "seed 1 (it collapsed: near-constant images" in some.loc["is_mean", "note"]
    every = claims.claims(runs([8.0, 8.2], [0.5, 0.5], [6.0, 6.0], [0.9, 0.9],
                               collapsed={("age", 0), ("age", 1)}))
    row = every[every["claim"].str.contains("AGE")]
    assert list(row["verdict"]) == [claims.NOT_RANKED]


def test_an_undecided_claim_says_how_many_seeds_would_decide_it_and_a_decided_one_does_not():
    table = table1_claims(runs([8.0, 6.0, 7.9], [0.5, 0.5, 0.5], [6.0, 6.5, 5.9], [0.9, 0.9, 0.9]))
    undecided = table.loc["is_mean"]
    assert undecided["verdict"] == claims.UNDECIDED
    diffs = np.array([2.0, -0.5, 2.0])
    family = table[table["family"] == "Table 1"]
    tests = family["p"].notna().sum()        # the plan is at Holm's first level, alpha / m
    assert undecided["seeds_to_decide"] == str(stats.seeds_for_power(diffs, 0.05 / tests)[0])
    assert table.loc["recon_mean", "verdict"] == claims.HOLDS
    assert table.loc["recon_mean", "seeds_to_decide"] == ""
