"""Figure 1's target, model and divergences, and their Monte Carlo estimates.

Target  p*(x) = 0.15 N(-8, 0.2²) + 0.35 N(-3, 0.8²) + 0.3 N(3, 1) + 0.2 N(8, 0.2²)
Model   p_θ(x) = ½ N(θ1, exp θ2) + ½ N(θ3, exp θ4)     (exp θ is the variance: θ2, θ4 = log σ²)

A divergence is a weighted sum of a target-sample term (weight a_T) and a model-sample term
(weight a_M): forward KL (1, 0), reverse KL (0, 1), JSD (½, ½) and λ-Jeffreys (λ, 1 - λ).
``mc_estimate`` is the estimate itself (with autograd: the reference for the closed-form
gradient in ``sgd.py``); ``evaluate`` is the same arithmetic at 100,000 samples in float64.
"""
from __future__ import annotations

import functools
import math

import torch

WEIGHTS = (0.15, 0.35, 0.30, 0.20)
MEANS = (-8.0, -3.0, 3.0, 8.0)
STDS = (0.2, 0.8, 1.0, 0.2)
EVAL_SAMPLES = 100_000
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ---------------------------------------------------------------------------------------------
# divergences as groups: a_T weighs the target-sample term, a_M the model-sample term

def groups(lambdas) -> list[tuple[str, float | None]]:
    """Training order: forward first, reverse last, so the target-sample groups are [:-1]
    and the model-sample groups are [1:] (contiguous slices, no copies)."""
    return ([("forward_kl", None)] + [("jeffreys", float(lam)) for lam in lambdas]
            + [("jsd", None), ("reverse_kl", None)])


def divergence_weights(spec) -> tuple[list[float], list[float], list[bool]]:
    a_t, a_m, jsd = [], [], []
    for name, lam in spec:
        a, b = {"forward_kl": (1.0, 0.0), "reverse_kl": (0.0, 1.0), "jsd": (0.5, 0.5)}.get(
            name, (lam, 1.0 - (lam or 0.0)))
        a_t.append(a), a_m.append(b), jsd.append(name == "jsd")
    return a_t, a_m, jsd


@functools.lru_cache(maxsize=None)
def target_params(device, dtype):
    """Weights, means, stds and log(w / (s √2π)) of the target components as tensors."""
    t = lambda v: torch.tensor(v, device=device, dtype=dtype)  # noqa: E731
    w, m, s = t(WEIGHTS), t(MEANS), t(STDS)
    return w, m, s, torch.log(w) - torch.log(s) - HALF_LOG_2PI


# torch's vectorised exp takes a slow path (10-40x) when it under- or overflows, so arguments of
# exp / sigmoid are clamped to ±80 (e^-80 is negligible beside the terms that matter).
CLAMP = 80.0


def lse(b: torch.Tensor, dim: int) -> torch.Tensor:
    mx = b.amax(dim, keepdim=True).detach()
    return (b - mx).clamp(min=-CLAMP).exp().sum(dim).log() + mx.squeeze(dim)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + e^x), stable; log1p and F.softplus are ~10x slower than log on the CPU."""
    return torch.log(torch.exp(-x.abs().clamp(max=CLAMP)) + 1) + x.clamp(min=0)


def log_target(x: torch.Tensor) -> torch.Tensor:
    _, m, s, k = target_params(x.device, x.dtype)
    z = (x[..., None] - m) / s
    return lse(k - 0.5 * z * z, -1)


def sample_target(shape, n: int, gen, device="cpu", dtype=torch.float64, steps=None):
    """``n`` samples per row of ``shape``, allocated to the components systematically (one
    uniform offset, shared by the rows): unbiased, and at n = 1000 exactly 150/350/300/200.
    Returns the samples [*shape, n] and their components [n]; with ``steps``, that many
    independent draws [steps, *shape, n] with components [steps, 1.., n]."""
    w, m, s, _ = target_params(torch.device(device), dtype)
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
    a_t, a_m, jsd = divergence_weights(spec)
    a_t, a_m = (torch.tensor(v, dtype=theta.dtype, device=theta.device) for v in (a_t, a_m))
    jsd = torch.tensor(jsd, device=theta.device)
    mu, sig = theta[..., 0::2], torch.exp(0.5 * theta[..., 1::2])            # [R, G, 2]

    def log_model(x):                                                          # x [R, G, n]
        z = (x[..., None] - mu[:, :, None, :]) / sig[:, :, None, :]
        return lse(-0.5 * z * z - torch.log(sig[:, :, None, :]), -1) - math.log(2) - HALF_LOG_2PI

    yb = y[:, None, :].expand(theta.shape[0], theta.shape[1], -1)
    lq, lp = log_model(yb), log_target(y)[:, None, :]
    lm = lp + softplus(lq - lp) - math.log(2)
    f_t = torch.where(jsd[:, None], lp - lm, lp - lq)                          # [R, G, n]
    x = mu[..., None] + sig[..., None] * eps[:, None]                          # [R, G, 2, h]
    x = x.flatten(-2)
    lq, lp = log_model(x), log_target(x)
    lm = lp + softplus(lq - lp) - math.log(2)
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
# scoring the fitted runs: the same estimate, 100,000 samples, float64

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
    _, m, s, kappa = target_params(dev, f64)
    log_4pi, log2 = math.log(2) + HALF_LOG_2PI, math.log(2)
    a_t, a_m, jsd = divergence_weights(spec)
    R, G, _ = theta.shape
    value = torch.full((R, G), float("nan"), dtype=f64, device=dev)
    se = value.clone()
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)                                                # see ``sgd.train``
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
                    lq = lse(coef @ Y, 0) - log_4pi
                    f = log2 - softplus(lq - lp_y) if jsd[g] else lp_y - lq
                    parts = [p for p in f.split(counts) if len(p) > 1]
                    mean += a_t[g] * f.mean()
                    var += a_t[g] ** 2 * sum(p.var() * len(p) for p in parts) / n ** 2
                if a_m[g] > 0:                                                  # x ~ p_θ
                    mo, so, lo = mu.flip(0), sig.flip(0), ls.flip(0)
                    al, be = (mu - mo) / so, sig / so                           # z_o = α + β ε
                    negd = torch.stack([0.5 * (ls - lo - al * al), -al * be,
                                        0.5 * (1 - be * be)], 1)
                    negd = (negd[:, None, :] @ E)[:, 0]                         # a_o - a_k [2, h]
                    lq = softplus(negd) - 0.5 * E[:, 2] - 0.5 * ls[:, None] - log_4pi
                    u0, u1 = (mu[:, None] - m) / s, sig[:, None] / s            # (x - m_j)/s_j
                    b = torch.stack([kappa - 0.5 * u0 * u0, -u0 * u1, -0.5 * u1 * u1], 2) @ E
                    lp = lse(b, 1)                                             # [2, h]
                    f = log2 - softplus(lp - lq) if jsd[g] else lq - lp
                    mean += a_m[g] * f.mean()
                    var += a_m[g] ** 2 * (f.var(1) / f.shape[1]).sum() / 4
                value[r, g], se[r, g] = mean, math.sqrt(float(var))
    finally:
        torch.set_num_threads(threads)
    return value, se
