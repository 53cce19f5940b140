"""2Stage-VAE (Dai & Wipf, "Diagnosing and Enhancing VAE Models", ICLR 2019) as a PyTorch port.

Ported from the authors' TensorFlow 1 code, github.com/daib13/TwoStageVAE at
871862382746d619e7dc7527f3d02f924e1b0af5 (network/two_stage_vae_model.py, network/util.py,
demo.py), read, not copied; nothing of it runs here.

Model (two_stage_vae_model.py, ``TwoStageVaeModel``):
  stage 1  x in [0, 1] (the repo's uint8 / 255: our [-1, 1] batch mapped by (x + 1) / 2);
           q(z|x) = N(mu_z, sd_z^2) from encoder 1; p(x|z) = N(x_hat(z), gamma_x^2 I) with one
           learned scalar log gamma_x (init 0) beside decoder 1, x_hat a sigmoid output;
           loss1 = sum(mu^2 + sd^2 - 2 log sd - 1) / 2 / B
                 + sum(((x - x_hat) / gamma_x)^2 / 2 + log gamma_x + log(2 pi) / 2) / B
  stage 2  the same loss on the stage-1 latents z = mu_z + sd_z * eps of the data (demo.py:
           ``extract_posterior`` with is_training False, then a fresh eps per batch), with an MLP
           VAE: ``second_depth`` ReLU layers of ``second_dim`` units whose output is concatenated
           with the layer's input before the mu / log-sd (encoder) or z_hat (decoder) heads, and
           its own learned scalar log gamma_z.
  samples  u ~ N(0, I) -> z = z_hat(u) + gamma_z * eps -> x_hat(z) (``generate(stage=2)``)
  recons   x -> z = mu_z + sd_z * eps -> x_hat(z) (``reconstruct`` runs the graph's sampled z);
           ``reconstruct_with: mean`` uses z = mu_z instead.

Networks (stage 1): ``Infogan`` (the repo's default, ``--network-structure Infogan``, the InfoGAN
network of Lucic et al. 2018 that the paper uses for its FID tables) and ``Resnet``. Stage 2 is
the same MLP for both. Batch norm is util.batch_norm's (twostage_nets.ZeroDebiasedBatchNorm):
moving averages with decay 0.999 and TF's zero-debiasing, biased batch variance, eps 1e-5; eval
mode (stage 2's encoding of the data, export) uses those averages as the repo's is_training=False.

Schedule (demo.py): Adam (TF defaults: betas 0.9 / 0.999, eps 1e-8), stage 1 ``--epochs`` 400 at
``--lr`` 1e-4 halved (``--lr-fac`` 0.5) every ``--lr-epochs`` 150; stage 2 ``--epochs2`` 800 at
``--lr2`` 1e-4 halved every ``--lr-epochs2`` 300; batch 64; latent 64; second_dim 1024, depth 3.
Here epochs are counted in steps (epochs x floor(N / batch); CIFAR-10: 781 steps an epoch), and
the model keeps a step counter buffer: the first ``stage1_steps`` train stage 1, the rest train
stage 2 with stage 1 frozen (eval mode, no gradients), so a checkpoint resumes exactly.

Differences from the TensorFlow code (none changes the objective):
  * batches are drawn i.i.d. with replacement (the harness's sampler) instead of shuffled epochs;
    stage 2 encodes each batch with the frozen stage 1 instead of encoding the whole training set
    once up front (the same distribution of z).
  * log(2 pi) / 2 exactly; the repo writes the rounded constant 0.91893 (no effect on gradients).
  * spectral norm (Infogan encoder): torch's parametrization, one power iteration per training
    forward; TF's also ran one in inference forwards, and started without torch's 15 warm-up ones.
  * Adam: torch's epsilon is added to sqrt(v_hat), TF's to sqrt(v) (a ~1e-8 difference).
  * initialisation follows util.py (N(0, 0.02) / truncated N(0, 0.02), zero biases) and
    tf.layers' Glorot-uniform defaults where the repo uses tf.layers.
  * the cross-entropy variant (``--cross-entropy-loss``) is not ported (not the 2Stage-VAE row).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

from baselines.twostage_nets import (InfoganDecoder, InfoganEncoder, ResnetDecoder, ResnetEncoder,
                                     SecondDecoder, SecondEncoder)
from baselines.upstream import GitSource
from ijae.adapter import Adapter
from ijae.config import require

REPO_URL = "https://github.com/daib13/TwoStageVAE"
REPO_COMMIT = "871862382746d619e7dc7527f3d02f924e1b0af5"
HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)

# CIFAR-10 (paper profile): 50,000 training images, batch 64 -> 781 iterations an epoch (demo.py:
# iteration_per_epoch = num_sample // batch_size).
CIFAR_STEPS_PER_EPOCH = 50_000 // 64


@dataclass
class TwoStageVAEConfig:
    name: str = "twostage"
    network: str = "infogan"          # infogan | resnet (two_stage_vae_model.py's Infogan / Resnet)
    latent_dim: int = 64              # demo.py --latent-dim
    second_dim: int = 1024            # --second-dim
    second_depth: int = 3             # --second-depth
    num_scale: int = 4                # Resnet only: --num-scale
    block_per_scale: int = 1          # Resnet only: --block-per-scale
    depth_per_block: int = 2          # Resnet only: --depth-per-block
    kernel_size: int = 3              # Resnet only: --kernel-size
    base_dim: int = 16                # Resnet only: --base-dim
    fc_dim: int = 512                 # Resnet only: --fc-dim
    stage1_steps: int = 400 * CIFAR_STEPS_PER_EPOCH   # --epochs 400; train.steps - this = stage 2
    lr: float = 1e-4                  # --lr (stage 1); train.lr_* are not used by this model
    lr_steps: int = 150 * CIFAR_STEPS_PER_EPOCH       # --lr-epochs 150: halve every this many steps
    lr_fac: float = 0.5               # --lr-fac
    lr2: float = 1e-4                 # --lr2 (stage 2)
    lr_steps2: int = 300 * CIFAR_STEPS_PER_EPOCH      # --lr-epochs2 300
    lr_fac2: float = 0.5              # --lr-fac2
    reconstruct_with: str = "sample"  # sample (the repo's reconstruct: z ~ q(z|x)) | mean (z = mu_z)

    def validate(self, key: str) -> None:
        require(self.network in ("infogan", "resnet"), f"{key}.network", self.network,
               "infogan or resnet")
        for name in ("latent_dim", "second_dim", "num_scale", "block_per_scale", "depth_per_block",
                     "kernel_size", "base_dim", "fc_dim", "lr_steps", "lr_steps2"):
            require(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "a positive integer")
        require(self.second_depth >= 0, f"{key}.second_depth", self.second_depth, "an integer >= 0")
        require(self.stage1_steps >= 0, f"{key}.stage1_steps", self.stage1_steps, "an integer >= 0")
        for name in ("lr", "lr2"):
            require(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "> 0")
        for name in ("lr_fac", "lr_fac2"):
            require(0 < getattr(self, name) <= 1, f"{key}.{name}", getattr(self, name), "in (0, 1]")
        require(self.reconstruct_with in ("sample", "mean"), f"{key}.reconstruct_with",
               self.reconstruct_with, "sample or mean")


# ---- losses (two_stage_vae_model.py, __build_loss) ------------------------------------------------

def kl_loss(mu: torch.Tensor, sd: torch.Tensor, logsd: torch.Tensor) -> torch.Tensor:
    """sum(mu^2 + sd^2 - 2 log sd - 1) / 2 / B: KL(N(mu, sd^2) || N(0, I)) summed, batch mean."""
    return (mu.square() + sd.square() - 2 * logsd - 1).sum() / 2.0 / mu.shape[0]


def gen_loss(x: torch.Tensor, x_hat: torch.Tensor, loggamma: torch.Tensor) -> torch.Tensor:
    """-log N(x | x_hat, gamma^2 I) summed over every coordinate, batch mean (gamma = exp(loggamma))."""
    gamma = loggamma.exp()
    return (((x - x_hat) / gamma).square() / 2.0 + loggamma + HALF_LOG_TWO_PI).sum() / x.shape[0]


# ---- the trainable model --------------------------------------------------------------------------

STAGE1, STAGE2 = ("enc1", "dec1"), ("enc2", "dec2")


class TwoStageVAE(nn.Module):
    loss_names = ["stage", "loss", "kl_loss", "gen_loss", "gamma", "lr"]

    def __init__(self, cfg: TwoStageVAEConfig, image_size: int):
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        if cfg.network == "infogan":
            if image_size % 4:
                raise ValueError(f"image_size {image_size}: the Infogan network needs a multiple of 4")
            enc1, dec1 = InfoganEncoder(cfg.latent_dim, image_size), InfoganDecoder(cfg.latent_dim, image_size)
        else:
            enc1, dec1 = ResnetEncoder(cfg, image_size), ResnetDecoder(cfg, image_size)
        self.nets = nn.ModuleDict({
            "enc1": enc1, "dec1": dec1,
            "enc2": SecondEncoder(cfg.latent_dim, cfg.second_dim, cfg.second_depth),
            "dec2": SecondDecoder(cfg.latent_dim, cfg.second_dim, cfg.second_depth),
        })
        # Steps taken so far: decides the stage and the learning rate; saved with the weights.
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        # A host-side copy, so a step needs no device sync; re-read after load_state_dict.
        self._steps: int | None = None
        self.register_load_state_dict_post_hook(lambda module, keys: setattr(module, "_steps", None))

    # ---- the two stages' losses ----

    @staticmethod
    def to_unit(x: torch.Tensor) -> torch.Tensor:
        """The harness's [-1, 1] batch as the repo's x = uint8 / 255 in [0, 1]."""
        return (x + 1.0) / 2.0

    def stage1_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.to_unit(x)
        mu, sd, logsd = self.nets["enc1"](x)
        z = mu + torch.randn_like(mu) * sd
        x_hat = self.nets["dec1"](z)
        kl = kl_loss(mu, sd, logsd)
        gen = gen_loss(x, x_hat, self.nets["dec1"].loggamma)
        return {"loss": kl + gen, "kl_loss": kl, "gen_loss": gen, "gamma": self.nets["dec1"].loggamma.exp()}

    @torch.no_grad()
    def stage1_latents(self, x: torch.Tensor) -> torch.Tensor:
        """z = mu_z + sd_z * eps of the frozen stage 1 (demo.py: extract_posterior, then a fresh
        eps per batch)."""
        mu, sd, _ = self.nets["enc1"](self.to_unit(x))
        return mu + sd * torch.randn_like(mu)

    def stage2_losses(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, sd, logsd = self.nets["enc2"](z)
        u = mu + sd * torch.randn_like(mu)
        z_hat = self.nets["dec2"](u)
        kl = kl_loss(mu, sd, logsd)
        gen = gen_loss(z, z_hat, self.nets["dec2"].loggamma)
        return {"loss": kl + gen, "kl_loss": kl, "gen_loss": gen, "gamma": self.nets["dec2"].loggamma.exp()}

    # ---- the schedule ----

    def stage_at(self, step: int) -> int:
        """The stage that 0-based step ``step`` trains."""
        return 1 if step < self.cfg.stage1_steps else 2

    def lr_at(self, step: int) -> float:
        """demo.py: lr * fac ^ floor(epoch / lr_epochs), counted in steps within the stage."""
        c = self.cfg
        if self.stage_at(step) == 1:
            return c.lr * c.lr_fac ** (step // c.lr_steps)
        return c.lr2 * c.lr_fac2 ** ((step - c.stage1_steps) // c.lr_steps2)

    # ---- the trainable-model protocol (ijae/train.py) ----

    def make_optimizers(self, t) -> dict[str, torch.optim.Optimizer]:
        """One Adam per network (demo.py: Adam over each stage's variables; per-parameter Adam is
        the same split or joined). Learning rates come from this model's schedule; train.betas
        and train.weight_decay apply (the presets set TF's Adam defaults)."""
        return {n: torch.optim.Adam(self.nets[n].parameters(), lr=self.cfg.lr if n in STAGE1 else self.cfg.lr2,
                                    betas=tuple(t.betas), eps=1e-8, weight_decay=t.weight_decay)
                for n in (*STAGE1, *STAGE2)}

    def steps(self) -> int:
        if self._steps is None:
            self._steps = int(self.steps_done)
        return self._steps

    def train_step(self, next_batch, optimizers, autocast, d_steps: int = 1) -> dict[str, torch.Tensor]:
        step = self.steps()
        stage, lr = self.stage_at(step), self.lr_at(step)
        names = STAGE1 if stage == 1 else STAGE2
        x = next_batch()
        if stage == 2:
            # Stage 1 is frozen: inference mode (BN moving averages, no SN power iteration), no grads.
            for n in STAGE1:
                self.nets[n].eval().requires_grad_(False)
            with autocast():
                z = self.stage1_latents(x).float()
                losses = self.stage2_losses(z)
        else:
            with autocast():
                losses = self.stage1_losses(x)
        for n in names:
            for group in optimizers[n].param_groups:
                group["lr"] = lr
            optimizers[n].zero_grad(set_to_none=True)
        losses["loss"].backward()
        for n in names:
            optimizers[n].step()
        self.steps_done += 1
        self._steps = step + 1
        device = losses["loss"].device
        return {"stage": torch.tensor(float(stage), device=device), **{k: v.detach() for k, v in losses.items()},
                "lr": torch.tensor(lr, device=device)}

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.steps() >= self.cfg.stage1_steps:
            for n in STAGE1:  # stage 1 stays frozen once stage 2 has begun (also after a resume)
                self.nets[n].eval()
        return self

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Stage-1 decoder mean, mapped back to [-1, 1]."""
        return self.nets["dec1"](z) * 2.0 - 1.0

    @torch.no_grad()
    def sample(self, n: int, like: torch.Tensor) -> torch.Tensor:
        """generate(stage=2): u ~ N(0, I), z = z_hat(u) + gamma_z * eps, x = x_hat(z)."""
        u = torch.randn(n, self.latent_dim, device=like.device)
        dec2 = self.nets["dec2"]
        z = dec2(u) + dec2.loggamma.exp() * torch.randn(n, self.latent_dim, device=like.device)
        return self.decode(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        mu, sd, _ = self.nets["enc1"](self.to_unit(x))
        z = mu if self.cfg.reconstruct_with == "mean" else mu + sd * torch.randn_like(mu)
        return self.decode(z)


# ---- the adapter ----------------------------------------------------------------------------------

class TwoStageVAEAdapter(Adapter):
    name = "twostage"
    label = "2Stage-VAE"
    kind = "port"
    source = GitSource(REPO_URL, REPO_COMMIT)   # provenance: the code ported (never run here)
    config_class = TwoStageVAEConfig
    architecture = ("repo's Infogan VAE (stage 1, learned gamma_x; Resnet selectable) + 3x1024 MLP VAE "
                    "(stage 2, learned gamma_z); default profile: the same networks at 16x16")

    def build(self, cfg, image_size: int):
        return TwoStageVAE(cfg.model, image_size)
