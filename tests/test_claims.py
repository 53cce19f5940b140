"""The claims table: a verdict per claim from hand-made seeded sweeps whose truth is known. Each
test says which broken rule it catches (a flipped sign, an interval too narrow for the seeds,
λ = 0 counted for reconstruction, a dominance decided on one seed or on its area alone)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ijae import UserError, cli
from ijae.report import claims
from test_report import record

LAMBDAS = (0.0, 0.3, 0.6, 1.0)


def sweep(is_of, recon_of=lambda lam: 1.0, seeds=(0, 1, 2), noise=0.05, variant="implicit",
          lambdas=LAMBDAS, seed=0, **fields_of):
    """λ-IJAE records at every λ and seed; each measure a function of λ plus seed noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for lam in lambdas:
        for s in seeds:
            extra = {name: f(lam) + rng.normal(0, noise) for name, f in fields_of.items()}
            rows.append({**record(variant=variant, lam=lam, seed=s,
                                  is_mean=is_of(lam) + rng.normal(0, noise),
                                  recon=recon_of(lam) + rng.normal(0, noise)), **extra})
    return pd.DataFrame(rows)


def row(table, measure):
    return table[table["measure"] == measure].iloc[0]


@pytest.mark.parametrize("low, high, sign, expected", [
    (-2.0, -1.0, -1, claims.HOLDS), (-2.0, -1.0, +1, claims.REFUTED),
    (1.0, 2.0, +1, claims.HOLDS), (1.0, 2.0, -1, claims.REFUTED),
    (-1.0, 1.0, +1, claims.UNDECIDED), (-1.0, 1.0, -1, claims.UNDECIDED)])
def test_the_verdict_follows_the_claimed_sign(low, high, sign, expected):
    assert claims.verdict(low, high, sign) == expected


def test_slopes_are_least_squares_and_intervals_students_t():
    x = np.array([0.0, 0.0, 0.5, 1.0])
    y = np.array([1.0, 2.0, 0.0, 4.0])
    assert claims.slope(x, y) == pytest.approx(np.polyfit(x, y, 1)[0])
    mean, low, high = claims.t_interval(np.array([1.0, 2.0, 3.0]), 0.95)
    # 2 ± t(0.975, 2) · 1 / √3, t = 4.303: a normal quantile (1.96) would be too narrow
    assert (mean, low, high) == pytest.approx((2.0, 2 - 4.3027 / 3 ** 0.5, 2 + 4.3027 / 3 ** 0.5), rel=1e-4)
    assert np.isnan(claims.t_interval(np.array([1.0]), 0.95)[1])


def test_a_falling_is_holds_and_a_rising_one_refutes_the_claim():
    falling = claims.claims(sweep(lambda lam: 8 - 2 * lam, noise=0.02))
    is_row = row(falling, "is_mean")
    assert is_row["verdict"] == claims.HOLDS and is_row["effect"] == pytest.approx(-2, abs=0.15)
    assert is_row["effect_low"] < is_row["effect"] < is_row["effect_high"] < 0
    assert is_row["spearman_rho"] < -0.8 and is_row["runs"] == 9 and is_row["seeds"] == 3
    assert is_row["lambdas"] == "0.3, 0.6, 1" and is_row["headline"]    # λ-IJAE itself first
    rising = claims.claims(sweep(lambda lam: 6 + 2 * lam, noise=0.02))
    assert row(rising, "is_mean")["verdict"] == claims.REFUTED


def test_noise_larger_than_the_trend_is_undecided():
    out = row(claims.claims(sweep(lambda lam: 7 - 0.05 * lam, noise=0.5, seed=4)), "is_mean")
    assert out["verdict"] == claims.UNDECIDED and out["effect_low"] < 0 < out["effect_high"]


def test_one_seed_per_lambda_gives_no_interval_and_no_verdict():
    out = row(claims.claims(sweep(lambda lam: 8 - 2 * lam, seeds=(0,))), "is_mean")
    assert out["verdict"] == claims.UNDECIDED and np.isnan(out["effect_low"])
    assert "1 seed(s): no interval" in out["note"]
    assert out["effect"] == pytest.approx(-2, abs=0.2)


def test_reconstruction_claims_leave_out_the_untrained_encoder_at_lambda_zero():
    """A distance that is only bad at λ = 0 (untrained E) is flat over λ > 0: undecided, not
    'improves with λ'; the IS claim keeps λ = 0."""
    table = claims.claims(sweep(lambda lam: 7.0, recon_of=lambda lam: 3.0 if lam == 0 else 1.0,
                                noise=0.02))
    recon = row(table, "recon_mean")
    assert recon["lambdas"] == "0.3, 0.6, 1" and recon["runs"] == 9
    assert recon["verdict"] != claims.HOLDS and "untrained encoder" in recon["note"]
    is_rows = table[table["measure"] == "is_mean"]
    assert list(is_rows["lambdas"]) == ["0.3, 0.6, 1", "0, 0.3, 0.6, 1"]   # headline, then λ = 0


def test_mode_claims_use_the_share_of_modes_and_flag_saturation():
    sat = claims.claims(sweep(lambda lam: 7.0, modes_covered=lambda lam: 10.0, n_modes=lambda lam: 10.0,
                              noise=0.0))
    share = row(sat, claims.MODE_SHARE)
    assert share["verdict"] in (claims.UNDECIDED, claims.NO_EFFECT)
    assert share["note"].startswith("saturated")
    rising = claims.claims(sweep(lambda lam: 7.0, modes_covered=lambda lam: 500 + 400 * lam,
                                 n_modes=lambda lam: 1000.0, mode_kl=lambda lam: 1 - 0.5 * lam,
                                 noise=0.01))
    assert row(rising, claims.MODE_SHARE)["effect"] == pytest.approx(0.4, abs=0.01)
    assert row(rising, claims.MODE_SHARE)["verdict"] == claims.HOLDS
    assert row(rising, "mode_kl")["verdict"] == claims.HOLDS      # falls, as claimed


def dominance(implicit_is, l1_is, implicit_recon=1.0, recon=1.0, noise=0.02, seeds=(0, 1, 2)):
    """λ-IJAE and L1 sweeps along parallel fronts: IS falls 1 and the distance 0.3 per unit λ."""
    both = pd.concat([sweep(lambda lam: implicit_is - lam, lambda lam: implicit_recon - 0.3 * lam,
                            seeds=seeds, noise=noise),
                      sweep(lambda lam: l1_is - lam, lambda lam: recon - 0.3 * lam, seeds=seeds,
                            noise=noise, variant="l1", lambdas=LAMBDAS[1:], seed=1)])
    return claims.claims(both).set_index("direction").loc["dominates"]


def test_dominance_holds_refutes_or_is_undecided():
    win = dominance(implicit_is=8.0, l1_is=7.0, implicit_recon=0.9).iloc[0]   # on IS (the paper's)
    assert win["verdict"] == claims.HOLDS and win["seeds_dominating"] == "3 of 3"
    assert win["effect_low"] > 0 and win["lambdas"] == "0.3, 0.6, 1"   # λ = 0: λ-IJAE's alone
    lose = dominance(implicit_is=7.0, l1_is=8.0, implicit_recon=1.1).iloc[0]
    assert lose["verdict"] == claims.REFUTED and lose["seeds_dominating"] == "0 of 3"
    assert lose["effect_high"] < 0
    tie = dominance(implicit_is=7.0, l1_is=7.0, noise=0.2)
    assert tie.iloc[0]["verdict"] == claims.UNDECIDED
    single = dominance(implicit_is=8.0, l1_is=7.0, implicit_recon=0.9, seeds=(0,)).iloc[0]
    assert single["verdict"] == claims.UNDECIDED and "no interval" in single["note"]


def test_more_area_without_dominance_is_not_a_dominating_front():
    """λ-IJAE far ahead at two λ, behind at the third: a larger hypervolume in every seed, but
    one L1 point it never matches, so the claim is not confirmed."""
    rows = []
    for s in (0, 1, 2):
        jitter = 0.01 * s
        for lam, is_, recon in ((0.3, 9.0, 0.5), (0.6, 8.5, 0.6), (1.0, 5.0, 0.9)):
            rows.append(record(variant="implicit", lam=lam, seed=s, is_mean=is_ + jitter, recon=recon))
        for lam, is_, recon in ((0.3, 6.0, 0.3), (0.6, 5.5, 0.8), (1.0, 5.0, 1.0)):
            rows.append(record(variant="l1", lam=lam, seed=s, is_mean=is_ + jitter, recon=recon))
    out = claims.claims(pd.DataFrame(rows)).set_index("direction").loc["dominates"].iloc[0]
    assert out["effect_low"] > 0 and out["seeds_dominating"] == "0 of 3"
    assert out["verdict"] == claims.UNDECIDED


def test_cli_writes_the_rule_above_the_tables(tmp_path, capsys):
    path = tmp_path / "metrics.csv"
    sweep(lambda lam: 8 - 2 * lam, noise=0.02).to_csv(path, index=False)
    assert cli.main(["claims", str(path), "--out", str(tmp_path / "out"), "--confidence", "0.9"]) == 0
    assert "digits: IS falls with λ (small λ generates best): holds" in capsys.readouterr().out
    md = (tmp_path / "out" / "claims.md").read_text()
    assert md.index("**holds**: the adjusted t test") < md.index("## digits")
    assert "Intervals: 90%, Student t over the seeds (unadjusted); verdicts: Holm-adjusted" in md
    assert len(pd.read_csv(tmp_path / "out" / "claims.csv")) >= 2
    assert cli.main(["claims", str(path), "--out", str(tmp_path), "--confidence", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "confidence = 1.5" in err and err.count("\n") == 1


def test_records_without_lambda_ijae_are_refused():
    with pytest.raises(UserError, match="no λ-IJAE record"):
        claims.claims(sweep(lambda lam: 8.0).assign(model="vae"))


def test_a_collapse_at_lambda_zero_alone_is_told_apart_from_a_trend_within_0_1():
    """A pure GAN that fails at λ = 0 and a flat IS over λ > 0: the full-range slope rises (the
    claim 'IS falls' refuted), the second row over λ > 0 is undecided; a λ > 0 row that kept
    λ = 0 would be refuted too. A real fall within (0, 1] holds there."""
    table = claims.claims(sweep(lambda lam: 2.0 if lam == 0 else 7.0, noise=0.02))
    rows = table[table["measure"] == "is_mean"]
    assert len(rows) == 2
    positive, full = rows.iloc[0], rows.iloc[1]
    assert full["lambdas"] == "0, 0.3, 0.6, 1" and full["verdict"] == claims.REFUTED
    assert full["claim"].endswith("with λ = 0") and "GAN end point" in full["note"]
    assert positive["lambdas"] == "0.3, 0.6, 1" and positive["runs"] == 9
    assert positive["verdict"] != claims.REFUTED
    falling = claims.claims(sweep(lambda lam: 2.0 if lam == 0 else 8 - 2 * lam, noise=0.02))
    assert falling[falling["measure"] == "is_mean"].iloc[0]["verdict"] == claims.HOLDS
    # reconstruction claims are over λ > 0 already: one row each; one λ > 0 has no slope: no row
    assert (table["measure"] == "recon_mean").sum() == 1
    two = claims.claims(sweep(lambda lam: 8 - 2 * lam, lambdas=(0.0, 0.3)))
    assert (two["measure"] == "is_mean").sum() == 1
