"""The batched optimiser of Figure 1: plain SGD on every (run, divergence) at once.

All runs of all divergences form one (runs × divergences) batch.  What keeps 50 runs × 8
divergences × 10,000 steps well under a minute on a 2-core CPU:

* Stratified sampling: exactly batch/2 model samples per component (unbiased for the
  equal-weight mixture) and target samples allocated to components systematically (one shared
  uniform offset per step; at batch 1000 exactly 150/350/300/200 per component).
* Common random numbers: run r of every divergence starts from the same initial θ and sees the
  same ε stream; runs are independent of one another.
* Closed-form gradients: every per-sample gradient is a polynomial of degree <= 2 in the sample
  (y, or ε for the model) times a responsibility, so the sums over a batch are small batched
  matrix products.  They equal autograd's gradient of ``target.mc_estimate`` (tests/test_toy.py)
  up to ∂x log p*, which is read from a fine table (error < 0.03 at worst, 4e-4 on average).
* float32, in-place buffers, one intra-op thread, and the target-sample half of each gradient
  in a second Python thread (``train``).
"""
from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from tqdm import tqdm

from ijae.toy.target import (CLAMP, HALF_LOG_2PI, divergence_weights, sample_target, softplus,
                             target_params)

INIT_MEAN = (-10.0, 10.0)  # initial locations: uniform over the data range
INIT_STD = (0.5, 3.0)      # initial standard deviations: uniform
_DRAW_CHUNK = 25           # training draws are made for this many steps at a time


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
    _, m, s, k = target_params(x.device, torch.float64)
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
        a_t, a_m, _ = divergence_weights(spec)
        self.a_t = torch.tensor(a_t[:-1], device=device, dtype=dtype)[:, None] / -batch
        self.a_m = torch.tensor(a_m[1:], device=device, dtype=dtype)[:, None] / batch
        self.tables = _tables(torch.device(device), dtype)
        _, _, lo, per, _ = self.tables
        log_4pi = math.log(2) + HALF_LOG_2PI
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
        logit = softplus(-dq[:, GT - 1]).add_(dq[:, GT]).sub_(logit)
        dsc = logit.clamp_(-CLAMP, CLAMP).sigmoid_()                          # w = D(y)
        g1 = dq[:, :GT].clamp_(-CLAMP, CLAMP).sigmoid_()                      # γ1
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
        log_4pi = math.log(2) + HALF_LOG_2PI
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
        logit -= nkt[:, GM] + softplus(negd[:, -2])
        cw = logit.clamp_(-CLAMP, CLAMP).sigmoid_()                           # c = 1 - D(x)
        g = negd.clamp_(-CLAMP, CLAMP).sigmoid_()                             # g
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
# training

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
