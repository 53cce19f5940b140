"""Run configuration: typed sections with defaults, YAML in and out, validation, ``--set`` overrides.

A config file is YAML with the sections below; every key has a default here (the paper's values
where the paper gives one), so a file only needs what differs. Loading validates every key and
value and raises :class:`ConfigError` naming the offending key; the resolved config (all keys) is
what a run folder stores.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ijae import UserError, datasets, registry


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


def _coerce(value, hint, key: str):
    """Check ``value`` against a type hint from the dataclasses above; ints pass for floats."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner, key)
    if origin is list:
        (inner,) = typing.get_args(hint)
        require(isinstance(value, (list, tuple)), key, value, "a list")
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        require(isinstance(value, bool), key, value, "true or false")
        return value
    if hint is int:
        require(isinstance(value, int) and not isinstance(value, bool), key, value, "an integer")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads 5e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        require(isinstance(value, (int, float)) and not isinstance(value, bool), key, value, "a number")
        return float(value)
    if hint is str:
        require(isinstance(value, str), key, value, "a string")
        return value
    raise TypeError(f"unsupported type hint {hint!r} for {key}")


def build_section(cls: type, values, key: str):
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and ill-typed values."""
    values = {} if values is None else values
    require(isinstance(values, dict), key, values, "a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"unknown config key {key}.{unknown[0]}; {key} takes: {', '.join(names)}")
    section = cls(**{k: _coerce(v, hints[k], f"{key}.{k}") for k, v in values.items()})
    section.validate(key)
    return section


PRESET_KINDS = ("hand", "tuned")
SECTIONS = {"data": DataConfig, "train": TrainConfig, "export": ExportConfig, "eval": EvalConfig}


def from_dict(raw: dict) -> RunConfig:
    require(isinstance(raw, dict), "(top level)", raw, "a mapping of sections")
    top = [f.name for f in dataclasses.fields(RunConfig)]
    unknown = sorted(set(raw) - set(top))
    if unknown:
        raise ConfigError(f"unknown config key {unknown[0]}; the top level takes: {', '.join(top)}")
    model_raw = dict(raw.get("model") or {})
    name = model_raw.get("name", "ijae")
    names = registry.registered_names()
    require(name in names, "model.name", name, f"one of {names}")
    preset_kind = _coerce(raw.get("preset_kind", "hand"), str, "preset_kind")
    require(preset_kind in PRESET_KINDS, "preset_kind", preset_kind, " | ".join(PRESET_KINDS))
    cfg = RunConfig(
        profile=_coerce(raw.get("profile", "paper"), str, "profile"),
        seed=_coerce(raw.get("seed", 0), int, "seed"),
        preset=_coerce(raw.get("preset"), str | None, "preset"),
        preset_kind=preset_kind,
        model=build_section(registry.get_adapter(name).config_class, model_raw, "model"),
        **{k: build_section(cls, raw.get(k), k) for k, cls in SECTIONS.items()},
    )
    return cfg


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``key.sub=value`` strings; values are parsed as YAML (0.3, true, null, [0.5, 0.9])."""
    raw = json.loads(json.dumps(raw))  # deep copy of plain data
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. model.lam=0.3")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            require(isinstance(node, dict), key, text, "a key inside a section")
        try:
            node[parts[-1]] = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({_one_line(error)}); "
                              "quote lists and strings whole, e.g. --set 'model.lam=[0.3, 0.7]'") from None
    return raw


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def read_yaml(path: Path) -> dict:
    """A YAML mapping from ``path``; a missing, unreadable or malformed file is a one-line
    ConfigError naming it."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {path} is not a text file ({error.reason} at byte "
                          f"{error.start}); pass a YAML config such as config/default.yaml") from None
    except OSError as error:
        raise ConfigError(f"config file {path} cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML ({_one_line(error)}); fix it "
                          "there") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} holds a {type(raw).__name__}, expected a mapping "
                          "of sections (model:, data:, train:, ...)")
    return raw


def load(path: str | Path, overrides: list[str] | None = None, model: str | None = None,
         preset: str | Path | None = None) -> RunConfig:
    """Load a config file; ``model`` swaps in another method with its preset for the file's
    profile, ``preset`` names the preset file instead (a tuned one: config/tuned/, see
    :func:`with_model`); ``overrides`` apply last."""
    path = Path(path)
    raw = read_yaml(path)
    own = (raw.get("model") or {}).get("name", "ijae")
    if preset is not None or (model is not None and model != own):
        raw = with_model(raw, model or own, preset)
    return from_dict(apply_overrides(raw, overrides or []))


# Presets: config/presets/<profile>/<model>.yaml (found from the package, not the working
# directory): the sections ``--model NAME`` puts over a profile's config file. Tuned presets
# (``ijae tune``: config/tuned/<profile>/<dataset>/<study>.yaml) have the same sections and a
# TUNED block of provenance, which is dropped when the preset is applied.
REPO = Path(__file__).resolve().parents[1]


def config_root() -> Path:
    """The profiles and presets: this checkout's config/ (the source tree, an editable install),
    else the copy a non-editable install carries as package data (ijae._config, pyproject.toml);
    without either a model would train on the class defaults (paper-size networks) unnoticed."""
    source = REPO / "config"
    if (source / "presets").is_dir():
        return source
    from importlib.resources import files

    return Path(str(files("ijae") / "_config"))


PRESETS = config_root() / "presets"
TUNED = "tuned"


def _shown_path(path: Path) -> str:
    """``path`` relative to this repository when inside it (records hold no checkout path)."""
    full = path.resolve()
    return full.relative_to(REPO).as_posix() if REPO in full.parents else str(path)


def load_preset(profile: str, model: str, path: str | Path | None = None) -> dict:
    """Model ``model``'s preset for ``profile``: the file ``path``, else
    config/presets/<profile>/<model>.yaml ({} when it has none), validated like a config: a bad
    key or value is a ConfigError naming the file and the key. A named file must exist; a tuned
    one must have been tuned for ``model``. The TUNED block stays in the returned mapping."""
    named = path is not None
    path = Path(path) if named else PRESETS / profile / f"{model}.yaml"
    if not path.is_file():
        if named:
            raise ConfigError(f"preset {path} does not exist (tuned presets are written by "
                              "`ijae tune` / `snakemake tune`)")
        if model in registry.shipped_names() and model != "ijae":
            raise ConfigError(f"model {model} has no preset {path} for profile {profile}: the "
                              "harness ships one for every profile and model (a broken install? "
                              "reinstall, or pass --preset FILE)")
        return {}   # a third-party plugin without one: the config class's defaults
    try:
        preset = read_yaml(path)
        tuned = preset.get(TUNED)
        require(tuned is None or isinstance(tuned, dict), TUNED, tuned, "a mapping of provenance")
        if tuned is not None:
            require(tuned.get("model") == model, f"{TUNED}.model", tuned.get("model"),
                    f"{model} (a preset tuned for another model)")
        model_section = preset.get("model") or {}
        require(isinstance(model_section, dict), "model", model_section, "a mapping")
        require("name" not in model_section, "model.name", model_section.get("name"),
                f"no name (the file name gives it: {model})")
        sections = {k: v for k, v in preset.items() if k != TUNED}
        from_dict({**sections, "profile": profile, "model": {**model_section, "name": model}})
    except ConfigError as error:
        raise ConfigError(f"preset {path}: {_one_line(error)}") from None
    return preset


def with_model(raw: dict, model: str, preset: str | Path | None = None) -> dict:
    """``raw`` with model ``model`` and its preset for ``raw``'s profile (``preset``: that file
    instead). For another model than the file's, the preset's model section replaces the file's;
    for the file's own model (λ-IJAE's tuned presets) it updates it. The other sections update
    the file's. The config records which preset it was built from (``preset``, ``preset_kind``)."""
    registry.get_adapter(model)  # an unknown name is named here, before the preset is looked up
    values = load_preset(raw.get("profile", "paper"), model, preset)
    own = (raw.get("model") or {}).get("name", "ijae")
    base = dict(raw.get("model") or {}) if model == own else {}
    raw = {**raw, "model": {**base, "name": model, **(values.get("model") or {})}}
    for section, items in values.items():
        if section not in ("model", TUNED):
            raw[section] = {**(raw.get(section) or {}), **items}
    if values or preset is not None:
        path = Path(preset) if preset is not None else PRESETS / raw.get("profile", "paper") / f"{model}.yaml"
        raw["preset"] = _shown_path(path)
        raw["preset_kind"] = "tuned" if TUNED in values else "hand"
    return raw


def dump(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def resolved_shift_max(model: IJAEConfig, image_size: int) -> int:
    """S of r(y|x): the paper's 5 pixels at 32x32, scaled with the image size unless set."""
    if model.shift_max is not None:
        return model.shift_max
    return int(5 * image_size / 32 + 0.5)
