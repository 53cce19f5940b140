"""Reconstruction likelihoods: the implicit r(y|x), r'(y|x), and the explicit L1 / L2 terms.

r(y|x) (Section 5, docs/paper-notes.md section 3): pick one of four directions uniformly, a shift size
s in {0, ..., S} with P(s) ∝ 1/(s + 1) (normalised over the S + 1 weights used), and cyclically
roll the image s pixels that way (``shift_fill: pad`` shifts in background instead of wrapping,
a departure for small images whose digits fill the frame, docs/ablations/recon.md).
Small rotations are the option the paper found worse.
r'(y|x) = N(y | x, sigma' I) with sigma' = 1e-8: nearly a delta at x.
The explicit Laplace / Gaussian log-likelihoods replace the implicit term in the lambda-IJAE-L1 / -L2
ablations (Figure 2).

Images are float NCHW tensors; every sampler draws from torch's global RNG (or ``generator``).
"""
from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

DIRECTIONS = ("up", "down", "left", "right")


def shift_size_probabilities(max_shift: int) -> torch.Tensor:
    """P(s) for s = 0..S, proportional to 1 / (s + 1)."""
    weights = 1.0 / torch.arange(1, max_shift + 2, dtype=torch.float64)
    return weights / weights.sum()


@functools.lru_cache(maxsize=None)
def _shift_size_probabilities_on(max_shift: int, device: torch.device) -> torch.Tensor:
    """Made once per device: a host-to-device copy every step would stall the GPU stream (and
    cannot be captured in a CUDA graph)."""
    return shift_size_probabilities(max_shift).to(device=device, dtype=torch.float32)


def sample_shifts(n: int, max_shift: int, device=None, generator: torch.Generator | None = None):
    """Directions (indices into DIRECTIONS) and sizes, each a long tensor [n]."""
    directions = torch.randint(0, 4, (n,), generator=generator, device=device)
    probs = _shift_size_probabilities_on(max_shift, torch.device(device or "cpu"))
    sizes = torch.multinomial(probs, n, replacement=True, generator=generator)
    return directions, sizes


def apply_shifts(x: torch.Tensor, directions: torch.Tensor, sizes: torch.Tensor,
                 fill: float | None = None) -> torch.Tensor:
    """Per-sample cyclic roll: the same as torch.roll(x[i], shift, dim) for every sample i.

    up = roll by -s along H, down = +s along H, left = -s along W, right = +s along W.
    ``fill``: the pixels that would wrap around are set to this value instead (a shift that
    never wraps content; -1 is the background of the digits).
    """
    b, c, h, w = x.shape
    sign = torch.where((directions == 0) | (directions == 2), -1, 1) * sizes
    dy = torch.where(directions < 2, sign, torch.zeros_like(sign))
    dx = torch.where(directions >= 2, sign, torch.zeros_like(sign))
    rows = (torch.arange(h, device=x.device)[None, :] - dy[:, None]) % h   # y[i] = x[i - dy]
    cols = (torch.arange(w, device=x.device)[None, :] - dx[:, None]) % w
    y = x.gather(2, rows[:, None, :, None].expand(b, c, h, w))
    y = y.gather(3, cols[:, None, None, :].expand(b, c, h, w))
    if fill is None:
        return y
    src_rows = torch.arange(h, device=x.device)[None, :] - dy[:, None]
    src_cols = torch.arange(w, device=x.device)[None, :] - dx[:, None]
    inside = ((src_rows >= 0) & (src_rows < h))[:, None, :, None] & \
        ((src_cols >= 0) & (src_cols < w))[:, None, None, :]
    return torch.where(inside, y, torch.full_like(y, fill))


def random_shift(x: torch.Tensor, max_shift: int, fill: float | None = None) -> torch.Tensor:
    """A sample y ~ r(y|x) of the shift likelihood (cyclic, or padded with ``fill``)."""
    directions, sizes = sample_shifts(x.shape[0], max_shift, device=x.device)
    return apply_shifts(x, directions, sizes, fill)


def random_rotation(x: torch.Tensor, max_degrees: float, steps: int) -> torch.Tensor:
    """y ~ r(y|x) over small rotations: angle k * max / steps, k in -steps..steps, P ∝ 1/(|k| + 1).

    Symmetric in k with its mode at 0 (a symmetric likelihood, Definition 1); reflection padding.
    """
    k = torch.arange(-steps, steps + 1, device=x.device)
    probs = 1.0 / (k.abs().float() + 1.0)
    chosen = k[torch.multinomial(probs / probs.sum(), x.shape[0], replacement=True)]
    angle = chosen.float() * (max_degrees / steps) * math.pi / 180.0
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def r_prime(y: torch.Tensor, sigma: float) -> torch.Tensor:
    """A sample of r'(.|y) = N(y, sigma^2 I)."""
    return y + sigma * torch.randn_like(y)


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    values = values.flatten(1)
    return values.sum(1) if reduction == "sum" else values.mean(1)


def laplace_log_likelihood(x: torch.Tensor, mean: torch.Tensor, scale: float,
                           reduction: str = "sum") -> torch.Tensor:
    """log Laplace(x | mean, b) per sample [B]: -|x - mean| / b - log 2b, summed (or averaged) over pixels."""
    return _reduce(-(x - mean).abs() / scale - math.log(2.0 * scale), reduction)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, sigma: float,
                            reduction: str = "sum") -> torch.Tensor:
    """log N(x | mean, sigma^2) per sample [B], summed (or averaged) over pixels."""
    const = math.log(sigma) + 0.5 * math.log(2.0 * math.pi)
    return _reduce(-0.5 * ((x - mean) / sigma) ** 2 - const, reduction)


def make_r(model, image_size: int):
    """The sampler y ~ r(y|x) an IJAEConfig ``model`` asks for."""
    if model.likelihood == "rotation":
        return lambda x: random_rotation(x, model.rotation_max_deg, model.rotation_steps)
    from ijae.config import resolved_shift_max

    max_shift = resolved_shift_max(model, image_size)
    fill = -1.0 if model.shift_fill == "pad" else None
    return lambda x: random_shift(x, max_shift, fill)


def explicit_log_likelihood(model):
    """log p(x | G(z)) of the l1 / l2 ablations as a function (x, mean) -> [B]."""
    fn = laplace_log_likelihood if model.variant == "l1" else gaussian_log_likelihood
    return lambda x, mean: fn(x, mean, model.recon_scale, model.recon_reduction)
