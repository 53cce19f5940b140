"""2Stage-VAE's networks, ported from the authors' TensorFlow code (github.com/daib13/TwoStageVAE,
network/two_stage_vae_model.py and network/util.py; see baselines/twostage.py for the model):
TF "SAME" convolutions, util.py's initialisations and batch norm (zero-debiased moving averages), stage 1's Infogan and Resnet
encoder / decoder pairs, and stage 2's MLPs.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

BN_DECAY = 0.999        # util.batch_norm: assign_moving_average(..., decay=0.999)
BN_EPS = 1e-5


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


class ZeroDebiasedBatchNorm(nn.Module):
    """util.batch_norm: batch statistics in training (biased variance, tf.nn.moments), moving
    averages in inference, kept by TF's ``assign_moving_average`` with its default
    ``zero_debias=True``: a hidden average started at zero, ``biased = d * biased + (1 - d) * stat``,
    divided by ``1 - d ** k`` after k updates. So the moving mean and variance are the batch
    statistics' decay-weighted average from the first update on, never a blend with the initial
    0 / 1 (which, with d = 0.999, PyTorch's BatchNorm would still hold half of after 700 steps).

    Over [B, C, H, W] (statistics per channel) or [B, C]. ``weight`` / ``bias`` are gamma / beta;
    ``running_mean`` / ``running_var`` the debiased averages used in eval mode; ``biased_mean`` /
    ``biased_var`` and ``num_batches_tracked`` (k) TF's hidden variables."""

    def __init__(self, num_features: int, eps: float = BN_EPS, decay: float = BN_DECAY):
        super().__init__()
        self.eps, self.decay = eps, decay
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("biased_mean", torch.zeros(num_features))
        self.register_buffer("biased_var", torch.zeros(num_features))
        self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = [0, 2, 3] if x.dim() == 4 else [0]
        if self.training:
            var, mean = torch.var_mean(x, dim=dims, correction=0)
            with torch.no_grad():
                self._update(mean.detach(), var.detach())
        else:
            mean, var = self.running_mean, self.running_var
        shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
        scale = self.weight * torch.rsqrt(var + self.eps)
        return x * scale.view(shape) + (self.bias - mean * scale).view(shape)

    def _update(self, mean: torch.Tensor, var: torch.Tensor) -> None:
        step = 1.0 - self.decay  # what assign_moving_average hands _zero_debias as "decay"
        self.biased_mean.sub_((self.biased_mean - mean) * step)
        self.biased_var.sub_((self.biased_var - var) * step)
        self.num_batches_tracked.add_(1)
        bias_factor = 1.0 - self.decay ** self.num_batches_tracked.to(mean.dtype)  # no host copy
        torch.div(self.biased_mean, bias_factor, out=self.running_mean)
        torch.div(self.biased_var, bias_factor, out=self.running_var)

    def extra_repr(self) -> str:
        return f"{self.weight.numel()}, eps={self.eps}, decay={self.decay}, zero_debias=True"


def bn2d(c: int) -> ZeroDebiasedBatchNorm:
    return ZeroDebiasedBatchNorm(c)


def bn1d(c: int) -> ZeroDebiasedBatchNorm:
    return ZeroDebiasedBatchNorm(c)


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

    def __init__(self, cfg, image_size: int, channels: int = 3):  # cfg: a TwoStageVAEConfig
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

    def __init__(self, cfg, image_size: int, channels: int = 3):  # cfg: a TwoStageVAEConfig
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
