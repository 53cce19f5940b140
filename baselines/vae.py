"""VAE (resnet): a plain Gaussian VAE on lambda-IJAE's ResNet encoder and generator.

Kingma & Welling, "Auto-Encoding Variational Bayes" (ICLR 2014): maximise the ELBO
    E_{q(z|x)} log p(x|z) - KL(q(z|x) || N(0, I))
with q(z|x) = N(mu(x), diag exp(logvar(x))) and p(x|z) = N(G(z), sigma^2 I), sigma fixed
(``sigma``), both log-densities summed over coordinates and averaged over the batch.

Networks: lambda-IJAE's (ijae/nets.py, Appendix D) at the profile's width and size: the encoder
of Table 3 without its Inject Noise layers, whose last Linear gives 2 x latent outputs (mu and
log-variance), and the generator G of Table 4 (tanh output: the mean of p(x|z) in [-1, 1]).
Written here from the paper (kind "port (from paper)"): no code of another project is used.
This module is also the worked example of baselines/README.md (how to add an adapter).

Choices that are ours (the paper fixes neither for CIFAR-10): sigma = 0.1 (on [-1, 1] pixels; see
``VAEConfig``), the optimiser and budget of the harness's lambda-IJAE (Table 2: Adam 1e-4,
betas 0.5 / 0.9; batch 64), reconstructions from a draw z ~ q(z|x) (``reconstruct_with``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.distributions as D

from ijae.adapter import Adapter
from ijae.config import require
from ijae.nets import Encoder, Generator

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


# 1. The config section: a dataclass with a ``name`` and ``validate(key)`` (ijae/config.py).
@dataclass
class VAEConfig:
    name: str = "vae"
    latent_dim: int = 128             # as lambda-IJAE's paper profile (Appendix D)
    width: int = 128                  # channels of every residual block (Appendix D)
    sigma: float = 0.1                # std of p(x|z) on [-1, 1] pixels (ours; see the module doc)
    reconstruct_with: str = "sample"  # sample: G(z), z ~ q(z|x) | mean: G(mu(x))

    def validate(self, key: str) -> None:
        for name in ("latent_dim", "width"):
            require(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "a positive integer")
        require(self.sigma > 0, f"{key}.sigma", self.sigma, "> 0")
        require(self.reconstruct_with in ("sample", "mean"), f"{key}.reconstruct_with",
               self.reconstruct_with, "sample or mean")


# 2. The networks: reuse ijae/nets.py where an architecture matches.
class GaussianEncoder(Encoder):
    """lambda-IJAE's encoder (Table 3) without Inject Noise, as an explicit Gaussian q(z|x):
    forward(x) -> (mu, logvar), each [B, latent_dim]."""

    def __init__(self, latent_dim: int, width: int, image_size: int):
        super().__init__(2 * latent_dim, width, image_size, noise_dim=1)
        self.noise1 = self.noise2 = self.noise3 = nn.Identity()

    def forward(self, x: torch.Tensor):
        mu, logvar = super().forward(x).chunk(2, dim=1)
        return mu, logvar


def gaussian_log_density(x: torch.Tensor, mean: torch.Tensor, log_std) -> torch.Tensor:
    """log N(x | mean, exp(log_std)^2), summed over every coordinate but the first: [B]."""
    log_std = torch.as_tensor(log_std, dtype=x.dtype, device=x.device)
    lp = -0.5 * ((x - mean) * torch.exp(-log_std)).square() - log_std - HALF_LOG_TWO_PI
    return lp.flatten(1).sum(1)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dimensions: [B]."""
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(1)


# 3. The trainable model: make_optimizers, train_step, loss_names, sample, reconstruct.
class VAE(nn.Module):
    loss_names = ["loss", "recon_nll", "kl", "recon_mse"]

    def __init__(self, cfg: VAEConfig, image_size: int):
        super().__init__()
        self.cfg = cfg
        self.nets = nn.ModuleDict({"E": GaussianEncoder(cfg.latent_dim, cfg.width, image_size),
                                   "G": Generator(cfg.latent_dim, cfg.width, image_size)})

    def posterior(self, x: torch.Tensor) -> D.Normal:
        mu, logvar = self.nets["E"](x)
        return D.Normal(mu, (0.5 * logvar).exp())

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Negative ELBO of batch x (per-sample sums, batch mean) and its two terms."""
        mu, logvar = self.nets["E"](x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)       # reparameterised z ~ q(z|x)
        x_mean = self.nets["G"](z)
        nll = -gaussian_log_density(x, x_mean, math.log(self.cfg.sigma)).mean()
        kl = kl_to_standard_normal(mu, logvar).mean()
        return {"loss": nll + kl, "recon_nll": nll, "kl": kl,
                "recon_mse": (x_mean.detach() - x).square().mean()}

    def make_optimizers(self, t) -> dict[str, torch.optim.Optimizer]:
        """One Adam per network, the train section's rates (lr_e for E, lr_g for G)."""
        lr = {"E": t.lr_e, "G": t.lr_g}
        return {n: torch.optim.Adam(self.nets[n].parameters(), lr=lr[n], betas=tuple(t.betas),
                                    weight_decay=t.weight_decay) for n in ("E", "G")}

    def train_step(self, next_batch, optimizers, autocast, d_steps: int = 1) -> dict[str, torch.Tensor]:
        """One update of E and G on a fresh batch (no discriminator: d_steps is unused)."""
        with autocast():
            losses = self.losses(next_batch())
        for opt in optimizers.values():
            opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        for opt in optimizers.values():
            opt.step()
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def sample(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return self.nets["G"](torch.randn(n, self.cfg.latent_dim, device=like.device))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        q = self.posterior(x)
        return self.nets["G"](q.mean if self.cfg.reconstruct_with == "mean" else q.sample())


# 4. The adapter: names, provenance, build (presets: config/presets/<profile>/vae.yaml; registered
#    by its entry point in pyproject.toml).
class VAEAdapter(Adapter):
    name = "vae"
    label = "VAE (resnet)"
    kind = "port (from paper)"
    config_class = VAEConfig
    architecture = ("lambda-IJAE's ResNet E (Table 3, no Inject Noise; mu and log-variance) and G "
                    "(Table 4) as a Gaussian VAE; default profile: width 32, latent 32 at 16x16")

    def build(self, cfg, image_size: int):
        return VAE(cfg.model, image_size)
