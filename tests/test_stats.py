"""The statistics of the verdicts (ijae/report/stats.py, claims.py): power against a closed form
and a seeded simulation, Holm against hand-worked p-values, equivalence against its definition,
and the verdicts they give. Each test names the wrong implementation it catches."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp

from ijae.report import claims, stats
from test_claims import row, sweep
from test_report import record


def test_power_matches_statsmodels_closed_form_and_a_seeded_simulation():
    """Catches a one-sided test, a normal instead of a t quantile, or n counted from 1."""
    from statsmodels.stats.power import TTestPower

    for d in (0.5, 1.0, 2.0):
        n = stats._seeds(d, 0.05)
        exact = TTestPower().solve_power(effect_size=d, alpha=0.05, power=0.8)
        assert n == int(np.ceil(exact))           # 34, 10, 5
    rng = np.random.default_rng(0)
    draws = rng.normal(1.0, 1.0, (20_000, 10))      # d = 1 at the planned n = 10
    rejected = sp.ttest_1samp(draws, 0.0, axis=1).pvalue < 0.05
    assert rejected.mean() == pytest.approx(stats.power(1.0, 10, 0.05), abs=0.01)
    assert stats.power(1.0, 9, 0.05) < 0.8 <= stats.power(1.0, 10, 0.05)   # the fewest that reach it


def test_seeds_to_decide_carries_the_uncertainty_of_the_standard_deviation():
    """Three seeds: the sd's 95 % interval spans about 0.52 to 6.3 times the estimate, so the
    plan's range must be wide and bracket the point plan."""
    values = np.array([1.0, 2.0, 1.5])
    n, low, high = stats.seeds_for_power(values, 0.05)
    assert low <= n <= high and high > 10 * low
    sd = values.std(ddof=1)
    sd_high = sd * np.sqrt(2 / sp.chi2.ppf(0.025, 2))
    assert high == stats._seeds(values.mean() / sd_high, 0.05)
    assert stats.seeds_for_power([1.0], 0.05) == (None, None, None)
    assert stats.seeds_for_power([1.0, -1.0], 0.05)[0] == f"> {stats.MAX_SEEDS}"


def test_holm_against_hand_worked_p_values():
    """m = 4: sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.04·1, 0.06) = 0.06.
    Catches Bonferroni (0.16 for 0.04), a missing monotone step (0.04) or a NaN counted in m."""
    adjusted = stats.adjust([0.01, 0.04, 0.03, 0.005, np.nan], 0.05)
    assert adjusted[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])


def test_two_one_sided_tests_against_their_definition():
    values = np.array([0.01, -0.02, 0.015, 0.0])
    p = stats.tost_p(values, 0.1)
    upper = sp.ttest_1samp(values, 0.1, alternative="less").pvalue
    lower = sp.ttest_1samp(values, -0.1, alternative="greater").pvalue
    assert p == pytest.approx(max(upper, lower)) and p < 0.01
    assert stats.tost_p(values, 0.001) > 0.5        # an effect near δ is not "no effect"


def flat_agreement(noise):
    """A λ sweep whose label agreement does not move with λ (δ = 0.02), IS falling clearly."""
    return claims.claims(sweep(lambda lam: 8 - 2 * lam, noise=0.01, seed=3,
                               recon_label_agreement=lambda lam: 0.9).assign(
        recon_label_agreement=lambda t: 0.9 + np.random.default_rng(5).normal(0, noise, len(t))))


def test_an_effect_inside_delta_reads_no_effect_and_one_straddling_delta_undecided():
    """Catches 'undecided' for a precisely zero effect, and 'no effect' for a wide interval."""
    tight = row(flat_agreement(0.001), "recon_label_agreement")
    assert tight["verdict"] == claims.NO_EFFECT and tight["delta"] == 0.02
    assert -0.02 < tight["effect_low"] < tight["effect_high"] < 0.02
    wide = row(flat_agreement(0.05), "recon_label_agreement")
    assert wide["effect_low"] < -0.02 or wide["effect_high"] > 0.02
    assert wide["verdict"] == claims.UNDECIDED and wide["seeds_to_decide"]


def exact_slopes(slopes, measure="is_mean", base=7.0):
    """λ-IJAE records whose per-seed IS slopes over λ = 0.3, 0.6, 1 are exactly ``slopes``."""
    rows = [record(lam=lam, seed=s, is_mean=base + b * lam)
            for s, b in enumerate(slopes) for lam in (0.3, 0.6, 1.0)]
    return pd.DataFrame(rows)


def test_holm_turns_an_unadjusted_hold_into_undecided_in_a_family():
    """Per-seed slopes -1, -1.5, -0.7: p = 0.045 alone, an interval below 0 unadjusted; the λ-trend
    family holds several claims, so Holm needs more. Catches an unadjusted verdict."""
    table = claims.claims(exact_slopes([-1.0, -1.5, -0.7]))
    out = table[(table["measure"] == "is_mean")].iloc[0]
    assert out["p"] == pytest.approx(0.0447, abs=1e-3) and out["effect_high"] < 0
    assert out["verdict_unadjusted"] == claims.HOLDS
    assert out["p_holm"] > out["p"] and out["verdict"] == claims.UNDECIDED
    assert out["seeds_to_decide"] and "–" in out["seeds_to_decide_range"]


def l2_always_closer(seeds=(0, 1, 2)):
    """L2 reconstructs closer than λ-IJAE at every λ in every seed; λ-IJAE's IS is higher."""
    rows = []
    for s in seeds:
        for lam in (0.3, 0.6, 1.0):
            rows.append(record(variant="implicit", lam=lam, seed=s, is_mean=8 - lam + 0.3 * s,
                               recon=0.6 - 0.1 * lam))
            rows.append(record(variant="l2", lam=lam, seed=s, is_mean=6 - lam - 0.5 * s,
                               recon=0.4 - 0.1 * lam))
    return pd.DataFrame(rows)


def test_a_dominance_that_cannot_hold_is_refuted_with_the_reason():
    """0 of 3 seeds dominate and L2 is closer at every λ: not 'undecided (n seeds would decide)'."""
    table = claims.claims(l2_always_closer())
    out = table[(table["direction"] == "dominates") & (table["role"] == "paper")].iloc[0]
    assert out["seeds_dominating"] == "0 of 3"
    assert out["verdict"] == claims.REFUTED and "cannot hold" in out["note"]
    assert "recon_mean at every λ in every seed" in out["note"] and not out["seeds_to_decide"]


def test_a_measure_that_fails_its_controls_is_shown_and_not_decided():
    metrics = sweep(lambda lam: 8 - 2 * lam, noise=0.02, recall=lambda lam: 0.5 + 0.3 * lam,
                    coverage=lambda lam: 0.5 + 0.3 * lam)
    why = "recall fails its controls on digits: noise_smooth 0.93 scores as well as real_test 0.92"
    table = claims.claims(metrics, demoted={("digits", "recall"): why})
    recall, coverage = row(table, "recall"), row(table, "coverage")
    assert recall["verdict"] == claims.DEMOTED and why in recall["note"]
    assert recall["effect"] == pytest.approx(0.3, abs=0.05)     # the number is still shown
    assert coverage["role"] == "calibrated" and coverage["verdict"] == claims.HOLDS
    assert any("recall" in line and "coverage" in line for line in claims.disagreements(table))
    # the calibration names the mode count; the claim reads it as a share of the modes
    shares = claims.claims(sweep(lambda lam: 7.0, modes_covered=lambda lam: 5 + 4 * lam,
                                 n_modes=lambda lam: 10.0, noise=0.01),
                           demoted={("digits", "modes_covered"): "modes_covered fails"})
    assert row(shares, claims.MODE_SHARE)["verdict"] == claims.DEMOTED


def test_every_paper_generation_claim_has_its_calibrated_twin_next_to_it():
    table = claims.claims(sweep(lambda lam: 8 - 2 * lam, noise=0.02, recall=lambda lam: 0.5,
                                coverage=lambda lam: 0.5))
    rows = table[table["dataset"] == "digits"].reset_index(drop=True)
    is_at = rows.index[rows["measure"] == "is_mean"][0]
    assert rows.loc[is_at + 1, "measure"] == "fid" and rows.loc[is_at + 1, "role"] == "calibrated"
    fronts = rows[rows["family"] == "Figure 2 fronts"]
    assert list(fronts["role"]) == [] or set(fronts["role"]) == {"paper", "calibrated"}
    assert claims.per_seed_values(rows.loc[is_at, "per_seed"]).keys() == {0, 1, 2}


def test_power_stays_a_number_far_in_the_noncentral_tails():
    """scipy's noncentral t gives NaN deep in its tails (large effects at a Holm-sized alpha):
    a NaN read as 'not enough' made the planned seeds jump (6 at the estimate, 8 at the lower
    end of its range). Power must rise with n, and the plan bracket the estimate."""
    values = np.array([166.106, 141.909, 103.322])
    curve = stats.power(values.mean() / values.std(ddof=1), np.arange(2, 12), 0.05 / 13)
    assert np.isfinite(curve).all() and (np.diff(curve) >= 0).all()
    n, low, high = stats.seeds_for_power(values, 0.05 / 13)
    assert low <= n <= high
