import numpy as np
import pytest
import torch
from scipy import stats

from ijae import likelihoods
from ijae.likelihoods import DIRECTIONS


def test_shift_size_probabilities_follow_notes():
    # docs/paper-notes.md section 3: P(s) ∝ 1/(s + 1), s = 0..S, normalised over the S + 1 weights used
    p = likelihoods.shift_size_probabilities(5)
    expected = np.array([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6])
    np.testing.assert_allclose(p.numpy(), expected / expected.sum(), rtol=1e-12)


def test_sampler_frequencies_match_by_chi_square():
    max_shift, n = 5, 120_000
    gen = torch.Generator().manual_seed(0)
    directions, sizes = likelihoods.sample_shifts(n, max_shift, generator=gen)
    observed = torch.bincount(directions * (max_shift + 1) + sizes, minlength=4 * (max_shift + 1))
    p_size = likelihoods.shift_size_probabilities(max_shift).numpy()
    expected = n * np.repeat(np.full(4, 0.25), max_shift + 1) * np.tile(p_size, 4)
    _, p_value = stats.chisquare(observed.numpy(), expected)
    assert p_value > 1e-3
    # the test has power: uniform sizes are rejected outright
    _, p_uniform = stats.chisquare(observed.numpy(), np.full(expected.shape, n / expected.size))
    assert p_uniform < 1e-12


def test_every_shift_is_an_exact_cyclic_roll():
    torch.manual_seed(1)
    x = torch.randn(40, 3, 7, 9)
    directions = torch.arange(40) % 4
    sizes = torch.arange(40) % 6
    y = likelihoods.apply_shifts(x, directions, sizes)
    for i in range(40):
        d, s = DIRECTIONS[directions[i]], int(sizes[i])
        shift, dim = {"up": (-s, 1), "down": (s, 1), "left": (-s, 2), "right": (s, 2)}[d]
        assert torch.equal(y[i], torch.roll(x[i], shift, dim)), (d, s)


def test_padded_shift_never_wraps_content():
    torch.manual_seed(3)
    x = torch.rand(40, 3, 7, 9)                               # every pixel "ink" (> 0)
    directions, sizes = torch.arange(40) % 4, torch.arange(40) % 6
    rolled = likelihoods.apply_shifts(x, directions, sizes)
    padded = likelihoods.apply_shifts(x, directions, sizes, fill=-1.0)
    for i in range(40):
        d, s = DIRECTIONS[directions[i]], int(sizes[i])
        expected = torch.full_like(x[i], -1.0)                # what enters from outside is background
        if d == "down":
            expected[:, s:] = x[i][:, :7 - s]
        elif d == "up":
            expected[:, :7 - s] = x[i][:, s:]
        elif d == "right":
            expected[:, :, s:] = x[i][:, :, :9 - s]
        else:
            expected[:, :, :9 - s] = x[i][:, :, s:]
        assert torch.equal(padded[i], expected), (d, s)
        assert (padded[i] == -1).sum() == 3 * s * (7 if d in ("left", "right") else 9)
        assert torch.equal(padded[i][padded[i] != -1], rolled[i][padded[i] != -1])


def test_make_r_pads_only_when_asked():
    from ijae.config import IJAEConfig

    x = torch.rand(64, 3, 8, 8)
    torch.manual_seed(0)
    y_pad = likelihoods.make_r(IJAEConfig(shift_max=2, shift_fill="pad"), 8)(x)
    torch.manual_seed(0)
    y_roll = likelihoods.make_r(IJAEConfig(shift_max=2), 8)(x)
    moved = (y_roll != x).flatten(1).any(1)
    assert moved.any() and (y_pad[moved] == -1).flatten(1).any(1).all() and (y_roll >= 0).all()


def test_random_shift_output_is_one_of_the_rolls():
    torch.manual_seed(2)
    x = torch.randn(16, 3, 8, 8)
    y = likelihoods.random_shift(x, 3)
    for i in range(16):
        candidates = [torch.roll(x[i], k, d) for k in range(-3, 4) for d in (1, 2)]
        assert any(torch.equal(y[i], c) for c in candidates)


def test_rotation_sampler_keeps_shape_and_zero_angle_is_identity():
    torch.manual_seed(3)
    x = torch.rand(64, 3, 16, 16)
    y = likelihoods.random_rotation(x, max_degrees=10.0, steps=5)
    assert y.shape == x.shape
    identical = [torch.allclose(y[i], x[i], atol=1e-5) for i in range(64)]
    # P(k = 0) = 1 / sum_{k=-5..5} 1/(|k|+1) ≈ 0.2: some, not all, samples are unrotated
    assert 0 < sum(identical) < 64


def test_r_prime_is_a_tiny_gaussian_perturbation():
    torch.manual_seed(4)
    y = torch.rand(1000, 3, 4, 4, dtype=torch.float64)
    noise = likelihoods.r_prime(y, 1e-8) - y
    assert 0.5e-8 < noise.std().item() < 1.5e-8


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_explicit_log_likelihoods_match_torch_distributions(reduction):
    torch.manual_seed(5)
    x, mean = torch.randn(4, 3, 5, 5, dtype=torch.float64), torch.randn(4, 3, 5, 5, dtype=torch.float64)
    reduce = (lambda v: v.flatten(1).sum(1)) if reduction == "sum" else (lambda v: v.flatten(1).mean(1))
    laplace = torch.distributions.Laplace(mean, 0.3).log_prob(x)
    normal = torch.distributions.Normal(mean, 0.7).log_prob(x)
    torch.testing.assert_close(likelihoods.laplace_log_likelihood(x, mean, 0.3, reduction), reduce(laplace))
    torch.testing.assert_close(likelihoods.gaussian_log_likelihood(x, mean, 0.7, reduction), reduce(normal))
