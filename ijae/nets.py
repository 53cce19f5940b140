"""The five networks of Appendix D, as decoded in docs/paper-notes.md section 4.

Parameterised by latent size, width (channels; the paper's 128) and image size (32 for CIFAR-10,
64 for TinyImageNet, 16 for the default profile). At the paper's size G has exactly 1,154,179
weights, D_psi 1,053,825 and D_zeta 4,526,273 (tests pin these).

Inputs and outputs: images are float NCHW in [-1, 1]; latents float [B, latent_dim].
Discriminators return raw logits [B] (logit D = log D / (1 - D)).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# Printed weight counts (Appendix D) at latent 128, width 128, 32x32x3.
PAPER_WEIGHTS = {"G": 1_154_179, "E": 6_436_224, "D_psi": 1_053_825, "D_tau": 1_054_081,
                 "D_zeta": 4_526_273}


def n_weights(module: nn.Module) -> int:
    """Learned parameters only (BatchNorm running statistics and fixed noise projections are buffers)."""
    return sum(p.numel() for p in module.parameters())


class InjectNoise(nn.Module):
    """h + Linear(noise_dim -> C)(xi), xi ~ N(0, I), one xi per sample broadcast over space.

    ``learned=False`` keeps the projection fixed (a buffer): the discriminators' weight counts in
    Appendix D only add up without learned Inject Noise layers.
    """

    def __init__(self, channels: int, noise_dim: int, learned: bool = True, init_scale: float = 1.0):
        super().__init__()
        self.noise_dim = noise_dim
        proj = nn.Linear(noise_dim, channels)
        if init_scale != 1.0:  # a quieter start for q(z|x); the projection stays learnable
            with torch.no_grad():
                proj.weight.mul_(init_scale)
        if learned:
            self.proj = proj
        else:
            self.register_buffer("weight", proj.weight.detach().clone())
            self.register_buffer("bias", proj.bias.detach().clone())
            self.proj = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        xi = torch.randn(h.shape[0], self.noise_dim, device=h.device, dtype=h.dtype)
        shift = self.proj(xi) if self.proj is not None else F.linear(xi, self.weight, self.bias)
        return h + shift[:, :, None, None]


class ResBlockDown(nn.Module):
    """ResNet basic block with a strided first conv; 1x1 conv shortcut when shape changes.

    ``norm=True``: bias-free convs + BatchNorm (original ResNet, used by E);
    ``norm=False``: biased convs, no normalisation (the discriminators, as counted in Appendix D).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, norm: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not norm)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=not norm)
        self.bn1 = nn.BatchNorm2d(c_out) if norm else nn.Identity()
        self.bn2 = nn.BatchNorm2d(c_out) if norm else nn.Identity()
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            conv = nn.Conv2d(c_in, c_out, 1, stride, 0, bias=not norm)
            self.shortcut = nn.Sequential(conv, nn.BatchNorm2d(c_out)) if norm else conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + self.shortcut(x))


class ResBlockUp(nn.Module):
    """Nearest x2 upsample; conv3x3 (no bias) -> BN -> ReLU -> conv3x3 (no bias) -> BN; + upsampled x."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + x)


class Generator(nn.Module):
    """Table 4: Linear -> (C, s/8, s/8) -> 3 upsampling residual blocks -> BN, ReLU, conv3x3, tanh."""

    def __init__(self, latent_dim: int = 128, width: int = 128, image_size: int = 32):
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size {image_size}: expected a multiple of 8 (three x2 upsamplings)")
        self.width, self.base = width, image_size // 8
        self.fc = nn.Linear(latent_dim, width * self.base * self.base)
        self.blocks = nn.Sequential(*[ResBlockUp(width) for _ in range(3)])
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, 3, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], self.width, self.base, self.base)
        return self.out(self.blocks(h))


class Encoder(nn.Module):
    """Table 3: implicit q(z|x) = E(x, xi). Four stride-2 residual blocks 3 -> C -> C -> C -> C,
    Inject Noise after the first two and before flatten, ReLU, Linear(C * (s/16)^2 -> latent)."""

    def __init__(self, latent_dim: int = 128, width: int = 128, image_size: int = 32,
                 noise_dim: int | None = None, noise_init: float = 1.0):
        super().__init__()
        if image_size % 16:
            raise ValueError(f"image_size {image_size}: expected a multiple of 16 (four stride-2 blocks)")
        noise_dim = noise_dim or latent_dim
        self.block1 = ResBlockDown(3, width, 2, norm=True)
        self.noise1 = InjectNoise(width, noise_dim, init_scale=noise_init)
        self.block2 = ResBlockDown(width, width, 2, norm=True)
        self.noise2 = InjectNoise(width, noise_dim, init_scale=noise_init)
        self.block3 = ResBlockDown(width, width, 2, norm=True)
        self.block4 = ResBlockDown(width, width, 2, norm=True)
        self.noise3 = InjectNoise(width, noise_dim, init_scale=noise_init)
        self.fc = nn.Linear(width * (image_size // 16) ** 2, latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.noise1(self.block1(x))
        h = self.noise2(self.block2(h))
        h = self.noise3(F.relu(self.block4(self.block3(h))))
        return self.fc(h.flatten(1))


class DiscriminatorTrunk(nn.Module):
    """The shared trunk of D_psi and D_tau (Tables 5, 6): biased residual blocks without
    normalisation, 3 -> C stride 2, C -> C stride 2, two C -> C stride 1, with (unlearned) Inject
    Noise after the first two; ReLU; global average pooling -> [B, C]."""

    def __init__(self, width: int, noise_dim: int, disc_noise: bool, in_channels: int = 3):
        super().__init__()
        self.block1 = ResBlockDown(in_channels, width, 2, norm=False)
        self.block2 = ResBlockDown(width, width, 2, norm=False)
        self.block3 = ResBlockDown(width, width, 1, norm=False)
        self.block4 = ResBlockDown(width, width, 1, norm=False)
        self.noise1 = InjectNoise(width, noise_dim, learned=False) if disc_noise else nn.Identity()
        self.noise2 = InjectNoise(width, noise_dim, learned=False) if disc_noise else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.noise1(self.block1(x))
        h = self.noise2(self.block2(h))
        return F.relu(self.block4(self.block3(h))).mean(dim=(2, 3))


class ImageDiscriminator(nn.Module):
    """D_psi(x), Table 5: trunk -> Linear(C -> 1)."""

    def __init__(self, width: int = 128, noise_dim: int = 128, disc_noise: bool = True):
        super().__init__()
        self.trunk = DiscriminatorTrunk(width, noise_dim, disc_noise)
        self.fc = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.trunk(x)).squeeze(1)


class PairDiscriminator(nn.Module):
    """D_tau(x, z, y), Table 6: x and y side by side (3 x H x 2W), trunk, concat z, Linear(C + latent -> 1).

    ``pairing="stack"`` (a departure, docs/ablations/recon.md) stacks x and y as 6 channels
    instead, so the first convolution already sees each pixel of x beside the same pixel of y.
    """

    def __init__(self, latent_dim: int = 128, width: int = 128, noise_dim: int = 128,
                 disc_noise: bool = True, pairing: str = "side"):
        super().__init__()
        self.pairing = pairing
        self.trunk = DiscriminatorTrunk(width, noise_dim, disc_noise, 6 if pairing == "stack" else 3)
        self.fc = nn.Linear(width + latent_dim, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.trunk(torch.cat([x, y], dim=1 if self.pairing == "stack" else 3))
        return self.fc(torch.cat([h, z], dim=1)).squeeze(1)


class LatentDiscriminator(nn.Module):
    """D_zeta(x, z), Table 7: conv4x4/2 (3 -> C/2), LReLU, conv4x4/2 (C/2 -> C), LReLU, flatten,
    concat z, Linear(-> 4C), LReLU, Linear(4C -> 2C), LReLU, Linear(2C -> 1)."""

    def __init__(self, latent_dim: int = 128, width: int = 128, image_size: int = 32):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(3, width // 2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width // 2, width, 4, 2, 1), nn.LeakyReLU(0.2))
        flat = width * (image_size // 4) ** 2
        self.mlp = nn.Sequential(
            nn.Linear(flat + latent_dim, 4 * width), nn.LeakyReLU(0.2),
            nn.Linear(4 * width, 2 * width), nn.LeakyReLU(0.2),
            nn.Linear(2 * width, 1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([self.convs(x).flatten(1), z], dim=1)).squeeze(1)


def build_networks(model, image_size: int) -> nn.ModuleDict:
    """All five networks for an IJAEConfig ``model`` at ``image_size``."""
    noise_dim = model.noise_dim or model.latent_dim
    return nn.ModuleDict({
        "G": Generator(model.latent_dim, model.width, image_size),
        "E": Encoder(model.latent_dim, model.width, image_size, noise_dim,
                     getattr(model, "encoder_noise_init", 1.0)),
        "D_psi": ImageDiscriminator(model.width, noise_dim, model.disc_noise),
        "D_tau": PairDiscriminator(model.latent_dim, model.width, noise_dim, model.disc_noise,
                                   getattr(model, "tau_pairing", "side")),
        "D_zeta": LatentDiscriminator(model.latent_dim, model.width, image_size),
    })


def weight_table(cfg) -> dict:
    """{"G": {"weights": n, "paper": m}, ...}; "paper" is the Appendix D count (at its own size)."""
    from ijae.data import image_size

    nets = build_networks(cfg.model, image_size(cfg.data))
    return {name: {"weights": n_weights(net), "paper": PAPER_WEIGHTS[name]} for name, net in nets.items()}


def is_paper_size(cfg) -> bool:
    from ijae.data import image_size

    return (cfg.model.latent_dim, cfg.model.width, image_size(cfg.data)) == (128, 128, 32)


def format_weight_table(table: dict, paper_size: bool = True) -> str:
    lines = [f"{'network':<8} {'weights':>12} {'paper':>12}  {'difference' if paper_size else ''}"]
    for name, row in table.items():
        diff = row["weights"] - row["paper"]
        note = ("exact" if diff == 0 else f"{diff:+,d}") if paper_size else ""
        lines.append(f"{name:<8} {row['weights']:>12,d} {row['paper']:>12,d}  {note}")
    if not paper_size:
        lines.append("(this config is not at the paper's size: latent 128, width 128, 32x32; "
                     "'paper' is Appendix D's count at that size)")
    return "\n".join(lines)
