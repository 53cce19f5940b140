"""lambda-IJAE as one module: its five networks, the losses of one batch, one training step.

It implements the trainable-model protocol of train.py (``make_optimizers``, ``train_step``,
``loss_names``, ``sample``, ``reconstruct``); the loop there owns checkpoints and the schedule.
Each update's loss is a method of its own, so the tests can check it term by term.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ijae import likelihoods, objective
from ijae.nets import build_networks

DISCRIMINATORS = ("D_psi", "D_tau", "D_zeta")


def mismatched(x: torch.Tensor) -> torch.Tensor:
    """Each image paired with another image of the batch (a cyclic shift of the batch by one)."""
    return torch.roll(x, 1, dims=0)


class IJAE(nn.Module):
    # train_step has no host-side branch on tensor values, no .item() and no host-to-device copy,
    # so train.cuda_graphs may capture it whole (ijae/accel.py).
    graph_safe = True

    def __init__(self, model_cfg, image_size: int):
        super().__init__()
        self.cfg = model_cfg
        self.lam = model_cfg.lam
        self.latent_dim = model_cfg.latent_dim
        self.nets = build_networks(model_cfg, image_size)
        self.implicit = model_cfg.variant == "implicit"
        self.r = likelihoods.make_r(model_cfg, image_size)
        self.log_likelihood = None if self.implicit else likelihoods.explicit_log_likelihood(model_cfg)

    def prior(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=like.device, dtype=like.dtype)

    def discriminators(self) -> list[str]:
        """The discriminators this variant trains (the explicit ablations need no D_tau)."""
        return [d for d in DISCRIMINATORS if self.implicit or d != "D_tau"]

    def discriminator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Negated objectives (3), (4), (5) on one batch of data x; G and E are held fixed."""
        n, G, E = x.shape[0], self.nets["G"], self.nets["E"]
        with torch.no_grad():
            generated = G(self.prior(n, x))
            z_q = E(x)
            reconstruction = G(z_q)
        losses = {"d_psi": objective.d_psi_loss(self.nets["D_psi"](x), self.nets["D_psi"](generated))}
        if self.implicit:
            D_tau = self.nets["D_tau"]
            y_real = self.r(x)                                          # y ~ r(y | x)
            y_fake = likelihoods.r_prime(reconstruction, self.cfg.sigma_prime)  # y ~ r'(y | G(z_q))
            losses["d_tau"] = objective.d_tau_loss(D_tau(x, z_q, y_real), D_tau(x, z_q, y_fake))
            if self.cfg.tau_mismatch > 0:  # a departure: y from another image is also "not r(y|x)"
                y_other = self.r(mismatched(x))
                losses["d_tau"] = losses["d_tau"] + self.cfg.tau_mismatch * objective.bce_fake_loss(
                    D_tau(x, z_q, y_other))
        D_zeta = self.nets["D_zeta"]
        losses["d_zeta"] = objective.d_zeta_loss(D_zeta(x, self.prior(n, x)), D_zeta(x, z_q))
        return losses

    def recon_term(self, x: torch.Tensor, z_q: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
        """Per-sample reconstruction log-likelihood estimate: logit D_tau(x, z, G(z)) (Theorem 1:
        the gradient flows through the third argument) or the explicit L1 / L2 log-likelihood."""
        if self.implicit:
            return self.nets["D_tau"](x, z_q, reconstruction)
        return self.log_likelihood(x, reconstruction)

    def generator_encoder_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-sample terms of L_G and L_E on batch x, with their graphs."""
        G, E = self.nets["G"], self.nets["E"]
        gan_logits = self.nets["D_psi"](G(self.prior(x.shape[0], x)))
        z_q = E(x)
        reconstruction = G(z_q)
        return {"gan_logits": gan_logits, "recon": self.recon_term(x, z_q, reconstruction),
                "zeta_logits": self.nets["D_zeta"](x, z_q), "reconstruction": reconstruction}

    def generator_encoder_losses(self, x: torch.Tensor):
        """(objective to backpropagate once, logged terms) for the G and E update on batch x."""
        t = self.generator_encoder_terms(x)
        total = objective.generator_encoder_objective(t["gan_logits"], t["recon"], t["zeta_logits"], self.lam)
        with torch.no_grad():
            logs = {
                "loss_g": objective.generator_loss(t["gan_logits"], t["recon"], self.lam),
                "loss_e": objective.encoder_loss(t["recon"], t["zeta_logits"], self.lam),
                "gan_logit": t["gan_logits"].mean(),
                "recon_term": t["recon"].mean(),
                "zeta_logit": t["zeta_logits"].mean(),
                "recon_mse": (t["reconstruction"].float() - x.float()).pow(2).mean(),
            }
        return total, logs

    # ---- the trainable-model protocol (train.py) ----------------------------------------------

    def make_optimizers(self, t) -> dict[str, torch.optim.Optimizer]:
        """One Adam per network (Table 2)."""
        lr = {"G": t.lr_g, "E": t.lr_e, "D_psi": t.lr_d, "D_tau": t.lr_d, "D_zeta": t.lr_d}
        return {n: torch.optim.Adam(self.nets[n].parameters(), lr=lr[n], betas=tuple(t.betas),
                                    weight_decay=t.weight_decay) for n in ["G", "E", *self.discriminators()]}

    @property
    def loss_names(self) -> list[str]:
        return [*(f"d_{n[2:]}" for n in self.discriminators()), "loss_g", "loss_e", "gan_logit",
                "recon_term", "zeta_logit", "recon_mse"]

    def train_step(self, next_batch, optimizers, autocast, d_steps: int = 1) -> dict[str, torch.Tensor]:
        """``d_steps`` discriminator updates, then one G and E update, each on a fresh batch."""
        discriminators = [self.nets[n] for n in self.discriminators()]
        for net in discriminators:
            net.requires_grad_(True)
        for _ in range(d_steps):
            with autocast():
                d_losses = self.discriminator_losses(next_batch())
            for name in self.discriminators():
                optimizers[name].zero_grad(set_to_none=True)
            sum(d_losses.values()).backward()
            for name in self.discriminators():
                optimizers[name].step()
        for net in discriminators:  # the G / E update needs no gradient for the discriminators
            net.requires_grad_(False)
        with autocast():
            total, logs = self.generator_encoder_losses(next_batch())
        optimizers["G"].zero_grad(set_to_none=True)
        optimizers["E"].zero_grad(set_to_none=True)
        total.backward()
        optimizers["G"].step()
        optimizers["E"].step()
        return {**d_losses, **logs}

    @torch.no_grad()
    def sample(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return self.nets["G"](self.prior(n, like))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.nets["G"](self.nets["E"](x))
