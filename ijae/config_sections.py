"""The sections of a run config, as typed dataclasses with their defaults and checks
(ijae/config.py loads, overrides and dumps them; it re-exports every name here).

Every key has a default (the paper's value where the paper gives one); ``validate`` raises a
:class:`ConfigError` naming the key and what was expected.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from dataclasses import dataclass, field

from ijae import UserError, datasets


class ConfigError(UserError, ValueError):
    """A config key or value is wrong; the message names it and says what was expected."""


def require(ok: bool, key: str, value, expected: str) -> None:
    if not ok:
        raise ConfigError(f"config key {key} = {value!r}: expected {expected}")


@dataclass
class DataConfig:
    dataset: str = "cifar10"          # a registered dataset (ijae/datasets.py): cifar10, digits, stacked_digits, ...
    root: str | None = None           # download / cache folder; null: <work folder>/data
    local_path: str | None = None     # an existing local copy (folder or archive); skips download
    download: bool = True
    image_size: int | None = None     # resize to this; None keeps the dataset's own size
    synthetic_train: int = 512        # sizes of the synthetic dataset (tests)
    synthetic_test: int = 128
    stacked_train: int = 10_000       # images of the stacked splits (stacked_digits, stacked_mnist;
    stacked_test: int = 10_000        # 1,000 modes: about 10 of each), drawn once from the digits'
                                      # (or MNIST's) train / test split
    # the held-out split of the run (export's reconstructions, eval's heldout FID reference):
    # test (Table 1) | validation (tuning, ijae/tune: carved from the train split, which then
    # trains without it; the test split is never loaded)
    split: str = "test"
    validation_fraction: float = 0.2  # the share of the train split carved off as validation

    def validate(self, key: str) -> None:
        require(self.dataset in datasets.names(), f"{key}.dataset", self.dataset,
                f"one of {datasets.names()} (ijae/datasets.py)")
        require(self.split in SPLITS, f"{key}.split", self.split, " or ".join(SPLITS))
        require(0 < self.validation_fraction < 1, f"{key}.validation_fraction",
                self.validation_fraction, "a number in (0, 1)")
        require(self.image_size is None or self.image_size >= 8, f"{key}.image_size", self.image_size,
               "an integer >= 8 or null")
        require(self.synthetic_train > 0, f"{key}.synthetic_train", self.synthetic_train, "> 0")
        require(self.synthetic_test > 0, f"{key}.synthetic_test", self.synthetic_test, "> 0")
        for name in ("stacked_train", "stacked_test"):
            require(getattr(self, name) >= 2, f"{key}.{name}", getattr(self, name), "an integer >= 2")


SPLITS = ("test", "validation")


@dataclass
class IJAEConfig:
    name: str = "ijae"
    variant: str = "implicit"         # implicit | l1 | l2 (the paper's lambda-IJAE-L1 / -L2 ablations)
    lam: float = 0.3                  # weight of the VAE (forward KL) part; docs/paper-notes.md section 1
    latent_dim: int = 128
    width: int = 128                  # channels of every residual block (Appendix D: 128)
    noise_dim: int | None = None      # size of the injected noise xi; None = latent_dim
    disc_noise: bool = True           # Inject Noise in D_psi / D_tau as fixed (unlearned) projections
    likelihood: str = "shift"         # r(y|x): shift (cyclic shifts) | rotation (small rotations)
    shift_max: int | None = None      # S; None = round(5 * image_size / 32), i.e. 5 at 32x32
    shift_fill: str = "roll"          # roll: cyclic (the paper, NOTES) | pad: shift in background (-1)
    tau_mismatch: float = 0.0         # weight of extra D_tau negatives (x, z_q, y ~ r(y|x')), x' != x
    encoder_noise_init: float = 1.0   # scale of E's Inject Noise projections at initialisation
    tau_pairing: str = "side"         # D_tau's input: x, y side by side (Table 6) | stack (6 channels)
    rotation_max_deg: float = 10.0
    rotation_steps: int = 5           # angles k * max / steps, k = -steps..steps, P(k) ∝ 1/(|k|+1)
    sigma_prime: float = 1e-8         # r'(y|x) = N(y | x, sigma' I)
    recon_scale: float = 1.0          # b (Laplace) / sigma (Gaussian) of the l1 / l2 variants
    recon_reduction: str = "sum"      # sum: the log-likelihood proper; mean: per pixel

    def validate(self, key: str) -> None:
        require(self.variant in ("implicit", "l1", "l2"), f"{key}.variant", self.variant,
               "implicit, l1 or l2")
        require(0.0 <= self.lam <= 1.0, f"{key}.lam", self.lam, "a number in [0, 1]")
        for name in ("latent_dim", "width"):
            require(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "a positive integer")
        require(self.noise_dim is None or self.noise_dim > 0, f"{key}.noise_dim", self.noise_dim,
               "a positive integer or null")
        require(self.likelihood in ("shift", "rotation"), f"{key}.likelihood", self.likelihood,
               "shift or rotation")
        require(self.shift_max is None or self.shift_max >= 0, f"{key}.shift_max", self.shift_max,
               "an integer >= 0 or null")
        require(self.shift_fill in ("roll", "pad"), f"{key}.shift_fill", self.shift_fill, "roll or pad")
        require(self.tau_pairing in ("side", "stack"), f"{key}.tau_pairing", self.tau_pairing,
               "side or stack")
        require(self.tau_mismatch >= 0, f"{key}.tau_mismatch", self.tau_mismatch, ">= 0")
        require(self.encoder_noise_init >= 0, f"{key}.encoder_noise_init", self.encoder_noise_init,
               ">= 0")
        require(self.rotation_steps > 0, f"{key}.rotation_steps", self.rotation_steps, "> 0")
        require(self.sigma_prime >= 0, f"{key}.sigma_prime", self.sigma_prime, ">= 0")
        require(self.recon_scale > 0, f"{key}.recon_scale", self.recon_scale, "> 0")
        require(self.recon_reduction in ("sum", "mean"), f"{key}.recon_reduction",
               self.recon_reduction, "sum or mean")


@dataclass
class TrainConfig:
    batch_size: int = 64
    steps: int = 100_000
    d_steps: int = 1                  # discriminator updates per generator / encoder update
    lr_g: float = 1e-4                # Table 2: Adam, lr 1e-4, betas (0.5, 0.9), no weight decay
    lr_e: float = 1e-4
    lr_d: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.9])
    weight_decay: float = 0.0
    checkpoint_every: int = 1000
    # steps whose weights are kept as run folders of their own, RUN/steps/<N>/ (learning curves:
    # export and evaluate them like any run); empty: only the final checkpoint
    snapshot_steps: list[int] = field(default_factory=list)
    log_every: int = 1                # losses are kept per step; this is how often they are flushed
    device: str = "auto"              # auto | cpu | cuda | cuda:N
    bf16: bool = False                # bf16 autocast: CUDA, and CPUs with native bf16 matrix units
                                      # (AMX-BF16 / AVX512-BF16, ijae/accel.py); elsewhere float32
    channels_last: bool = False       # channels_last memory format (CUDA and CPU; default profile: on)
    adam_impl: str = "auto"           # auto | fused | foreach | plain; auto: fused on CUDA, torch's default on CPU
    cuda_graphs: bool = False         # capture the whole lambda-IJAE step in a CUDA graph (CUDA only;
                                      # off until measured on a GPU, see bench/train_step.py)
    compile: str = "none"             # none | default | reduce-overhead: torch.compile each network

    def validate(self, key: str) -> None:
        for name in ("batch_size", "steps", "d_steps", "checkpoint_every", "log_every"):
            require(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "a positive integer")
        for step in self.snapshot_steps:
            require(isinstance(step, int) and 0 < step <= self.steps, f"{key}.snapshot_steps", step,
                    f"a step from 1 to {key}.steps = {self.steps}")
        for name in ("lr_g", "lr_e", "lr_d"):
            value = getattr(self, name)
            require(math.isfinite(value) and value > 0, f"{key}.{name}", value, "a finite number > 0")
        require(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), f"{key}.betas",
               self.betas, "two numbers in [0, 1)")
        require(math.isfinite(self.weight_decay) and self.weight_decay >= 0, f"{key}.weight_decay",
               self.weight_decay, "a finite number >= 0")
        require(self.adam_impl in ADAM_IMPLS, f"{key}.adam_impl", self.adam_impl, " | ".join(ADAM_IMPLS))
        require(self.compile in COMPILE_MODES, f"{key}.compile", self.compile, " | ".join(COMPILE_MODES))
        # inductor's own CUDA graphs would be captured inside the step's graph
        require(not (self.compile == "reduce-overhead" and self.cuda_graphs), f"{key}.compile",
                self.compile, "default or none with train.cuda_graphs=true (reduce-overhead makes "
                "CUDA graphs of its own inside the step's)")
        require(self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda"),
               f"{key}.device", self.device, "auto, cpu, cuda or cuda:N")


ADAM_IMPLS = ("auto", "fused", "foreach", "plain")
COMPILE_MODES = ("none", "default", "reduce-overhead")


@dataclass
class ExportConfig:
    n_samples: int = 50_000           # generated images in samples.npz
    n_reconstructions: int | None = None  # test images reconstructed; None = the whole test split
    batch_size: int = 500

    def validate(self, key: str) -> None:
        require(self.n_samples > 0, f"{key}.n_samples", self.n_samples, "a positive integer")
        require(self.n_reconstructions is None or self.n_reconstructions > 0,
               f"{key}.n_reconstructions", self.n_reconstructions, "a positive integer or null")
        require(self.batch_size > 0, f"{key}.batch_size", self.batch_size, "a positive integer")


@dataclass
class EvalConfig:
    backend: str = "inception"        # inception (IS / FID / LPIPS) | digits (offline profile)
    # FID, KID and precision / recall against: train (the paper's FID reference) | heldout (the
    # run's held-out split, data.split: what tuning selects on)
    fid_reference: str = "train"

    def validate(self, key: str) -> None:
        require(self.backend in ("inception", "digits"), f"{key}.backend", self.backend,
               "inception or digits")
        require(self.fid_reference in FID_REFERENCES, f"{key}.fid_reference", self.fid_reference,
                " or ".join(FID_REFERENCES))


FID_REFERENCES = ("train", "heldout")


@dataclass
class RunConfig:
    profile: str = "paper"
    seed: int = 0
    # provenance only: the preset file the config was built from (`--model`, `--preset`; null:
    # the profile's file alone), and its kind: hand (sized by hand: config/presets/ and the
    # profile's file) | tuned (config/tuned/, written by `ijae tune`)
    preset: str | None = None
    preset_kind: str = "hand"
    data: DataConfig = field(default_factory=DataConfig)
    model: typing.Any = field(default_factory=IJAEConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """sha256 of the resolved config (canonical JSON): the config's identity in metric records."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()
