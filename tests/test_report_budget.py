"""The claims per training budget (report/budget.py) on hand-made learning curves whose truth is
known. Each test names the broken version it catches: a table that pools the records of different
steps, a record with no step placed anyway, a curve called settled while it still moves."""
from __future__ import annotations

import pandas as pd
import pytest

from ijae import UserError
from ijae.report import budget, claims
from test_claims import sweep

BASE = 1200


def at_step(frame: pd.DataFrame, step: int) -> pd.DataFrame:
    return frame.assign(train_step=step)


def test_each_budget_is_decided_on_its_own_step_alone():
    """IS rises with λ at 1× and falls at 4×: pooled, the slopes cancel and both budgets would
    read "undecided"; kept apart, 1× refutes "IS falls with λ" and 4× holds it."""
    early = at_step(sweep(lambda lam: 6 + 2 * lam, lambdas=(0.3, 1.0)), BASE)
    late = at_step(sweep(lambda lam: 8 - 2 * lam, lambdas=(0.3, 1.0), seed=1), 4 * BASE)
    table = budget.claims_by_budget(pd.concat([early, late], ignore_index=True), BASE)
    is_rows = table[table["measure"] == "is_mean"].set_index("budget")
    assert is_rows.loc["1×", "verdict"] == claims.REFUTED and is_rows.loc["4×", "verdict"] == claims.HOLDS
    assert is_rows.loc["1×", "runs"] == is_rows.loc["4×", "runs"] == 6     # 2 λ × 3 seeds each
    assert set(table["steps"]) == {BASE, 4 * BASE}


def test_a_record_without_its_step_is_refused_naming_it():
    frame = at_step(sweep(lambda lam: 7.0, lambdas=(0.3, 1.0)), BASE)
    frame.loc[2, "train_step"] = None
    with pytest.raises(UserError, match=r"1 record\(s\) name no train_step \(first: .*seed"):
        budget.claims_by_budget(frame, BASE)
    with pytest.raises(UserError, match="no train_step column"):
        budget.claims_by_budget(frame.drop(columns="train_step"), BASE)


def test_the_same_snapshot_twice_is_refused():
    frame = at_step(sweep(lambda lam: 7.0, lambdas=(0.3, 1.0)), BASE)
    with pytest.raises(UserError, match="two records of one run at one step"):
        budget.claims_by_budget(pd.concat([frame, frame.iloc[:1]], ignore_index=True), BASE)


def curves(last_change, noise=0.005):
    """IS rising 1.5 over the last doubling; the reconstruction moving by ``last_change``."""
    frames = [at_step(sweep(lambda lam, b=b: 5 + b, recon_of=lambda lam, r=r: 1.0 + r,
                            lambdas=(0.3, 1.0), seed=i, noise=noise), step)
              for i, (b, r, step) in enumerate(((0.0, 0.0, BASE), (0.5, 0.0, 2 * BASE),
                                                (2.0, last_change, 4 * BASE)))]
    table = budget.convergence(pd.concat(frames, ignore_index=True), BASE)
    return lambda measure: table[(table["measure"] == measure) & (table["lambda"] == 0.3)].iloc[0]


def test_settled_means_the_change_lies_within_delta_and_flips_when_the_change_grows():
    """A rule that called 'settled' whatever straddles 0, or compared the change with the seed
    std (which a change in two seeds inflates), fails one of these."""
    row = curves(last_change=0.0)
    assert row("is_mean")["verdict"] == budget.MOVING
    assert row("is_mean")["change_last_doubling"] == pytest.approx(1.5, abs=0.05)
    assert row("is_mean")["budget"] == "2× → 4×" and row("is_mean")["seeds"] == 3
    recon = row("recon_mean")
    assert recon["verdict"] == budget.SETTLED and recon["delta"] == pytest.approx(0.05, rel=0.01)
    assert -recon["delta"] < recon["change_low"] < recon["change_high"] < recon["delta"]
    assert curves(last_change=0.2)("recon_mean")["verdict"] == budget.MOVING
    assert curves(last_change=0.0, noise=0.1)("recon_mean")["verdict"] == budget.UNDETERMINED


def test_ijae_budget_writes_the_tables_and_figures(tmp_path, capsys):
    from ijae import cli

    frames = [at_step(sweep(lambda lam, b=b: 5 + b - lam, lambdas=(0.3, 1.0), seed=i,
                            variant=variant), step)
              for i, (b, step) in enumerate(((0.0, BASE), (1.0, 2 * BASE), (1.2, 4 * BASE)))
              for variant in ("implicit", "l1")]
    path = tmp_path / "metrics_budget.csv"
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    assert cli.main(["budget", str(path), "--out", str(tmp_path), "--base-steps", str(BASE)]) == 0
    out = capsys.readouterr().out
    assert "digits 4×: IS falls with λ" in out and "still moving" in out
    for name in ("claims_budget.csv", "claims_budget.md", "budget_convergence.csv",
                 "learning_curves.png", "claims_budget.png", "claims_budget.pdf"):
        assert (tmp_path / name).stat().st_size > 0, name
    md = (tmp_path / "claims_budget.md").read_text()
    assert "| claim | 1× | 2× | 4× | its effect, last doubling |" in md
    assert "λ-IJAE's front dominates the λ-IJAE-L1 front" in md
    assert "## Verdicts whose effect has not settled" in md
    effects = pd.read_csv(tmp_path / "budget_effects.csv")
    assert set(effects["verdict"]) <= {budget.SETTLED, budget.MOVING, budget.UNDETERMINED}
    assert (effects["budget"] == "2× → 4×").all() and len(effects) >= 4
    assert cli.main(["budget", str(path), "--out", str(tmp_path), "--base-steps", "0"]) == 2
