"""Figure 1's divergences by quadrature (numpy, float64): the check on the chosen optima."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from ijae.toy.target import HALF_LOG_2PI, MEANS, STDS, WEIGHTS


def log_target_np(x):
    """log p*(x) in numpy."""
    m, s, w = np.array(MEANS), np.array(STDS), np.array(WEIGHTS)
    z = (x[:, None] - m) / s
    return logsumexp(np.log(w / s) - HALF_LOG_2PI - 0.5 * z * z, axis=1)


def log_model_np(x, theta):
    """log p_θ(x) in numpy for one θ = (μ1, log σ1², μ2, log σ2²)."""
    mu, ls = np.array(theta[0::2]), np.array(theta[1::2])
    z = (x[:, None] - mu) / np.exp(0.5 * ls)
    return logsumexp(-0.5 * z * z - 0.5 * ls, axis=1) - math.log(2) - HALF_LOG_2PI


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
    lp, lq = log_target_np(x), log_model_np(x, theta)
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
