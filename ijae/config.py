"""Run configuration: typed sections with defaults, YAML in and out, validation, ``--set`` overrides.

A config file is YAML with the sections of ijae/config_sections.py; every key has a default (the paper's values
where the paper gives one), so a file only needs what differs. Loading validates every key and
value and raises :class:`ConfigError` naming the offending key; the resolved config (all keys) is
what a run folder stores.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path

import yaml

from ijae import registry
# the sections (ijae/config_sections.py), re-exported: callers name them through this module
from ijae.config_sections import (ADAM_IMPLS, COMPILE_MODES, FID_REFERENCES, SPLITS,  # noqa: F401
                                  ConfigError, DataConfig, EvalConfig, ExportConfig, IJAEConfig,
                                  RunConfig, TrainConfig, require)


def _coerce(value, hint, key: str):
    """Check ``value`` against a type hint of a section's dataclass; ints pass for floats."""
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
    return from_dict(merged(path, overrides, model, preset))


def merged(path: str | Path, overrides: list[str] | None = None, model: str | None = None,
           preset: str | Path | None = None, check: bool = True) -> dict:
    """The raw mapping :func:`load` validates: the file, the model's preset over it, then the
    overrides: the one precedence of a run's settings. ``check=False`` neither looks the model
    up nor validates its preset (no plugin is imported: the workflow's plan, ijae/plan.py)."""
    raw = read_yaml(Path(path))
    own = (raw.get("model") or {}).get("name", "ijae")
    if preset is not None or (model is not None and model != own):
        raw = with_model(raw, model or own, preset, check=check)
    return apply_overrides(raw, overrides or [])


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


def with_model(raw: dict, model: str, preset: str | Path | None = None, check: bool = True) -> dict:
    """``raw`` with model ``model`` and its preset for ``raw``'s profile (``preset``: that file
    instead). For another model than the file's, the preset's model section replaces the file's;
    for the file's own model (λ-IJAE's tuned presets) it updates it. The other sections update
    the file's. The config records which preset it was built from (``preset``, ``preset_kind``)."""
    if check:
        registry.get_adapter(model)  # an unknown name is named here, before the preset is looked up
        values = load_preset(raw.get("profile", "paper"), model, preset)
    else:
        path = Path(preset) if preset is not None else PRESETS / raw.get("profile", "paper") / f"{model}.yaml"
        values = (read_yaml(path) if path.is_file() else {}) or {}
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
