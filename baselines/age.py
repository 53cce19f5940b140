"""AGE, Adversarial Generator-Encoder Networks (Ulyanov, Vedaldi & Lempitsky, AAAI 2018): the
authors' code (github.com/DmitryUlyanov/AGE, pinned below), imported from a clone at run time.

From the clone: the networks (``models/dcgan32px.py`` / ``dcgan64px.py`` with ``models/base.py``:
E ends with a projection onto the unit sphere), their initialisation (``src/utils.weights_init``),
the losses (``src/losses.KLN01Loss``, ``src/utils.match``) and the latent prior (N(0, I) projected
onto the sphere, ``--noise sphere``). The training loop of ``age.py`` is restated here per step
(it is a script, not importable): ``e_updates`` encoder updates, each on a fresh batch, of
``KL_real * KL(e(x)) - KL_fake * KL(e(g(z))) + match_x * |g(e(x)) - x| (+ match_z * cos(e(g(z)), z))``,
then ``g_updates`` generator updates of ``KL_fake * KL(e(g(z))) + match_z * cos(e(g(z)), z)
(+ match_x * |g(e(x)) - x|)``; Adam (lr, betas (beta1, 0.999)) for each network; the learning rate
halves every ``drop_lr`` epochs (``model.lr_drop_steps``: the steps after which it halves). The
update plans use age.py's syntax, e.g. ``'1;KL_fake:1,KL_real:1,match_z:0,match_x:10'``.

Shims for today's PyTorch, in memory only (the clone's files are never edited):
- ``src.utils.normalize`` / ``normalize_`` compute ``x.norm(2, dim)`` without keepdim and expand it
  to x's shape, which PyTorch >= 0.2 rejects ([B] against [B, nz]); they are replaced by the same
  projection with ``keepdim=True`` (the code's evident intent and PyTorch 0.1's behaviour).
- latents are kept as [B, nz] (age.py used [B, nz, 1, 1]; G reshapes them itself), so that
  ``match(e(g(z)), z, 'cos')`` compares corresponding codes instead of broadcasting [B, nz]
  against [B, nz, 1, 1] to [B, nz, B, nz] as today's broadcasting rules would.
- E and G are built with ``ngpu = 0`` (no ``nn.parallel.data_parallel``; the harness places them).

Image size: dcgan32px works at 32x32 (dcgan64px at 64x64; ``model.net: auto``, the paper
profile's, picks the one of the data's size). On data of another size (the default
profile's 16x16 digits) batches are resized bilinearly to the network's size on the way in and
G's outputs resized back (bilinear, antialiased) on the way out, so the exported artifacts stay
at the data's size; training then happens on the upsampled images.

Pretrained mode (``model.pretrained: true``): baselines/age_weights.py.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.age_weights import RELEASED, write_pretrained_run
from baselines.upstream import GitSource, import_isolated
from ijae.adapter import Adapter
from ijae.config import ConfigError, require

SOURCE = GitSource("https://github.com/DmitryUlyanov/AGE", "46979476a598233d520549f90d28af49ad535570",
                   env="IJAE_SOURCE_AGE")
NET_SIZE = {"dcgan32px": 32, "dcgan64px": 64}
NET_AUTO = "auto"   # the network of the data's size: dcgan64px above 32 px, else dcgan32px
E_TERMS = ("KL_fake", "KL_real", "match_z", "match_x")
G_TERMS = ("KL_fake", "match_z", "match_x")
DISTANCES = ("L1", "L2", "cos")


def parse_updates(text: str, terms: tuple[str, ...], key: str = "updates") -> dict:
    """age.py's update plan ``'<n>;term:weight,...'`` -> {"num_updates": n, term: weight}."""
    try:
        count, _, rest = text.partition(";")
        plan = {"num_updates": int(count)}
        for item in rest.split(","):
            term, weight = item.split(":")
            plan[term.strip()] = float(weight)
    except ValueError:
        raise ConfigError(f"config key {key} = {text!r}: expected '<n>;term:weight,...' as in age.py, "
                        f"e.g. '1;{','.join(t + ':1' for t in terms)}'") from None
    unknown = sorted(set(plan) - {"num_updates", *terms})
    missing = [t for t in terms if t not in plan]
    if unknown or missing or plan["num_updates"] < 0:
        raise ConfigError(f"config key {key} = {text!r}: needs a count >= 0 and exactly the terms "
                        f"{', '.join(terms)} (unknown: {unknown}, missing: {missing})")
    return plan


@dataclass
class AGEConfig:
    name: str = "age"
    net: str = "dcgan32px"            # --netG / --netE: a file of the clone's models/, or auto
    latent_dim: int = 128             # --nz
    ngf: int = 64                     # --ngf
    ndf: int = 64                     # --ndf
    noise: str = "sphere"             # --noise: sphere (N(0, I) projected on the sphere) | normal
    kl: str = "qp"                    # --KL: qp | pq (the parametric criterion, --criterion param)
    match_z: str = "cos"              # --match_z: L1 | L2 | cos
    match_x: str = "L1"               # --match_x: L1 | L2 | cos
    e_updates: str = "1;KL_fake:1,KL_real:1,match_z:0,match_x:10"   # README's CIFAR-10 plan
    g_updates: str = "2;KL_fake:1,match_z:1000,match_x:0"
    lr_drop_steps: list[int] = field(default_factory=list)  # steps after which the lr halves
    pretrained: bool = False          # load the released weights instead of training
    pretrained_set: str = "cifar10"   # which released pair (RELEASED)
    pretrained_path: str | None = None  # local folder with cifar10_e.pth / cifar10_g.pth
    pretrained_sha_check: bool = True  # false: load released files whose git blob SHA-1 is not the pinned one
    source_path: str | None = None    # local clone / bare mirror of the upstream repository

    def validate(self, key: str) -> None:
        require(self.net in NET_SIZE or self.net == NET_AUTO, f"{key}.net", self.net,
                f"one of {sorted(NET_SIZE)} or {NET_AUTO}")
        for name in ("latent_dim", "ngf", "ndf"):
            require(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "a positive integer")
        require(self.noise in ("sphere", "normal"), f"{key}.noise", self.noise, "sphere or normal")
        require(self.kl in ("qp", "pq"), f"{key}.kl", self.kl, "qp or pq")
        for name in ("match_z", "match_x"):
            require(getattr(self, name) in DISTANCES, f"{key}.{name}", getattr(self, name),
                   f"one of {DISTANCES}")
        parse_updates(self.e_updates, E_TERMS, f"{key}.e_updates")
        parse_updates(self.g_updates, G_TERMS, f"{key}.g_updates")
        require(all(s > 0 for s in self.lr_drop_steps), f"{key}.lr_drop_steps", self.lr_drop_steps,
               "a list of positive step numbers")
        require(self.pretrained_set in RELEASED, f"{key}.pretrained_set", self.pretrained_set,
               f"one of {sorted(RELEASED)}")


# ---- the upstream code, imported from the clone -----------------------------------------------

_UPSTREAM: dict[str, dict] = {}


def _normalize(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """src.utils.normalize with keepdim (see the module docstring)."""
    return x.div(x.norm(2, dim=dim, keepdim=True).expand_as(x))


def _normalize_(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    return x.div_(x.norm(2, dim=dim, keepdim=True).expand_as(x))


def upstream(root: Path) -> dict:
    """The clone's modules by dotted name, shimmed (see the module docstring); cached."""
    key = str(Path(root).resolve())
    if key not in _UPSTREAM:
        mods = import_isolated(root, "src.utils", "src.losses", "models.base",
                               *(f"models.{n}" for n in NET_SIZE))
        mods["src.utils"].normalize = _normalize       # models.base looks it up at call time
        mods["src.utils"].normalize_ = _normalize_
        _UPSTREAM[key] = mods
    return _UPSTREAM[key]


def network_for(net: str, image_size: int) -> str:
    """``net``, with ``auto`` resolved to the clone's network for ``image_size`` (the paper
    profile: dcgan32px on CIFAR-10, dcgan64px on TinyImageNet; upstream's README trains
    dcgan64px at 64 px)."""
    if net != NET_AUTO:
        return net
    return "dcgan64px" if image_size > NET_SIZE["dcgan32px"] else "dcgan32px"


def build_networks(mods: dict, m: AGEConfig, net: str | None = None) -> tuple[nn.Module, nn.Module]:
    """(E, G) as age.py's load_E / load_G build them (weights_init, no checkpoint); ``net``: the
    resolved network (default ``m.net``)."""
    opt = types.SimpleNamespace(nz=m.latent_dim, ngf=m.ngf, ndf=m.ndf, nc=3, ngpu=0, noise=m.noise)
    nets = mods[f"models.{net or m.net}"]
    E, G = nets._netE(opt), nets._netG(opt)
    E.apply(mods["src.utils"].weights_init)
    G.apply(mods["src.utils"].weights_init)
    return E, G


class AGE(nn.Module):
    """The trainable model (ijae/train.py protocol) around the clone's E, G and losses."""

    def __init__(self, m: AGEConfig, image_size: int, mods: dict):
        super().__init__()
        net = network_for(m.net, image_size)
        self.cfg, self.image_size, self.net, self.net_size = m, image_size, net, NET_SIZE[net]
        self.E, self.G = build_networks(mods, m, net)
        losses = mods["src.losses"]
        self.kl_min = losses.KLN01Loss(direction=m.kl, minimize=True)
        self.kl_max = losses.KLN01Loss(direction=m.kl, minimize=False)
        self._match, self._normalize = mods["src.utils"].match, mods["src.utils"].normalize
        self.e_plan = parse_updates(m.e_updates, E_TERMS)
        self.g_plan = parse_updates(m.g_updates, G_TERMS)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))  # for the lr schedule
        self.batch_size = 64
        self.base_lr: dict[str, float] = {}

    # ---- sizes and the prior ------------------------------------------------------------------

    def to_net(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == self.net_size:
            return x
        return F.interpolate(x, size=(self.net_size, self.net_size), mode="bilinear", align_corners=False)

    def from_net(self, y: torch.Tensor) -> torch.Tensor:
        if y.shape[-1] == self.image_size:
            return y
        return F.interpolate(y, size=(self.image_size, self.image_size), mode="bilinear",
                             antialias=True, align_corners=False).clamp(-1, 1)

    def prior(self, n: int, like: torch.Tensor) -> torch.Tensor:
        """age.py's populate_z: N(0, I), projected on the unit sphere for --noise sphere."""
        z = torch.randn(n, self.cfg.latent_dim, device=like.device, dtype=torch.float32)
        return self._normalize(z) if self.cfg.noise == "sphere" else z

    # ---- the trainable-model protocol -----------------------------------------------------------

    def make_optimizers(self, t) -> dict[str, torch.optim.Optimizer]:
        """age.py: Adam(lr, betas=(beta1, 0.999)) for E and for G (train.lr_e / lr_g, train.betas)."""
        self.batch_size = t.batch_size
        self.base_lr = {"E": t.lr_e, "G": t.lr_g}
        return {n: torch.optim.Adam(getattr(self, n).parameters(), lr=self.base_lr[n],
                                    betas=tuple(t.betas), weight_decay=t.weight_decay) for n in ("E", "G")}

    @property
    def loss_names(self) -> list[str]:
        names = ["e_kl_real", "e_kl_fake"]
        names += [f"e_{t}" for t in ("match_x", "match_z") if self.e_plan[t] != 0]
        names += ["g_kl_fake"] + [f"g_{t}" for t in ("match_z", "match_x") if self.g_plan[t] != 0]
        return names + ["loss_e", "loss_g"]

    def _set_lr(self, optimizers) -> None:
        drops = sum(int(self.step) > s for s in self.cfg.lr_drop_steps)
        for name, opt in optimizers.items():
            for group in opt.param_groups:
                group["lr"] = self.base_lr.get(name, group["lr"]) * 0.5 ** drops

    def train_step(self, next_batch, optimizers, autocast, d_steps: int = 1) -> dict[str, torch.Tensor]:
        """One iteration of age.py's loop: the e_updates, then the g_updates (``d_steps`` unused)."""
        self.step += 1
        self._set_lr(optimizers)
        m, E, G, w = self.cfg, self.E, self.G, self.e_plan
        logs: dict[str, torch.Tensor] = {}
        G.requires_grad_(False)
        E.requires_grad_(True)
        for _ in range(w["num_updates"]):
            optimizers["E"].zero_grad(set_to_none=True)
            x = self.to_net(next_batch())
            with autocast():
                ex = E(x)
                kl_real = self.kl_min(ex)                       # KL_real -> min_e
                terms = [kl_real * w["KL_real"]]
                if w["match_x"] != 0:
                    logs["e_match_x"] = self._match(G(ex), x, m.match_x)
                    terms.append(logs["e_match_x"] * w["match_x"])
                z = self.prior(x.shape[0], x)
                with torch.no_grad():
                    fake = G(z)
                egz = E(fake)
                kl_fake = self.kl_max(egz)                      # -KL_fake -> min_e
                terms.append(kl_fake * w["KL_fake"])
                if w["match_z"] != 0:
                    logs["e_match_z"] = self._match(egz, z, m.match_z)
                    terms.append(logs["e_match_z"] * w["match_z"])
                loss_e = sum(terms)
            loss_e.backward()
            optimizers["E"].step()
            logs.update(e_kl_real=kl_real.detach(), e_kl_fake=-kl_fake.detach(), loss_e=loss_e.detach())
        G.requires_grad_(True)
        E.requires_grad_(False)  # E's gradients would be discarded: age.py zeroes them before use
        g = self.g_plan
        for _ in range(g["num_updates"]):
            optimizers["G"].zero_grad(set_to_none=True)
            like = next(G.parameters())
            z = self.prior(self.batch_size, like)
            with autocast():
                egz = E(G(z))
                kl_fake_g = self.kl_min(egz)                    # KL_fake -> min_g
                terms = [kl_fake_g * g["KL_fake"]]
                if g["match_z"] != 0:
                    logs["g_match_z"] = self._match(egz, z, m.match_z)
                    terms.append(logs["g_match_z"] * g["match_z"])
                if g["match_x"] != 0:
                    x = self.to_net(next_batch())
                    logs["g_match_x"] = self._match(G(E(x)), x, m.match_x)
                    terms.append(logs["g_match_x"] * g["match_x"])
                loss_g = sum(terms)
            loss_g.backward()
            optimizers["G"].step()
            logs.update(g_kl_fake=kl_fake_g.detach(), loss_g=loss_g.detach())
        E.requires_grad_(True)
        zero = torch.zeros((), device=self.step.device)  # a term whose update count is 0 (on the
        # model's device: a CPU zero beside CUDA losses made the loss log's stack fail)
        return {k: logs.get(k, zero).detach().float() for k in self.loss_names}

    @torch.no_grad()
    def sample(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return self.from_net(self.G(self.prior(n, like)))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_net(self.G(self.E(self.to_net(x))))


# ---- the adapter ------------------------------------------------------------------------------

class AGEAdapter(Adapter):
    name = "age"
    label = "AGE"
    kind = "upstream"
    source = SOURCE
    config_class = AGEConfig
    architecture = ("upstream dcgan32px E (4 convs, output on the unit sphere) and G (4 deconvs), "
                    "nz 128; default profile: ngf = ndf = 16, 16x16 digits resized to 32x32 in and "
                    "G's 32x32 output back to 16x16")

    def build(self, cfg, image_size: int):
        return AGE(cfg.model, image_size, upstream(SOURCE.checkout(cfg)))

    def train(self, cfg, run: Path, resume: bool = False) -> Path:
        if not cfg.model.pretrained:
            return super().train(cfg, run, resume=resume)
        return write_pretrained_run(self, cfg, Path(run), resume)
