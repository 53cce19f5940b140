"""α-GAN (Rosca et al., 2017) through victor-shepardson/alpha-GAN (pinned below; an unofficial
implementation, the one the λ-IJAE paper compares with), imported from a clone at run time.

From the clone: the ``AlphaGAN`` class of ``alphagan/alphagan.py`` — its loss functions
(``autoencoder_loss``: code-adversarial -log C(E(x)), adversarial -log D(G(z), G(E(x))) and
``lambd`` * L1 reconstruction; ``discriminator_loss``; ``code_discriminator_loss``), its prior
and its per-batch training step ``_epoch`` (run here on one batch per harness step: ``n_iter``
updates of E and G jointly, then of D, then of C, all on that batch), and ``forward`` for
sampling and reconstruction. The networks are λ-IJAE's (ijae/nets.py), as the λ-IJAE paper
trained its baselines: the Generator, the implicit (noise-injected) Encoder and the image
discriminator D_psi, followed by a sigmoid because AlphaGAN takes log D; the code discriminator C
is the CIFAR notebook's MLP (latent -> 700 -> 700 -> 1, LeakyReLU 0.2, sigmoid, no batch norm,
Xavier-normal weights). Settings are the notebook's (alphagan/examples/CIFAR.ipynb): latent 128,
lambd 40, z_lambd 0, batch 64, n_iter (2, 1, 1), Adam lr 8e-4 betas (0.5, 0.9) (``fit``'s
defaults) for E+G, D and C, 10 epochs.

``code_weight`` and ``adversarial_weight`` are on/off switches, not weights: upstream's
``autoencoder_loss`` never multiplies a loss by them (``code_adversarial_loss`` and
``adversarial_loss`` enter the E+G loss at weight 1 whenever the value is non-zero), and
``use_C()`` / ``use_D()`` only test them for zero (zero: C / D is neither built into the loss nor
trained). A value like 0.5 would therefore act as 1; the config takes only 0 or 1 and says why.
Only ``lambd`` and ``z_lambd`` scale their losses.

Shims for today's PyTorch, in memory only (the clone's files are never edited):
- ``AlphaGAN._wrap`` tests ``isinstance(x, torch._TensorBase)`` (gone since PyTorch 0.4) and
  wraps tensors in ``Variable``; a subclass made here replaces it by "a tensor on the model's
  device" (``Variable`` is the tensor itself today).
- the module's progress bar ``pbar`` (tqdm, one bar per ``_epoch`` call) is replaced by a
  pass-through, since ``_epoch`` runs once per step here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from baselines.upstream import GitSource, import_isolated
from ijae.adapter import Adapter
from ijae.config import require
from ijae.nets import Encoder, Generator, ImageDiscriminator

SOURCE = GitSource("https://github.com/victor-shepardson/alpha-GAN",
                   "7feb98b2b3ca9e6310013858e76a8265ae1a02b6", env="IJAE_SOURCE_ALPHAGAN")


@dataclass
class AlphaGANConfig:
    name: str = "alphagan"
    latent_dim: int = 128             # notebook: latent_dim = 128
    width: int = 128                  # channels of λ-IJAE's networks (Appendix D: 128)
    noise_dim: int | None = None      # E's injected noise (λ-IJAE's); None = latent_dim
    disc_noise: bool = True           # D_psi's fixed noise injections, as in λ-IJAE
    code_hidden: int = 700            # notebook's C: two hidden layers of 700
    lambd: float = 40.0               # AlphaGAN(lambd=40): weight of the L1 reconstruction loss
    z_lambd: float = 0.0              # code reconstruction loss weight (notebook: 0)
    # on/off switches upstream (never multiplied into a loss): 1 = the code-adversarial loss and
    # C's training (resp. the image-adversarial loss and D's), 0 = none; only 0 or 1 are accepted
    code_weight: float = 1.0
    adversarial_weight: float = 1.0
    n_iter: list[int] = field(default_factory=lambda: [2, 1, 1])  # updates per batch: E+G, D, C
    source_path: str | None = None    # local clone / bare mirror of the upstream repository

    def validate(self, key: str) -> None:
        for name in ("latent_dim", "width", "code_hidden"):
            require(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "a positive integer")
        require(self.noise_dim is None or self.noise_dim > 0, f"{key}.noise_dim", self.noise_dim,
               "a positive integer or null")
        for name in ("lambd", "z_lambd"):
            require(getattr(self, name) >= 0, f"{key}.{name}", getattr(self, name), ">= 0")
        for name in ("code_weight", "adversarial_weight"):
            require(getattr(self, name) in (0, 1), f"{key}.{name}", getattr(self, name),
                    "0 or 1: upstream AlphaGAN only tests it for zero (on/off) and never scales "
                    "the loss by it, so any other value would act as 1")
        require(len(self.n_iter) == 3 and all(n >= 0 for n in self.n_iter), f"{key}.n_iter",
               self.n_iter, "three counts >= 0 (E+G, D, C updates per batch)")


_UPSTREAM: dict[str, type] = {}


def upstream_class(root: Path) -> type:
    """The clone's AlphaGAN, subclassed with the shims of the module docstring; cached."""
    key = str(Path(root).resolve())
    if key not in _UPSTREAM:
        module = import_isolated(root, "alphagan.alphagan")["alphagan.alphagan"]
        module.pbar = lambda iterable, *args, **kwargs: iterable

        class AlphaGANShim(module.AlphaGAN):
            def _wrap(self, x, **kwargs):
                """A tensor on the model's device (upstream: Variable, torch._TensorBase, .cuda())."""
                return torch.as_tensor(x).to(next(self.parameters()).device)

        _UPSTREAM[key] = AlphaGANShim
    return _UPSTREAM[key]


def code_discriminator(latent_dim: int, hidden: int) -> nn.Sequential:
    """The CIFAR notebook's C: Linear, LeakyReLU(0.2), Linear, LeakyReLU(0.2), Linear, Sigmoid."""
    C = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                      nn.LeakyReLU(0.2), nn.Linear(hidden, 1), nn.Sigmoid())
    gain = nn.init.calculate_gain("leaky_relu", 0.2)
    for layer in C:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_normal_(layer.weight, gain)
    return C


class AlphaGANModel(nn.Module):
    """The trainable model (ijae/train.py protocol) around the clone's AlphaGAN."""

    def __init__(self, m: AlphaGANConfig, image_size: int, AlphaGAN: type):
        super().__init__()
        self.cfg = m
        noise_dim = m.noise_dim or m.latent_dim
        E = Encoder(m.latent_dim, m.width, image_size, noise_dim)
        G = Generator(m.latent_dim, m.width, image_size)
        D = nn.Sequential(ImageDiscriminator(m.width, noise_dim, m.disc_noise), nn.Sigmoid())
        C = code_discriminator(m.latent_dim, m.code_hidden)
        self.gan = AlphaGAN(E, G, D, C, m.latent_dim, lambd=m.lambd, z_lambd=m.z_lambd,
                            code_weight=m.code_weight, adversarial_weight=m.adversarial_weight)

    def _parts(self) -> list[tuple[str, object]]:
        """(optimizer name, loss function) in AlphaGAN.fit's order."""
        g = self.gan
        parts = [("EG", g.autoencoder_loss)]
        if g.use_D():
            parts.append(("D", g.discriminator_loss))
        if g.use_C():
            parts.append(("C", g.code_discriminator_loss))
        return parts

    def make_optimizers(self, t) -> dict[str, torch.optim.Optimizer]:
        """AlphaGAN.fit: one Adam for E and G jointly (train.lr_g), one for D and one for C (lr_d)."""
        g = self.gan

        def adam(params, lr):
            return torch.optim.Adam(params, lr=lr, betas=tuple(t.betas), weight_decay=t.weight_decay)

        eg = [*g.E.parameters(), *g.G.parameters()] if g.use_E() else list(g.G.parameters())
        opts = {"EG": adam(eg, t.lr_g)}
        if g.use_D():
            opts["D"] = adam(g.D.parameters(), t.lr_d)
        if g.use_C():
            opts["C"] = adam(g.C.parameters(), t.lr_d)
        return opts

    @property
    def loss_names(self) -> list[str]:
        g, names = self.gan, []
        if g.use_C():
            names.append("code_adversarial_loss")
        if g.adversarial_weight != 0:
            names.append("adversarial_loss")
        if g.use_E() and g.lambd != 0:
            names.append("reconstruction_loss")
        if g.use_E() and g.z_lambd != 0:
            names.append("code_reconstruction_loss")
        if g.use_D():
            names.append("discriminator_loss")
        if g.use_C():
            names.append("code_discriminator_loss")
        return names

    def train_step(self, next_batch, optimizers, autocast, d_steps: int = 1) -> dict[str, torch.Tensor]:
        """AlphaGAN._epoch on one fresh batch (``d_steps`` unused: model.n_iter sets the schedule)."""
        def under_autocast(fn):
            def loss(x):
                with autocast():
                    return fn(x)
            return loss

        parts = self._parts()
        means = self.gan._epoch([next_batch()], [under_autocast(fn) for _, fn in parts],
                                [optimizers[name] for name, _ in parts], tuple(self.cfg.n_iter))
        return {k: torch.tensor(float(means.get(k, 0.0))) for k in self.loss_names}

    @torch.no_grad()
    def sample(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return self.gan(n, mode="sample")[1]

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.gan(x, mode="reconstruct")


class AlphaGANAdapter(Adapter):
    name = "alphagan"
    label = "α-GAN"
    kind = "upstream"
    source = SOURCE
    config_class = AlphaGANConfig
    architecture = ("λ-IJAE's G, implicit E and D_psi (+ sigmoid), the notebook's MLP code "
                    "discriminator (latent-700-700-1); default profile: width 32, latent 32 at 16x16")

    def build(self, cfg, image_size: int):
        return AlphaGANModel(cfg.model, image_size, upstream_class(SOURCE.checkout(cfg)))
