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
the same MLP for both.

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
  * BatchNorm: TF's moving averages with decay 0.999 are PyTorch momentum 0.001, eps 1e-5;
    PyTorch's running variance is the unbiased one, the repo's the biased one.
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
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from baselines.base import Adapter, GitSource, register
from ijae.config import require

REPO_URL = "https://github.com/daib13/TwoStageVAE"
REPO_COMMIT = "871862382746d619e7dc7527f3d02f924e1b0af5"
HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
BN_MOMENTUM = 0.001     # util.batch_norm: moving averages with decay 0.999
BN_EPS = 1e-5

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


# ---- TF "SAME" convolutions -----------------------------------------------------------------------

def _same_pads(k: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of TF's SAME for an input size divisible by the stride."""
    total = max(k - stride, 0)
    return total // 2, total - total // 2


class SameConv(nn.Conv2d):
    """tf conv2d with padding SAME (asymmetric where TF pads asymmetrically)."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1):
        super().__init__(c_in, c_out, k, stride, padding=0)
        before, after = _same_pads(k, stride)
        self.pads = (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pads))


class SameConvTranspose(nn.ConvTranspose2d):
    """tf conv2d_transpose with padding SAME: output size = stride x input size."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 2):
        super().__init__(c_in, c_out, k, stride, padding=0)
        self.crop = _same_pads(k, stride)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2] * self.stride[0], x.shape[3] * self.stride[1]
        y = super().forward(x)
        return y[:, :, self.crop:self.crop + h, self.crop:self.crop + w]


def _glorot(module: nn.Module) -> nn.Module:
    """tf.layers defaults: Glorot-uniform kernel, zero bias."""
    nn.init.xavier_uniform_(module.weight)
    nn.init.zeros_(module.bias)
    return module


def _normal(module: nn.Module, truncated: bool = False) -> nn.Module:
    """util.py's conv2d (truncated N(0, 0.02)), deconv2d / linear (N(0, 0.02)); zero bias."""
    if truncated:
        nn.init.trunc_normal_(module.weight, std=0.02, a=-0.04, b=0.04)
    else:
        nn.init.normal_(module.weight, std=0.02)
    nn.init.zeros_(module.bias)
    return module


def bn2d(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


def bn1d(c: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


# ---- stage 1: Infogan -------------------------------------------------------------------------------

class InfoganEncoder(nn.Module):
    """conv4x4/2 64 (SN), lReLU; conv4x4/2 128 (SN), BN, lReLU; fc 1024 (SN), BN, lReLU;
    fc 2 x latent (SN) -> mu, sd = 1e-6 + softplus."""

    def __init__(self, latent_dim: int, image_size: int, channels: int = 3):
        super().__init__()
        flat = 128 * (image_size // 4) ** 2
        self.conv1 = spectral_norm(_normal(nn.Conv2d(channels, 64, 4, 2, 1), truncated=True))
        self.conv2 = spectral_norm(_normal(nn.Conv2d(64, 128, 4, 2, 1), truncated=True))
        self.bn2 = bn2d(128)
        self.fc3 = spectral_norm(_normal(nn.Linear(flat, 1024)))
        self.bn3 = bn1d(1024)
        self.en4 = spectral_norm(_normal(nn.Linear(1024, 2 * latent_dim)))
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor):
        y = F.leaky_relu(self.conv1(x), 0.2)
        y = F.leaky_relu(self.bn2(self.conv2(y)), 0.2)
        y = F.leaky_relu(self.bn3(self.fc3(y.flatten(1))), 0.2)
        params = self.en4(y)
        mu = params[:, :self.latent_dim]
        sd = 1e-6 + F.softplus(params[:, self.latent_dim:])
        return mu, sd, sd.log()


class InfoganDecoder(nn.Module):
    """fc 1024, BN, ReLU; fc 128 (s/4)^2, BN, ReLU; deconv4x4/2 64, BN, ReLU; deconv4x4/2 -> sigmoid;
    and log gamma_x."""

    def __init__(self, latent_dim: int, image_size: int, channels: int = 3):
        super().__init__()
        self.side = image_size // 4
        self.fc1 = _normal(nn.Linear(latent_dim, 1024))
        self.bn1 = bn1d(1024)
        self.fc2 = _normal(nn.Linear(1024, 128 * self.side ** 2))
        self.bn2 = bn1d(128 * self.side ** 2)
        self.conv3 = _normal(nn.ConvTranspose2d(128, 64, 4, 2, 1))
        self.bn3 = bn2d(64)
        self.conv4 = _normal(nn.ConvTranspose2d(64, channels, 4, 2, 1))
        self.loggamma = nn.Parameter(torch.zeros(()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.fc1(z)))
        y = F.relu(self.bn2(self.fc2(y))).view(z.shape[0], 128, self.side, self.side)
        y = F.relu(self.bn3(self.conv3(y)))
        return torch.sigmoid(self.conv4(y))


# ---- stage 1: Resnet (util.py's res_block / scale_block / res_fc_block) ---------------------------

class ResBlock(nn.Module):
    """depth x (BN, ReLU, conv k 'same') + a conv k 'same' shortcut (always a conv)."""

    def __init__(self, c_in: int, c_out: int, depth: int, k: int):
        super().__init__()
        self.bns = nn.ModuleList(bn2d(c_in if i == 0 else c_out) for i in range(depth))
        self.convs = nn.ModuleList(_glorot(SameConv(c_in if i == 0 else c_out, c_out, k))
                                   for i in range(depth))
        self.shortcut = _glorot(SameConv(c_in, c_out, k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for bn, conv in zip(self.bns, self.convs):
            y = conv(F.relu(bn(y)))
        return y + self.shortcut(x)


def scale_block(c_in: int, c_out: int, blocks: int, depth: int, k: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(c_in if i == 0 else c_out, c_out, depth, k) for i in range(blocks)])


class ResFcBlock(nn.Module):
    """depth x dense(ReLU(y)) + a dense shortcut."""

    def __init__(self, d_in: int, d_out: int, depth: int):
        super().__init__()
        self.layers = nn.ModuleList(_glorot(nn.Linear(d_in if i == 0 else d_out, d_out)) for i in range(depth))
        self.shortcut = _glorot(nn.Linear(d_in, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for layer in self.layers:
            y = layer(F.relu(y))
        return y + self.shortcut(x)


class ResnetEncoder(nn.Module):
    """conv0 -> num_scale x (scale block, then a stride-2 conv doubling channels but after the last)
    -> spatial mean -> res fc block (fc_dim) -> mu, log sd (sd = exp)."""

    def __init__(self, cfg: TwoStageVAEConfig, image_size: int, channels: int = 3):
        super().__init__()
        k, dim = cfg.kernel_size, cfg.base_dim
        layers: list[nn.Module] = [_glorot(SameConv(channels, dim, k))]
        for i in range(cfg.num_scale):
            layers.append(scale_block(dim, dim, cfg.block_per_scale, cfg.depth_per_block, k))
            if i != cfg.num_scale - 1:
                layers.append(_glorot(SameConv(dim, dim * 2, k, stride=2)))
                dim *= 2
        if image_size % 2 ** (cfg.num_scale - 1):
            raise ValueError(f"image_size {image_size}: expected a multiple of 2^(num_scale - 1)")
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Sequential(*[ResFcBlock(dim, cfg.fc_dim, cfg.depth_per_block)])
        self.mu = _glorot(nn.Linear(cfg.fc_dim, cfg.latent_dim))
        self.logsd = _glorot(nn.Linear(cfg.fc_dim, cfg.latent_dim))

    def forward(self, x: torch.Tensor):
        y = self.fc(self.convs(x).mean(dim=(2, 3)))
        logsd = self.logsd(y)
        return self.mu(y), logsd.exp(), logsd


class ResnetDecoder(nn.Module):
    """fc -> 2 x 2 x dims[0] -> (stride-2 transposed conv, scale block) per scale up to the image
    size -> conv k 'same' -> sigmoid; and log gamma_x. dims: base_dim doubling per scale (at most
    1024), largest first."""

    def __init__(self, cfg: TwoStageVAEConfig, image_size: int, channels: int = 3):
        super().__init__()
        scales, dims, scale, dim = [], [], 2, cfg.base_dim
        while scale <= image_size:
            scales.append(scale)
            dims.append(dim)
            scale, dim = scale * 2, min(dim * 2, 1024)
        if scales[-1] != image_size:
            raise ValueError(f"image_size {image_size}: the Resnet decoder needs a power of two")
        dims = dims[::-1]
        k = cfg.kernel_size
        self.dim0 = dims[0]
        self.fc = _glorot(nn.Linear(cfg.latent_dim, 4 * dims[0]))
        layers: list[nn.Module] = []
        for i in range(len(scales) - 1):
            layers.append(_glorot(SameConvTranspose(dims[i], dims[i + 1], k, 2)))
            layers.append(scale_block(dims[i + 1], dims[i + 1], cfg.block_per_scale, cfg.depth_per_block, k))
        layers.append(_glorot(SameConv(dims[-1], channels, k)))
        self.convs = nn.Sequential(*layers)
        self.loggamma = nn.Parameter(torch.zeros(()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.convs(self.fc(z).view(z.shape[0], self.dim0, 2, 2)))


# ---- stage 2 (build_encoder2 / build_decoder2) ------------------------------------------------------

class SecondEncoder(nn.Module):
    """depth x dense(second_dim, ReLU); concat [z, t]; dense heads mu_u, log sd_u."""

    def __init__(self, latent_dim: int, second_dim: int, depth: int):
        super().__init__()
        self.fcs = nn.ModuleList(_glorot(nn.Linear(latent_dim if i == 0 else second_dim, second_dim))
                                 for i in range(depth))
        width = latent_dim + (second_dim if depth else latent_dim)
        self.mu = _glorot(nn.Linear(width, latent_dim))
        self.logsd = _glorot(nn.Linear(width, latent_dim))

    def forward(self, z: torch.Tensor):
        t = z
        for fc in self.fcs:
            t = F.relu(fc(t))
        t = torch.cat([z, t], dim=-1)
        logsd = self.logsd(t)
        return self.mu(t), logsd.exp(), logsd


class SecondDecoder(nn.Module):
    """depth x dense(second_dim, ReLU); concat [u, t]; dense head z_hat; and log gamma_z."""

    def __init__(self, latent_dim: int, second_dim: int, depth: int):
        super().__init__()
        self.fcs = nn.ModuleList(_glorot(nn.Linear(latent_dim if i == 0 else second_dim, second_dim))
                                 for i in range(depth))
        width = latent_dim + (second_dim if depth else latent_dim)
        self.z_hat = _glorot(nn.Linear(width, latent_dim))
        self.loggamma = nn.Parameter(torch.zeros(()))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        t = u
        for fc in self.fcs:
            t = F.relu(fc(t))
        return self.z_hat(torch.cat([u, t], dim=-1))


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

@register
class TwoStageVAEAdapter(Adapter):
    name = "twostage"
    label = "2Stage-VAE"
    kind = "port"
    source = GitSource(REPO_URL, REPO_COMMIT)   # provenance: the code ported (never run here)
    config_class = TwoStageVAEConfig
    architecture = ("repo's Infogan VAE (stage 1, learned gamma_x; Resnet selectable) + 3x1024 MLP VAE "
                    "(stage 2, learned gamma_z); default profile: the same networks at 16x16")

    def presets(self, profile: str) -> dict:
        if profile == "paper":
            # demo.py defaults (the paper's CIFAR-10 runs): Infogan, latent 64, batch 64,
            # stage 1 400 epochs at lr 1e-4 halved every 150, stage 2 800 epochs at 1e-4 halved
            # every 300; Adam with TF's default betas. CIFAR-10: 781 steps an epoch.
            # num_scale / base_dim: Fig. 16 of arXiv:1903.05789 (the ResNet for non-CelebA data: 3
            # scales from 32 channels); used only with --set model.network=resnet.
            e = CIFAR_STEPS_PER_EPOCH
            return {"model": {"network": "infogan", "latent_dim": 64, "second_dim": 1024, "second_depth": 3,
                              "num_scale": 3, "base_dim": 32, "fc_dim": 512,
                              "stage1_steps": 400 * e, "lr": 1e-4, "lr_steps": 150 * e, "lr_fac": 0.5,
                              "lr2": 1e-4, "lr_steps2": 300 * e, "lr_fac2": 0.5},
                    "train": {"batch_size": 64, "steps": (400 + 800) * e, "betas": [0.9, 0.999],
                              "weight_decay": 0.0}}
        # Default profile (digits 16x16, CPU, <= 3 minutes): the same networks and loss, the
        # repo's halvings at 150/400 and 300/800 of each stage, shrunk to fit the budget: batch
        # 32, 700 + 500 steps, lr 3e-3 (log gamma moves ~lr a step under Adam: at 1e-4 gamma_x
        # would stay near 1 and samples grey blobs).
        s1, s2 = 700, 500
        return {"model": {"network": "infogan", "latent_dim": 64, "second_dim": 1024, "second_depth": 3,
                          "stage1_steps": s1, "lr": 3e-3, "lr_steps": s1 * 150 // 400, "lr_fac": 0.5,
                          "lr2": 3e-3, "lr_steps2": s2 * 300 // 800, "lr_fac2": 0.5},
                "train": {"batch_size": 32, "steps": s1 + s2, "betas": [0.9, 0.999]}}

    def build(self, cfg, image_size: int):
        return TwoStageVAE(cfg.model, image_size)
