"""The losses of lambda-IJAE, one function per loss, all on logits (logit D = log D / (1 - D)).

Discriminators maximise the binary cross-entropy objectives (3), (4), (5); we minimise their
negatives, written with ``binary_cross_entropy_with_logits`` (softplus, numerically stable).

Generator and encoder follow the objective's lambda convention (docs/paper-notes.md section 1; eq. 6 as
printed swaps lambda and 1 - lambda, a typo):

    L_G = -(1 - lam) E logit D_psi(G(z))  -  lam E logit D_tau(x, z_q, G(z_q))
    L_E = -lam E [ logit D_tau(x, z_q, G(z_q)) + logit D_zeta(x, z_q) ]

lam = 0: a pure GAN generator (and an encoder with no gradient); lam = 1: a pure implicit
autoencoder. For the L1 / L2 ablations ``recon_term`` is an explicit log-likelihood instead of
logit D_tau.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-(E log D(real) + E log(1 - D(fake))) from logits."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def bce_fake_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log(1 - D(fake)) from logits."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def d_psi_loss(data_logits: torch.Tensor, generated_logits: torch.Tensor) -> torch.Tensor:
    """Eq. (3): D_psi tells x ~ p*(x) (real) from G(z), z ~ p(z) (fake)."""
    return bce_discriminator_loss(data_logits, generated_logits)


def d_tau_loss(shifted_logits: torch.Tensor, reconstructed_logits: torch.Tensor) -> torch.Tensor:
    """Eq. (4): D_tau tells (x, z_q, y ~ r(y|x)) (real) from (x, z_q, y ~ r'(y|G(z_q))) (fake)."""
    return bce_discriminator_loss(shifted_logits, reconstructed_logits)


def d_zeta_loss(prior_logits: torch.Tensor, posterior_logits: torch.Tensor) -> torch.Tensor:
    """Eq. (5): D_zeta tells (x, z ~ p(z)) (real) from (x, z ~ q(z|x)) (fake)."""
    return bce_discriminator_loss(prior_logits, posterior_logits)


def generator_loss(gan_logits: torch.Tensor, recon_term: torch.Tensor, lam: float) -> torch.Tensor:
    """L_G: reverse KL through D_psi weighted 1 - lam, reconstruction weighted lam."""
    return -(1.0 - lam) * gan_logits.mean() - lam * recon_term.mean()


def encoder_loss(recon_term: torch.Tensor, zeta_logits: torch.Tensor, lam: float) -> torch.Tensor:
    """L_E: -lam times the ELBO estimate (reconstruction + adversarial -KL(q(z|x) || p(z)))."""
    return -lam * (recon_term.mean() + zeta_logits.mean())


def generator_encoder_objective(gan_logits: torch.Tensor, recon_term: torch.Tensor,
                                zeta_logits: torch.Tensor, lam: float) -> torch.Tensor:
    """One scalar whose gradient is grad L_G for G's parameters and grad L_E for E's.

    G reaches it only through ``gan_logits`` and ``recon_term`` (D_zeta sees no G output), E only
    through ``recon_term`` and ``zeta_logits`` (D_psi sees G(z) with z from the prior): so the
    shared reconstruction term is counted once, and a single backward pass serves both networks.
    """
    return -(1.0 - lam) * gan_logits.mean() - lam * recon_term.mean() - lam * zeta_logits.mean()
