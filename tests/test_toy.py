"""Figure 1's toy problem (ijae/toy/): estimators against quadrature, the closed-form gradient
against autograd, the optima's mode-covering / mode-seeking behaviour, and the command."""
import json
import math
import os

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import integrate
from scipy.stats import norm

from ijae import UserError, toy
from ijae.cli import main

THETAS = [(-2.0, math.log(4.0), 5.0, math.log(1.0)),      # wide, overlapping
          (-3.0, math.log(0.64), 7.5, math.log(0.09))]    # on -3, near the narrow +8 mode
DIVERGENCES = [("forward_kl", None), ("reverse_kl", None), ("jsd", None), ("jeffreys", 0.3),
               ("jeffreys", 0.5)]


def _lse(terms):
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def _log_normal(x, m, s):
    return -0.5 * ((x - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)


def _log_p(x):
    return _lse([math.log(w) + _log_normal(x, m, s)
                 for w, m, s in zip(toy.WEIGHTS, toy.MEANS, toy.STDS)])


def _log_q(x, theta):
    return _lse([math.log(0.5) + _log_normal(x, m, math.exp(0.5 * lv))
                 for m, lv in zip(theta[0::2], theta[1::2])])


@pytest.mark.parametrize("theta", THETAS)
def test_quadrature_matches_scipy_quad(theta):
    """``exact`` (log-space trapezoid on a fine grid) against adaptive quadrature of the
    textbook integrands."""
    points = sorted(set(toy.MEANS) | {theta[0], theta[2]})

    def kl(log_f, log_g):
        def integrand(x):
            return math.exp(log_f(x)) * (log_f(x) - log_g(x))
        return integrate.quad(integrand, -30, 30, points=points, limit=500, epsabs=1e-11)[0]

    p, q = _log_p, lambda x: _log_q(x, theta)
    m = lambda x: _lse([p(x), q(x)]) - math.log(2)  # noqa: E731
    fwd, rev = kl(p, q), kl(q, p)
    assert toy.exact(theta, "forward_kl") == pytest.approx(fwd, abs=1e-6)
    assert toy.exact(theta, "reverse_kl") == pytest.approx(rev, abs=1e-6)
    assert toy.exact(theta, "jsd") == pytest.approx(0.5 * kl(p, m) + 0.5 * kl(q, m), abs=1e-6)
    assert toy.exact(theta, "jeffreys", 0.3) == pytest.approx(0.3 * fwd + 0.7 * rev, abs=1e-6)


@pytest.mark.parametrize("name,lam", DIVERGENCES)
@pytest.mark.parametrize("theta", THETAS)
def test_monte_carlo_estimate_agrees_with_quadrature(name, lam, theta):
    value, se = toy.evaluate(torch.tensor(theta, dtype=torch.float64)[None, None],
                             [(name, lam)], n=20_000, seed=7)
    value, se = float(value), float(se)
    exact = toy.exact(theta, name, lam)
    assert 0 < se < 0.05, se                      # a real, informative standard error
    assert abs(value - exact) < 4 * se, (value, exact, se)


def test_evaluate_is_the_reference_estimator():
    """The fast per-instance evaluation equals ``mc_estimate`` on the same samples."""
    spec = toy.groups([0.3, 0.5])
    gen = torch.Generator().manual_seed(0)
    theta = torch.tensor(THETAS, dtype=torch.float64)[:, None, :].repeat(1, len(spec), 1)
    theta[..., 0::2] += torch.randn(2, len(spec), 2, generator=gen, dtype=torch.float64)
    value, se = toy.evaluate(theta, spec, n=3000, seed=4)
    gen = torch.Generator().manual_seed(5)                  # evaluate draws with seed + 1
    y, comp = toy.sample_target((), 3000, gen)
    eps = torch.randn(2, 1500, generator=gen, dtype=torch.float64)
    ref, ref_se = toy.mc_estimate(theta, spec, y[None], comp, eps[None])
    torch.testing.assert_close(value, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(se, ref_se, rtol=1e-8, atol=1e-12)


def test_closed_form_gradient_matches_autograd():
    """The training gradient is autograd's gradient of the same Monte Carlo estimate, up to
    the tabulated ∂x log p* (nearest of 4096 nodes per unit)."""
    spec = toy.groups([0.2, 0.5, 0.8])
    R, B = 4, 400
    gen = torch.Generator().manual_seed(3)
    theta = torch.empty(R, len(spec), 4, dtype=torch.float64)
    theta[..., 0::2].uniform_(-10, 10, generator=gen)
    theta[..., 1::2] = 2 * torch.empty(R, len(spec), 2, dtype=torch.float64).uniform_(
        0.3, 3, generator=gen).log()
    y, comp = toy.sample_target((R,), B, gen)
    eps = torch.randn(R, 2, B // 2, generator=gen, dtype=torch.float64)
    leaf = theta.clone().requires_grad_()
    toy.mc_estimate(leaf, spec, y, comp, eps)[0].sum().backward()
    fast = toy.fast_grad(theta, spec, y, eps)
    assert leaf.grad.abs().max() > 1.0
    torch.testing.assert_close(fast, leaf.grad, rtol=1e-3, atol=2e-3)
    # float32 (as trained) agrees too, and a diverged (NaN) run leaves the others untouched
    bad = theta.float().clone()
    bad[0, 2] = float("nan")
    fast32 = toy.fast_grad(bad, spec, y.float(), eps.float())
    assert torch.isnan(fast32[0, 2]).all()
    mask = torch.ones(R, len(spec), dtype=torch.bool)
    mask[0, 2] = False
    torch.testing.assert_close(fast32[mask].double(), leaf.grad[mask], rtol=2e-3, atol=5e-3)


@pytest.fixture(scope="module")
def fitted():
    res = toy.fit((0.02, 0.98), runs=8, steps=2000, batch=200, seed=0, progress=False)
    return {key: res["theta"][res["best"][g], g] for g, key in enumerate(res["spec"])}


def _mass(theta, lo, hi):
    return 0.5 * sum(norm.cdf(hi, m, math.exp(0.5 * lv)) - norm.cdf(lo, m, math.exp(0.5 * lv))
                     for m, lv in zip(theta[0::2], theta[1::2]))


def test_reverse_kl_drops_side_modes_forward_kl_covers_them(fitted):
    rev, fwd = fitted[("reverse_kl", None)], fitted[("forward_kl", None)]
    for lo, hi in ((-9, -7), (7, 9)):          # the side modes at ±8 (target mass 0.15, 0.2)
        assert _mass(rev, lo, hi) < 1e-3, rev
        assert _mass(fwd, lo, hi) > 0.02, fwd


def test_jeffreys_interpolates_between_the_kls(fitted):
    fwd, rev = fitted[("forward_kl", None)], fitted[("reverse_kl", None)]
    hi, lo = fitted[("jeffreys", 0.98)], fitted[("jeffreys", 0.02)]
    f = lambda th: toy.exact(th, "forward_kl")  # noqa: E731
    r = lambda th: toy.exact(th, "reverse_kl")  # noqa: E731
    assert f(rev) - f(fwd) > 1.0 and r(fwd) - r(rev) > 1.0    # the two optima differ a lot
    assert f(hi) - f(fwd) < 0.05 * (f(rev) - f(fwd))          # λ → 1: forward KL's optimum
    assert r(lo) - r(rev) < 0.05 * (r(fwd) - r(rev))          # λ → 0: reverse KL's optimum
    assert np.allclose(np.sort(lo[0::2]), np.sort(rev[0::2]), atol=0.15)
    assert np.allclose(np.sort(hi[0::2]), np.sort(fwd[0::2]), atol=0.5)


def test_cli_writes_table_runs_figure_and_settings(tmp_path):
    out = tmp_path / "toy"
    assert main(["toy", "--out", str(out), "--runs", "3", "--steps", "300", "--batch", "100",
                 "--seed", "1"]) == 0
    table = pd.read_csv(out / "optima.csv")
    assert list(table.columns[:8]) == ["divergence", "lambda", "mu1", "sigma1", "mu2", "sigma2",
                                       "estimate", "exact"]
    assert table.divergence.tolist() == ["forward_kl", "reverse_kl", "jsd"] + ["jeffreys"] * 5
    assert table["lambda"].iloc[:3].isna().all()
    assert table["lambda"].iloc[3:].tolist() == [0.1, 0.3, 0.5, 0.7, 0.9]
    assert (table.mu1 <= table.mu2).all() and (table[["sigma1", "sigma2"]] > 0).all().all()
    assert np.isfinite(table[["estimate", "exact"]].to_numpy()).all()
    assert (out / "figure1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figure1.pdf").read_bytes()[:5] == b"%PDF-"
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 3 * 8
    assert runs.groupby(["divergence", "lambda"], dropna=False).best.sum().eq(1).all()
    settings = json.loads((out / "toy.json").read_text())
    assert {k: settings[k] for k in ("runs", "steps", "batch", "seed")} == \
        {"runs": 3, "steps": 300, "batch": 100, "seed": 1}
    assert settings["lr"] == toy.DEFAULT_LR and settings["wall_seconds"] > 0
    assert settings["torch"] == torch.__version__ and settings["device"] == "cpu"
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("argv,needle", [
    (["--runs", "0"], "--runs 0"), (["--steps", "-3"], "--steps -3"),
    (["--batch", "7"], "--batch 7"), (["--lr", "0"], "--lr 0.0"),
    (["--lr", "nan"], "--lr nan"), (["--device", "no-such-device"], "--device 'no-such-device'"),
])
def test_cli_rejects_bad_arguments(tmp_path, capsys, argv, needle):
    assert main(["toy", "--out", str(tmp_path / "toy")] + argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "expected" in err
    assert not (tmp_path / "toy" / "optima.csv").exists()


@pytest.mark.parametrize("lambdas", [(0.5, 1.0), (0.0,), ()])
def test_run_rejects_lambdas_outside_the_open_interval(tmp_path, lambdas):
    with pytest.raises(UserError, match="lambdas"):
        toy.run(tmp_path, runs=1, steps=1, batch=10, lambdas=lambdas)


def test_training_is_deterministic_with_and_without_the_second_thread(monkeypatch):
    spec = toy.groups([0.5])
    kwargs = dict(runs=3, steps=40, batch=50, seed=2, lr=0.01, progress=False)
    threaded = toy.train(spec, **kwargs)          # the first steps try both ways (``_Chooser``)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    single = toy.train(spec, **kwargs)
    assert torch.isfinite(single).all()
    assert torch.equal(threaded, single)
    assert torch.equal(toy.train(spec, **kwargs), single)
