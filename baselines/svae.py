"""SVAE: the symmetric VAE of Chen et al., "Symmetric Variational Autoencoder and Connections to
Adversarial Learning" (AISTATS 2018, arXiv:1709.01846), ported from the paper (no public code).

What the paper gives (abstract and set-up, arXiv:1709.01846 v1-v3; with the companion paper of the
same group, Pu et al., "Adversarial Symmetric Variational Autoencoder", NIPS 2017,
arXiv:1711.04915): the two joints
    q(x, z) = p*(x) q_phi(z|x)        (data through the encoder)
    p(x, z) = p(z) p_theta(x|z)       (prior through the decoder)
are matched in the symmetric KL divergence KL(q || p) + KL(p || q) = E_q[f] - E_p[f], with the
log-ratio f(x, z) = log q(x, z) / p(x, z) unknown (p*(x) has no density) and therefore estimated by a
discriminator trained by logistic regression between samples of the two joints, whose optimal logit
is f. The symmetric VAE with its data-fit ("reconstruction") terms, sVAE-r, adds
    E_{q(x, z)} log p_theta(x|z) + E_{p(x, z)} log q_phi(z|x)
with the explicit Gaussian densities of the decoder and the encoder: the first reconstructs x
through z ~ q(z|x), the second z through x ~ p(x|z), and both are tractable.

This port, per step (``d_steps`` discriminator updates, then one encoder / decoder update):
    D:    min_psi  E_q softplus(-f_psi(x, z)) + E_p softplus(f_psi(x, z))   (q labelled 1)
    E, G: min      E_q f_psi(x, z) - E_p f_psi(x, z)
                   - lam * (E_q log N(x | G(z), sigma^2 I) + E_p log N(z | mu(x), diag var(x)))
with q-samples (x ~ data, z = mu(x) + sd(x) eps) and p-samples (z ~ N(0, I), x = G(z)), all
reparameterised so the gradients of both expectations reach E and G.

Inferred (not recoverable from the material we could read, so chosen here and labelled so):
  * one joint log-ratio discriminator f(x, z) for both KL directions (the paper's "log-ratio"
    estimator; its exact network is not known to us); lam = 1 (the weight of the data-fit terms);
  * p(x|z) = N(G(z), sigma^2 I) with sigma fixed (``sigma``), its samples taken at the mean G(z)
    (adding pixel noise would let the discriminator tell them apart trivially);
  * q(z|x) = N(mu(x), diag exp(logvar(x))) (a Gaussian encoder, as in a VAE);
  * networks: lambda-IJAE's ResNets at the profile's size (the brief of this harness): E of
    Table 3 without Inject Noise giving mu and log-variance, G of Table 4, and for f(x, z)
    lambda-IJAE's joint (x, z) discriminator D_zeta (Table 7), which mixes x and z features in
    an MLP; optimiser and budget: the harness's Table 2 (Adam 1e-4, betas 0.5 / 0.9, batch 64).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ijae.adapter import Adapter
from baselines.vae import GaussianEncoder, gaussian_log_density
from ijae.config import require
from ijae.nets import Generator, LatentDiscriminator


@dataclass
class SVAEConfig:
    name: str = "svae"
    latent_dim: int = 128             # Appendix D sizes (lambda-IJAE's networks)
    width: int = 128
    lam: float = 1.0                  # weight of the data-fit terms (sVAE-r); inferred, see above
    sigma: float = 1.0                # std of p(x|z) on [-1, 1] pixels; inferred
    reconstruct_with: str = "sample"  # sample: G(z), z ~ q(z|x) | mean: G(mu(x))

    def validate(self, key: str) -> None:
        for name in ("latent_dim", "width"):
            require(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "a positive integer")
        require(self.lam >= 0, f"{key}.lam", self.lam, ">= 0")
        require(self.sigma > 0, f"{key}.sigma", self.sigma, "> 0")
        require(self.reconstruct_with in ("sample", "mean"), f"{key}.reconstruct_with",
               self.reconstruct_with, "sample or mean")


def discriminator_loss(f_q: torch.Tensor, f_p: torch.Tensor) -> torch.Tensor:
    """Logistic regression, q-samples labelled 1: at its optimum f = log q(x, z) / p(x, z)."""
    return F.softplus(-f_q).mean() + F.softplus(f_p).mean()


def symmetric_kl_estimate(f_q: torch.Tensor, f_p: torch.Tensor) -> torch.Tensor:
    """KL(q || p) + KL(p || q) = E_q[f] - E_p[f] for f = log q / p."""
    return f_q.mean() - f_p.mean()


class SVAE(nn.Module):
    loss_names = ["d_loss", "loss", "sym_kl", "log_px", "log_qz", "recon_mse"]

    def __init__(self, cfg: SVAEConfig, image_size: int):
        super().__init__()
        self.cfg = cfg
        self.nets = nn.ModuleDict({
            "E": GaussianEncoder(cfg.latent_dim, cfg.width, image_size),
            "G": Generator(cfg.latent_dim, cfg.width, image_size),
            "D": LatentDiscriminator(cfg.latent_dim, cfg.width, image_size),
        })

    def prior(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(n, self.cfg.latent_dim, device=like.device, dtype=like.dtype)

    def encode(self, x: torch.Tensor):
        """(z ~ q(z|x) reparameterised, mu, logvar)."""
        mu, logvar = self.nets["E"](x)
        return mu + (0.5 * logvar).exp() * torch.randn_like(mu), mu, logvar

    def discriminator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            z_q = self.encode(x)[0]
            z_p = self.prior(x.shape[0], x)
            x_p = self.nets["G"](z_p)
        D = self.nets["D"]
        return {"d_loss": discriminator_loss(D(x, z_q), D(x_p, z_p))}

    def encoder_decoder_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        E, G, D = self.nets["E"], self.nets["G"], self.nets["D"]
        z_q, _, _ = self.encode(x)                                  # (x, z) ~ q(x, z)
        reconstruction = G(z_q)
        z_p = self.prior(x.shape[0], x)                             # (x, z) ~ p(x, z)
        x_p = G(z_p)
        mu_p, logvar_p = E(x_p)
        sym_kl = symmetric_kl_estimate(D(x, z_q), D(x_p, z_p))
        log_px = gaussian_log_density(x, reconstruction, math.log(self.cfg.sigma)).mean()
        log_qz = gaussian_log_density(z_p, mu_p, 0.5 * logvar_p).mean()
        return {"loss": sym_kl - self.cfg.lam * (log_px + log_qz), "sym_kl": sym_kl, "log_px": log_px,
                "log_qz": log_qz, "recon_mse": (reconstruction.detach() - x).square().mean()}

    # ---- the trainable-model protocol (ijae/train.py) ----

    def make_optimizers(self, t) -> dict[str, torch.optim.Optimizer]:
        lr = {"E": t.lr_e, "G": t.lr_g, "D": t.lr_d}
        return {n: torch.optim.Adam(self.nets[n].parameters(), lr=lr[n], betas=tuple(t.betas),
                                    weight_decay=t.weight_decay) for n in ("E", "G", "D")}

    def train_step(self, next_batch, optimizers, autocast, d_steps: int = 1) -> dict[str, torch.Tensor]:
        D = self.nets["D"]
        D.requires_grad_(True)
        for _ in range(d_steps):
            with autocast():
                d_losses = self.discriminator_losses(next_batch())
            optimizers["D"].zero_grad(set_to_none=True)
            d_losses["d_loss"].backward()
            optimizers["D"].step()
        D.requires_grad_(False)  # the E / G update needs no gradient for D
        with autocast():
            losses = self.encoder_decoder_losses(next_batch())
        optimizers["E"].zero_grad(set_to_none=True)
        optimizers["G"].zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizers["E"].step()
        optimizers["G"].step()
        return {k: v.detach() for k, v in {**d_losses, **losses}.items()}

    @torch.no_grad()
    def sample(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return self.nets["G"](self.prior(n, like))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        z, mu, _ = self.encode(x)
        return self.nets["G"](mu if self.cfg.reconstruct_with == "mean" else z)


class SVAEAdapter(Adapter):
    name = "svae"
    label = "SVAE"
    kind = "port (from paper)"
    config_class = SVAEConfig
    architecture = ("lambda-IJAE's ResNet E (Gaussian, no Inject Noise) and G, D_zeta as the joint "
                    "log-ratio f(x, z); default profile: width 32, latent 32 at 16x16")

    def build(self, cfg, image_size: int):
        return SVAE(cfg.model, image_size)
