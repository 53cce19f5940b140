"""Figure 1 (Appendix B): a 4-component 1-D target fitted by an equal-weight 2-component model.

Target  p*(x) = 0.15 N(-8, 0.2²) + 0.35 N(-3, 0.8²) + 0.3 N(3, 1) + 0.2 N(8, 0.2²)
Model   p_θ(x) = ½ N(θ1, exp θ2) + ½ N(θ3, exp θ4)     (exp θ is the variance: θ2, θ4 = log σ²)

Each divergence -- forward KL(p*‖p_θ), reverse KL(p_θ‖p*), JSD and λ-Jeffreys
J_λ = λ KL(p*‖p_θ) + (1-λ) KL(p_θ‖p*) -- is minimised by plain SGD (no momentum, no clipping)
on reparameterised Monte Carlo estimates: every step draws ``batch`` samples from p* and
``batch`` reparameterised samples x = μ_k + σ_k ε from p_θ.  All runs of all divergences form
one (runs × divergences) batch.  What keeps 50 runs × 8 divergences × 10,000 steps well under a
minute on a 2-core CPU:

* Stratified sampling: exactly batch/2 model samples per component (unbiased for the
  equal-weight mixture) and target samples allocated to components systematically (one shared
  uniform offset per step; at batch 1000 exactly 150/350/300/200 per component).
* Common random numbers: run r of every divergence starts from the same initial θ and sees the
  same ε stream; runs are independent of one another.
* Closed-form gradients: every per-sample gradient is a polynomial of degree <= 2 in the sample
  (y, or ε for the model) times a responsibility, so the sums over a batch are small batched
  matrix products.  They equal autograd's gradient of the same estimate (tests/test_toy.py) up
  to ∂x log p*, which is read from a fine table (error < 0.03 at worst, 4e-4 on average).
* float32, in-place buffers, one intra-op thread, and the target-sample half of each gradient
  in a second Python thread (``train``).

The best of the runs per divergence is picked by a 100,000-sample estimate (float64) and checked
against the same divergence by quadrature in log space (``exact``).
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp
from tqdm import tqdm

from ijae import UserError
from ijae.contract import atomic_write_bytes, atomic_write_text

WEIGHTS = (0.15, 0.35, 0.30, 0.20)
MEANS = (-8.0, -3.0, 3.0, 8.0)
STDS = (0.2, 0.8, 1.0, 0.2)
DEFAULT_LR = 0.01      # plain SGD; stable for components as narrow as the target's σ = 0.2
INIT_MEAN = (-10.0, 10.0)  # initial locations: uniform over the data range
INIT_STD = (0.5, 3.0)      # initial standard deviations: uniform
EVAL_SAMPLES = 100_000
_DRAW_CHUNK = 25           # training draws are made for this many steps at a time
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class ToyError(UserError, ValueError):
    """A bad argument to ``ijae toy``; the message names the value and what was expected."""


# ---------------------------------------------------------------------------------------------
# divergences as groups: a_T weighs the target-sample term, a_M the model-sample term

def groups(lambdas) -> list[tuple[str, float | None]]:
    """Training order: forward first, reverse last, so the target-sample groups are [:-1]
    and the model-sample groups are [1:] (contiguous slices, no copies)."""
    return ([("forward_kl", None)] + [("jeffreys", float(lam)) for lam in lambdas]
            + [("jsd", None), ("reverse_kl", None)])


def _weights(spec) -> tuple[list[float], list[float], list[bool]]:
    a_t, a_m, jsd = [], [], []
    for name, lam in spec:
        a, b = {"forward_kl": (1.0, 0.0), "reverse_kl": (0.0, 1.0), "jsd": (0.5, 0.5)}.get(
            name, (lam, 1.0 - (lam or 0.0)))
        a_t.append(a), a_m.append(b), jsd.append(name == "jsd")
    return a_t, a_m, jsd


@functools.lru_cache(maxsize=None)
def _target(device, dtype):
    """Weights, means, stds and log(w / (s √2π)) of the target components as tensors."""
    t = lambda v: torch.tensor(v, device=device, dtype=dtype)  # noqa: E731
    w, m, s = t(WEIGHTS), t(MEANS), t(STDS)
    return w, m, s, torch.log(w) - torch.log(s) - _HALF_LOG_2PI


# torch's vectorised exp takes a slow path (10-40x) when it under- or overflows, so arguments of
# exp / sigmoid are clamped to ±80 (e^-80 is negligible beside the terms that matter).
_CLAMP = 80.0


def _lse(b: torch.Tensor, dim: int) -> torch.Tensor:
    mx = b.amax(dim, keepdim=True).detach()
    return (b - mx).clamp(min=-_CLAMP).exp().sum(dim).log() + mx.squeeze(dim)


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + e^x), stable; log1p and F.softplus are ~10x slower than log on the CPU."""
    return torch.log(torch.exp(-x.abs().clamp(max=_CLAMP)) + 1) + x.clamp(min=0)


def log_target(x: torch.Tensor) -> torch.Tensor:
    _, m, s, k = _target(x.device, x.dtype)
    z = (x[..., None] - m) / s
    return _lse(k - 0.5 * z * z, -1)


def sample_target(shape, n: int, gen, device="cpu", dtype=torch.float64, steps=None):
    """``n`` samples per row of ``shape``, allocated to the components systematically (one
    uniform offset, shared by the rows): unbiased, and at n = 1000 exactly 150/350/300/200.
    Returns the samples [*shape, n] and their components [n]; with ``steps``, that many
    independent draws [steps, *shape, n] with components [steps, 1.., n]."""
    w, m, s, _ = _target(torch.device(device), dtype)
    lead = () if steps is None else (steps,)
    u = torch.rand(lead, generator=gen, device=device, dtype=torch.float64)
    q = (torch.arange(n, device=device, dtype=torch.float64) + u[..., None]) / n
    comp = torch.searchsorted(torch.cumsum(w.double(), 0), q).clamp_(max=len(WEIGHTS) - 1)
    comp = comp.view(*lead, *[1] * (len(shape) if steps is not None else 0), n)
    eps = torch.randn((*lead, *shape, n), generator=gen, device=device, dtype=dtype)
    return eps.mul_(s[comp]).add_(m[comp]), comp


# ---------------------------------------------------------------------------------------------
# the Monte Carlo estimate itself (float64 evaluation, autograd reference for the fast gradient)

def mc_estimate(theta, spec, y, comp, eps):
    """Estimates and standard errors [R, G] of the divergences ``spec`` at ``theta`` [R, G, 4].

    ``y`` [R|1, n] are target samples with components ``comp`` [n]; ``eps`` [R|1, 2, h] are the
    standard-normal draws of the model samples x = μ_k + σ_k ε (h per component).
    """
    a_t, a_m, jsd = _weights(spec)
    a_t, a_m = (torch.tensor(v, dtype=theta.dtype, device=theta.device) for v in (a_t, a_m))
    jsd = torch.tensor(jsd, device=theta.device)
    mu, sig = theta[..., 0::2], torch.exp(0.5 * theta[..., 1::2])            # [R, G, 2]

    def log_model(x):                                                          # x [R, G, n]
        z = (x[..., None] - mu[:, :, None, :]) / sig[:, :, None, :]
        return _lse(-0.5 * z * z - torch.log(sig[:, :, None, :]), -1) - math.log(2) - _HALF_LOG_2PI

    yb = y[:, None, :].expand(theta.shape[0], theta.shape[1], -1)
    lq, lp = log_model(yb), log_target(y)[:, None, :]
    lm = lp + _softplus(lq - lp) - math.log(2)
    f_t = torch.where(jsd[:, None], lp - lm, lp - lq)                          # [R, G, n]
    x = mu[..., None] + sig[..., None] * eps[:, None]                          # [R, G, 2, h]
    x = x.flatten(-2)
    lq, lp = log_model(x), log_target(x)
    lm = lp + _softplus(lq - lp) - math.log(2)
    f_m = torch.where(jsd[:, None], lq - lm, lq - lp).unflatten(-1, (2, -1))   # [R, G, 2, h]
    value = a_t * f_t.mean(-1) + a_m * f_m.mean((-1, -2))
    with torch.no_grad():   # stratified standard error: Σ_strata (n_c/n)² var_c / n_c
        n = y.shape[-1]
        var_t = sum(f_t[..., comp == c].var(-1) * float((comp == c).sum()) / n ** 2
                    for c in range(len(WEIGHTS)) if int((comp == c).sum()) > 1)
        var_m = (f_m.var(-1) / f_m.shape[-1]).sum(-1) / 4
        se = torch.sqrt(a_t ** 2 * var_t + a_m ** 2 * var_m)
    return value, se


# ---------------------------------------------------------------------------------------------
# the closed-form gradient of ``mc_estimate`` (training order of ``groups``)

_GRID = (-64.0, 4096, 2 ** 19)    # lookup tables on [-64, 64], 4096 nodes per unit
_PAIR = {torch.float32: torch.float64, torch.float64: torch.complex128}   # view of 2 values


@functools.lru_cache(maxsize=None)
def _tables(device, dtype):
    """Tables on a grid of step h = 1/4096 read at the nearest node: ∂x log p*(x) itself
    (error < 0.03 in the narrow hand-overs between components, 4e-4 on average, against values
    up to ±38; held at the end values beyond ±64), and pairs (L, h L') for a first-order Taylor
    step, L = log p*(x) + (x - 3)²/2, which is bounded and constant beyond ±64 (error < 2e-6)."""
    lo, per, n = _GRID
    x = lo + torch.arange(n + 1, dtype=torch.float64) / per
    _, m, s, k = _target(x.device, torch.float64)
    z = (x[:, None] - m) / s
    score = (torch.softmax(k - 0.5 * z * z, -1) * (-z / s)).sum(-1)
    big_l = torch.logsumexp(k - 0.5 * z * z, -1) + 0.5 * (x - 3) ** 2
    pairs = torch.stack([big_l, (score + x - 3) / per], -1).to(device, dtype).view(_PAIR[dtype])
    return score.to(device, dtype), pairs[:, 0], lo, float(per), n


def _nearest(t, n, idx, work):
    """Nearest grid node of table coordinates ``t`` (offset by +0.5 already) into ``idx``."""
    idx.copy_(torch.clamp(t, 0, n, out=work))
    return idx


def _taylor(pairs, t, idx):
    """L at table coordinates ``t`` (offset +0.5) from the (L, h L') pairs at nodes ``idx``."""
    pair = pairs.index_select(0, idx.reshape(-1)).view(t.dtype).view(*t.shape, 2)
    return torch.addcmul(pair[..., 0], (t - 0.5 - idx).clamp_(-0.5, 0.5), pair[..., 1])


def _log_target_table(x, tables):
    """log p*(x) from ``_tables`` (allocating; for small tensors)."""
    _, pairs, lo, per, n = tables
    t = ((x - lo) * per + 0.5).nan_to_num_(0.0)
    idx = _nearest(t, n, torch.empty(t.shape, dtype=torch.int32, device=t.device),
                   torch.empty_like(t))
    return _taylor(pairs, t, idx).sub_(0.5 * (x - 3) ** 2)


class _Stepper:
    """The gradient [R, G, 4] of ``mc_estimate(theta, spec, y, ·, eps)[0].sum()`` in closed form,
    for ``spec`` in ``groups`` order, ``y`` [R, B] and ``eps`` [R, 2, B/2] shared by the groups.
    Target-sample sums run over groups [:-1], model-sample sums over groups [1:].  ∂x log p*
    and (JSD only) log p* come from ``_tables``; everything else is exact.

    Every per-sample quantity that is a polynomial of degree <= 2 in the sample is one batched
    matrix product (coefficients @ [1, s, s²]), and every batch sum is one as well
    ([1, s, s²] @ per-sample weights); the big [R, G, B] intermediates live in buffers that are
    updated in place (that keeps them in cache)."""

    def __init__(self, spec, runs, batch, device, dtype):
        G, h = len(spec), batch // 2
        a_t, a_m, _ = _weights(spec)
        self.a_t = torch.tensor(a_t[:-1], device=device, dtype=dtype)[:, None] / -batch
        self.a_m = torch.tensor(a_m[1:], device=device, dtype=dtype)[:, None] / batch
        self.tables = _tables(torch.device(device), dtype)
        _, _, lo, per, _ = self.tables
        log_4pi = math.log(2) + _HALF_LOG_2PI
        empty = functools.partial(torch.empty, device=device, dtype=dtype)
        # target samples: rows a_1 - a_2 per group, JSD's Q(y), the table coordinate of y
        self.q_shift = torch.tensor([4.5 - log_4pi, -3.0, 0.5], device=device, dtype=dtype)
        self.coef_t = empty(runs, G + 1, 3)
        self.coef_t[:, G] = torch.tensor([0.5 - lo * per, per, 0.0])
        self.Yt = empty(runs, 3, batch)                  # [1, y, y²]
        self.Yt[:, 0] = 1
        self.dq = empty(runs, G + 1, batch)
        self.idx_y = torch.empty(runs, batch, device=device, dtype=torch.int32)
        self.work_y = empty(runs, batch)
        # model samples, per (run, own component): rows a_o - a_k per group, JSD's K(x), the
        # table coordinates of x per group
        self.coef_m = torch.zeros(runs * 2, 2 * G - 1, 3, device=device, dtype=dtype)
        self.Et = empty(runs * 2, 3, h)                  # [1, ε, ε²]
        self.Et[:, 0] = 1
        self.nkt = empty(runs * 2, 2 * G - 1, h)
        self.work = empty(runs * 2, G - 1, h)
        self.score = empty(runs * 2, G - 1, h)
        self.idx = torch.empty(runs * 2, G - 1, h, device=device, dtype=torch.int32)

    def __call__(self, theta, y, eps, pool=None):
        """The gradient; with a thread ``pool`` the target-sample half runs beside the rest."""
        if pool is None:
            return self.target_part(theta, y).add_(self.model_part(theta, eps))
        future = pool.submit(self.target_part, theta, y)
        return self.model_part(theta, eps).add_(future.result())

    def target_part(self, theta, y):
        """Target samples y: ∂ log p_θ(y) = γ_k (y - μ_k) / σ_k² (μ_k) and
        γ_k ((y - μ_k)² / σ_k² - 1) / 2 (log σ_k²), γ1 = sigmoid(a_1 - a_2) with
        a_k = -(y - μ_k)² / 2σ_k² - ln σ_k quadratic in y, so the batch sums are moments
        Σ w γ_k y^m (m <= 2).  JSD weighs by w = D(y) = sigmoid(Q + softplus(a_2 - a_1) - L),
        Q = a_1 + (y - 3)²/2 - log 4π quadratic in y, L(y) = log p*(y) + (y - 3)²/2 tabulated."""
        R, G, _ = theta.shape
        GT = G - 1
        _, pairs, _, _, t_n = self.tables
        mu, ls = theta[:, :GT, 0::2], theta[:, :GT, 1::2]                       # [R, GT, 2]
        iv = torch.exp(-ls)
        miv = mu * iv
        a = torch.stack([-0.5 * (miv * mu + ls), miv, -0.5 * iv], -1)           # a_k [R,GT,2,3]
        coef = self.coef_t
        torch.sub(a[:, :, 0], a[:, :, 1], out=coef[:, :GT])
        torch.add(a[:, -1, 0], self.q_shift, out=coef[:, GT])
        Yt = self.Yt
        Yt[:, 1] = y
        torch.mul(y, y, out=Yt[:, 2])
        dq = torch.bmm(coef, Yt, out=self.dq)
        t = dq[:, GT + 1]
        logit = _taylor(pairs, t, _nearest(t, t_n, self.idx_y, self.work_y))    # L(y)
        logit = _softplus(-dq[:, GT - 1]).add_(dq[:, GT]).sub_(logit)
        dsc = logit.clamp_(-_CLAMP, _CLAMP).sigmoid_()                          # w = D(y)
        g1 = dq[:, :GT].clamp_(-_CLAMP, _CLAMP).sigmoid_()                      # γ1
        g1[:, -1] *= dsc
        W = torch.bmm(Yt, g1.transpose(1, 2))                                   # Σ w γ1 y^m
        V = Yt.sum(2)[:, :, None].repeat(1, 1, GT)                              # Σ w y^m
        V[:, :, -1] = torch.bmm(Yt, dsc[:, :, None])[..., 0]
        m0, m1, m2 = torch.stack([W, V - W], -1).unbind(1)                     # [R, GT, 2]
        c1 = m1 - mu * m0                                                       # Σ w γ (y - μ)
        c2 = m2 - mu * (m1 + c1)                                                # Σ w γ (y - μ)²
        grad = torch.stack([c1 * iv, 0.5 * (c2 * iv - m0)], -1).flatten(-2).mul_(self.a_t)
        return torch.cat([grad, torch.zeros_like(theta[:, -1:])], 1)

    def model_part(self, theta, eps):
        """Model samples x = μ_k + σ_k ε of own component k (o = the other one): the path
        derivative (∂x log p_θ - ∂x log p*) ∂x/∂θ plus the score ∂θ log p_θ(x).  The other
        component's z_o = α + β ε is affine in ε, so its terms are moments Σ c g ε^m (m <= 2)
        of its responsibility g = sigmoid(a_o - a_k); the target enters as Σ c ∂x log p*(x) ε^m
        (m <= 1), ∂x log p* tabulated.  JSD weighs by c = 1 - D(x) =
        sigmoid(L - K - softplus(a_o - a_k)), K = (x - 3)²/2 + a_k - log 4π quadratic in ε."""
        R, G, _ = theta.shape
        GM, h = G - 1, eps.shape[-1]
        score_tab, pairs, t_lo, t_per, t_n = self.tables
        log_4pi = math.log(2) + _HALF_LOG_2PI
        mu, ls = theta[:, 1:, 0::2], theta[:, 1:, 1::2]                         # [R, GM, 2]
        sig = torch.exp(0.5 * ls)
        mo, lo, so = mu.flip(-1), ls.flip(-1), sig.flip(-1)
        alpha, beta = (mu - mo) / so, sig / so                                  # z_o = α + β ε
        coef = self.coef_m.view(R, 2, 2 * GM + 1, 3)
        coef[:, :, :GM] = torch.stack([0.5 * (ls - lo - alpha * alpha), -alpha * beta,
                                       0.5 * (1 - beta * beta)], -1).transpose(1, 2)
        mj, sj, lj = mu[:, -2], sig[:, -2], ls[:, -2]                           # JSD group
        coef[:, :, GM] = torch.stack([0.5 * (mj - 3) ** 2 - 0.5 * lj - log_4pi, sj * (mj - 3),
                                      0.5 * (sj * sj - 1)], -1)
        coef[:, :, GM + 1:, :2] = torch.stack([(mu - t_lo) * t_per + 0.5, sig * t_per], -1) \
            .nan_to_num_(0.0).transpose(1, 2)             # a diverged (NaN) run reads node 0
        Et = self.Et
        Et[:, 1] = eps.flatten(0, 1)
        torch.mul(Et[:, 1], Et[:, 1], out=Et[:, 2])
        nkt = torch.bmm(self.coef_m, Et, out=self.nkt)
        negd, t = nkt[:, :GM], nkt[:, GM + 1:]
        idx = _nearest(t, t_n, self.idx, self.work)
        score = torch.index_select(score_tab, 0, idx.view(-1), out=self.score.view(-1)) \
            .view_as(self.score)                                                # ∂x log p*(x)
        logit = _taylor(pairs, t[:, -2], idx[:, -2])                           # L(x)
        logit -= nkt[:, GM] + _softplus(negd[:, -2])
        cw = logit.clamp_(-_CLAMP, _CLAMP).sigmoid_()                           # c = 1 - D(x)
        g = negd.clamp_(-_CLAMP, _CLAMP).sigmoid_()                             # g
        g[:, -2] *= cw
        score[:, -2] *= cw
        g0, g1, g2 = torch.bmm(Et, g.transpose(1, 2)).view(R, 2, 3, GM).permute(2, 0, 3, 1)
        t0, t1 = torch.bmm(Et[:, :2], score.transpose(1, 2)).view(R, 2, 2, GM).permute(2, 0, 3, 1)
        c0 = torch.full_like(mu, float(h))                                      # Σ c
        c0[:, -2] = cw.sum(-1).view(R, 2)
        p1 = alpha * g0 + beta * g1                                             # Σ c g z_o
        p2 = alpha * g1 + beta * g2                                             # Σ c g z_o ε
        p3 = alpha * p1 + beta * p2                                             # Σ c g z_o²
        g_mu = p1.flip(-1) / sig - p1 / so - t0
        g_ls = 0.5 * ((p3 - g0).flip(-1) - p2 * sig / so - sig * t1 - c0 + g0)
        grad = torch.stack([g_mu, g_ls], -1).flatten(-2).mul_(self.a_m)
        return torch.cat([torch.zeros_like(theta[:, :1]), grad], 1)


def fast_grad(theta, spec, y, eps):
    """``_Stepper`` for one call (tests)."""
    return _Stepper(spec, theta.shape[0], y.shape[-1], theta.device, theta.dtype)(theta, y, eps)


# ---------------------------------------------------------------------------------------------
# training, evaluation, quadrature

def train(spec, *, runs, steps, batch, seed, lr, device="cpu", dtype=torch.float32,
          progress=True):
    """Plain SGD (no momentum, no clipping) for every (run, divergence) at once.

    Run r of every divergence starts from the same θ: locations uniform over ``INIT_MEAN``,
    standard deviations uniform over ``INIT_STD`` (θ2, θ4 = log σ²), and sees the same samples
    (common random numbers).  Computes in ``dtype`` (float32); returns θ [runs, G, 4] in
    float64.  A run that diverges turns NaN and stays NaN without touching the others.

    On the CPU each op runs on one intra-op thread: the ops are small (~350k elements), and on
    a shared machine a second OpenMP thread makes every op wait for a busy core (measured 50x
    slower on a loaded 2-core box).  Instead the target-sample half of each gradient runs in a
    second Python thread beside the model-sample half (same result, bit for bit).
    """
    gen = torch.Generator(device).manual_seed(seed)
    init = torch.empty(runs, 4, device=device, dtype=torch.float64)
    init[:, 0::2].uniform_(*INIT_MEAN, generator=gen)
    init[:, 1::2] = 2 * torch.empty(runs, 2, device=device, dtype=torch.float64) \
        .uniform_(*INIT_STD, generator=gen).log()
    theta = init[:, None, :].repeat(1, len(spec), 1).to(dtype)
    step = _Stepper(spec, runs, batch, device, dtype)
    bar = tqdm(total=steps, desc="toy SGD", unit="step", file=sys.stderr, disable=not progress,
               mininterval=0.5)
    threads = torch.get_num_threads()
    cpu = torch.device(device).type == "cpu"
    pool = ThreadPoolExecutor(1) if cpu and (os.cpu_count() or 1) > 1 else None
    chooser = _Chooser(pool)
    if cpu:
        torch.set_num_threads(1)
    try:
        for start in range(0, steps, _DRAW_CHUNK):       # random draws for a chunk of steps
            k = min(_DRAW_CHUNK, steps - start)
            ys, _ = sample_target((runs,), batch, gen, device, dtype, steps=k)
            es = torch.randn(k, runs, 2, batch // 2, generator=gen, device=device, dtype=dtype)
            for i, (y, eps) in enumerate(zip(ys, es)):
                with chooser(start + i) as use:
                    theta.sub_(step(theta, y, eps, use), alpha=lr)
            bar.update(k)
        bar.close()
    finally:
        torch.set_num_threads(threads)
        if pool is not None:
            pool.shutdown()
    return theta.double()


class _Chooser:
    """Whether a step hands the target-sample half to the second thread: that pays on an idle
    second core and costs a little on a busy one, so every ``period`` steps the next 2 × ``trial``
    steps are timed both ways and the faster way is kept.  Either way gives the same bits."""

    def __init__(self, pool, period=1000, trial=15):
        self.pool, self.period, self.trial = pool, period, trial
        self.use, self.times = pool, {True: [], False: []}

    @contextlib.contextmanager
    def __call__(self, step):
        phase = step % self.period
        if self.pool is None or phase >= 2 * self.trial:
            yield self.use
            return
        threaded = phase % 2 == 1                    # alternate, so both see the same load
        start = time.perf_counter()
        yield self.pool if threaded else None
        self.times[threaded].append(time.perf_counter() - start)
        if phase == 2 * self.trial - 1:
            faster = np.median(self.times[True]) < np.median(self.times[False])
            self.use = self.pool if faster else None
            self.times = {True: [], False: []}


def evaluate(theta, spec, *, n=EVAL_SAMPLES, seed=0):
    """``mc_estimate`` (float64) with ``n`` samples of each kind, the same samples for every run
    and divergence (common random numbers: the runs are compared, not the noise).  Returns
    estimates and standard errors [R, G]; non-finite parameters give NaN.

    Same arithmetic as ``mc_estimate``, one (run, divergence) at a time (memory and cache), and
    every log density as a quadratic in the shared draws (one matrix product)."""
    dev, f64 = theta.device, torch.float64
    gen = torch.Generator(dev).manual_seed(seed + 1)
    y, comp = sample_target((), n, gen, dev)
    eps = torch.randn(2, n // 2, generator=gen, device=dev, dtype=f64)
    lp_y = log_target(y)
    Y = torch.stack([torch.ones_like(y), y, y * y])                             # [3, n]
    E = torch.stack([torch.ones_like(eps), eps, eps * eps], 1)                  # [2, 3, h]
    counts = torch.bincount(comp, minlength=len(WEIGHTS)).tolist()
    _, m, s, kappa = _target(dev, f64)
    log_4pi, log2 = math.log(2) + _HALF_LOG_2PI, math.log(2)
    a_t, a_m, jsd = _weights(spec)
    R, G, _ = theta.shape
    value = torch.full((R, G), float("nan"), dtype=f64, device=dev)
    se = value.clone()
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)                                                # see ``train``
    try:
        for r in range(R):
            for g in range(G):
                th = theta[r, g].to(f64)
                if not bool(torch.isfinite(th).all()):
                    continue
                mu, ls = th[0::2], th[1::2]
                sig, iv = torch.exp(0.5 * ls), torch.exp(-ls)
                mean, var = 0.0, 0.0
                if a_t[g] > 0:                                                  # y ~ p*
                    coef = torch.stack([-0.5 * mu * mu * iv - 0.5 * ls, mu * iv, -0.5 * iv], 1)
                    lq = _lse(coef @ Y, 0) - log_4pi
                    f = log2 - _softplus(lq - lp_y) if jsd[g] else lp_y - lq
                    parts = [p for p in f.split(counts) if len(p) > 1]
                    mean += a_t[g] * f.mean()
                    var += a_t[g] ** 2 * sum(p.var() * len(p) for p in parts) / n ** 2
                if a_m[g] > 0:                                                  # x ~ p_θ
                    mo, so, lo = mu.flip(0), sig.flip(0), ls.flip(0)
                    al, be = (mu - mo) / so, sig / so                           # z_o = α + β ε
                    negd = torch.stack([0.5 * (ls - lo - al * al), -al * be,
                                        0.5 * (1 - be * be)], 1)
                    negd = (negd[:, None, :] @ E)[:, 0]                         # a_o - a_k [2, h]
                    lq = _softplus(negd) - 0.5 * E[:, 2] - 0.5 * ls[:, None] - log_4pi
                    u0, u1 = (mu[:, None] - m) / s, sig[:, None] / s            # (x - m_j)/s_j
                    b = torch.stack([kappa - 0.5 * u0 * u0, -u0 * u1, -0.5 * u1 * u1], 2) @ E
                    lp = _lse(b, 1)                                             # [2, h]
                    f = log2 - _softplus(lp - lq) if jsd[g] else lq - lp
                    mean += a_m[g] * f.mean()
                    var += a_m[g] ** 2 * (f.var(1) / f.shape[1]).sum() / 4
                value[r, g], se[r, g] = mean, math.sqrt(float(var))
    finally:
        torch.set_num_threads(threads)
    return value, se


def _np_log_target(x):
    """log p*(x) in numpy."""
    m, s, w = np.array(MEANS), np.array(STDS), np.array(WEIGHTS)
    z = (x[:, None] - m) / s
    return logsumexp(np.log(w / s) - _HALF_LOG_2PI - 0.5 * z * z, axis=1)


def log_model_np(x, theta):
    """log p_θ(x) in numpy for one θ = (μ1, log σ1², μ2, log σ2²)."""
    mu, ls = np.array(theta[0::2]), np.array(theta[1::2])
    z = (x[:, None] - mu) / np.exp(0.5 * ls)
    return logsumexp(-0.5 * z * z - 0.5 * ls, axis=1) - math.log(2) - _HALF_LOG_2PI


def exact(theta, name, lam=None):
    """The divergence ``name`` at θ (4,) by the trapezoid rule in log space on a grid that joins
    [-40, 40] at step 0.002 (100 points per σ of the narrowest target component) with 2,401
    points over μ_k ± 12 σ_k of each model component."""
    theta = np.asarray(theta, dtype=np.float64)
    if not np.isfinite(theta).all():
        return float("nan")
    sd = np.exp(0.5 * theta[1::2])
    local = [m + s * np.linspace(-12, 12, 2_401) for m, s in zip(theta[0::2], sd)]
    x = np.unique(np.concatenate([np.linspace(-40, 40, 40_001), *local]))
    lp, lq = _np_log_target(x), log_model_np(x, theta)
    lm = np.logaddexp(lp, lq) - math.log(2)
    integral = lambda f: float(np.trapezoid(f, x))  # noqa: E731
    fwd = integral(np.exp(lp) * (lp - lq))
    rev = integral(np.exp(lq) * (lq - lp))
    if name == "forward_kl":
        return fwd
    if name == "reverse_kl":
        return rev
    if name == "jsd":
        return 0.5 * integral(np.exp(lp) * (lp - lm)) + 0.5 * integral(np.exp(lq) * (lq - lm))
    return lam * fwd + (1 - lam) * rev


# ---------------------------------------------------------------------------------------------
# the command

def _check(runs, steps, batch, lr, lambdas, device):
    for name, value, low in (("runs", runs, 1), ("steps", steps, 1), ("batch", batch, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ToyError(f"--{name} {value!r}: expected an integer >= {low}")
    if batch % 2:
        raise ToyError(f"--batch {batch}: expected an even number (batch/2 model samples are "
                       "drawn from each of the two components)")
    if lr is not None and not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ToyError(f"--lr {lr!r}: expected a positive finite learning rate")
    bad = [lam for lam in lambdas if not (isinstance(lam, (int, float)) and 0 < lam < 1)]
    if bad or not lambdas:
        raise ToyError(f"lambdas {tuple(lambdas)!r}: expected one or more values strictly "
                       "between 0 and 1")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ToyError(f"--device {device!r}: expected a torch device such as 'cpu' or 'cuda' "
                       f"({error})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ToyError(f"--device {device!r}: CUDA is not available on this machine; use 'cpu'")
    return dev


def _row(name, lam, theta):
    mu, sd = theta[0::2], np.exp(0.5 * theta[1::2])
    order = np.argsort(mu) if np.isfinite(mu).all() else np.arange(2)
    return {"divergence": name, "lambda": lam, "mu1": mu[order[0]], "sigma1": sd[order[0]],
            "mu2": mu[order[1]], "sigma2": sd[order[1]]}


def fit(lambdas=(0.1, 0.3, 0.5, 0.7, 0.9), *, runs=50, steps=10_000, batch=1000, seed=0,
        lr=None, device="cpu", progress=True) -> dict:
    """Train every divergence (``groups(lambdas)``) and score every run by ``evaluate``.

    Returns ``spec``, ``theta`` [runs, G, 4], ``estimate`` and ``se`` [runs, G] (numpy),
    ``best`` (the run with the lowest finite estimate per divergence), ``lr`` and timings.
    """
    start = time.perf_counter()
    dev = _check(runs, steps, batch, lr, tuple(lambdas), device)
    lr = DEFAULT_LR if lr is None else float(lr)
    spec = groups(sorted({float(lam) for lam in lambdas}))
    theta = train(spec, runs=runs, steps=steps, batch=batch, seed=seed, lr=lr, device=dev,
                  progress=progress)
    train_s = time.perf_counter() - start
    value, se = evaluate(theta, spec, seed=seed)
    theta, value, se = theta.cpu().numpy(), value.cpu().numpy(), se.cpu().numpy()
    best = [int(np.argmin(np.where(np.isfinite(v), v, np.inf))) for v in value.T]
    return {"spec": spec, "theta": theta, "estimate": value, "se": se, "best": best, "lr": lr,
            "device": dev, "train_seconds": train_s,
            "eval_seconds": time.perf_counter() - start - train_s}


def run(out, *, runs=50, steps=10_000, batch=1000, seed=0, lr=None, device="cpu",
        lambdas=(0.1, 0.3, 0.5, 0.7, 0.9)):
    """Figure 1: fit the model to the target under every divergence; write ``optima.csv``,
    ``runs.csv``, ``toy.json``, ``figure1.png`` and ``figure1.pdf`` into ``out``.

    Plain SGD with learning rate ``lr`` (default ``DEFAULT_LR``), no momentum or clipping.
    λ = 0.5 is always included (the paper's panel).  Returns the optima table.
    """
    import pandas as pd

    from ijae import toy_plot

    start = time.perf_counter()
    _check(runs, steps, batch, lr, tuple(lambdas), device)
    lambdas = sorted({float(lam) for lam in lambdas} | {0.5})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = fit(lambdas, runs=runs, steps=steps, batch=batch, seed=seed, lr=lr, device=device)
    spec, theta, value, se = res["spec"], res["theta"], res["estimate"], res["se"]

    rows, optima = [], []
    for g, (name, lam) in enumerate(spec):
        best = res["best"][g]
        for r in range(runs):
            rows.append({**_row(name, lam, theta[r, g]), "run": r, "estimate": value[r, g],
                         "estimate_se": se[r, g], "best": r == best})
        optima.append({**_row(name, lam, theta[best, g]), "estimate": value[best, g],
                       "exact": exact(theta[best, g], name, lam), "estimate_se": se[best, g],
                       "run": best, "theta": theta[best, g]})
    order = {"forward_kl": 0, "reverse_kl": 1, "jsd": 2, "jeffreys": 3}
    optima.sort(key=lambda o: (order[o["divergence"]], o["lambda"] or 0))
    table = pd.DataFrame([{k: v for k, v in o.items() if k != "theta"} for o in optima])
    runs_table = pd.DataFrame(rows)

    fig = toy_plot.figure1({(o["divergence"], o["lambda"]): o["theta"] for o in optima})
    for ext in ("png", "pdf"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=150, bbox_inches="tight")
        atomic_write_bytes(out / f"figure1.{ext}", buffer.getvalue())
    toy_plot.close(fig)
    atomic_write_text(out / "optima.csv", table.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(out / "runs.csv", runs_table.to_csv(index=False, float_format="%.6g"))
    settings = {
        "runs": runs, "steps": steps, "batch": batch, "seed": seed, "lr": res["lr"],
        "optimizer": "plain SGD (no momentum, no gradient clipping)",
        "lambdas": lambdas, "eval_samples": EVAL_SAMPLES,
        "init": {"mu": f"uniform{INIT_MEAN}", "sigma": f"uniform{INIT_STD}",
                 "parameter": "theta = (mu1, log var1, mu2, log var2)",
                 "shared": "run r of every divergence starts from the same theta"},
        "sampling": "batch/2 model samples per component; target samples allocated to "
                    "components systematically; common random numbers across divergences",
        "diverged_runs": int((~np.isfinite(value)).sum()),
        "train_seconds": round(res["train_seconds"], 2),
        "eval_seconds": round(res["eval_seconds"], 2),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "torch": torch.__version__, "device": str(res["device"]),
        "cpu_threads": ("1 intra-op thread; the target-sample half of each gradient in a "
                        "second Python thread" if res["device"].type == "cpu" else None),
        "dtype": "float32 (training), float64 (evaluation)",
    }
    atomic_write_text(out / "toy.json", json.dumps(settings, indent=2) + "\n")
    return table
