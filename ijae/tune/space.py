"""A study's search space: a short YAML beside the model's hand-sized preset,
``config/presets/<profile>/<study>.space.yaml``, read and checked here.

    model: ijae            # the model (`ijae models`); default: the file's stem
    fixed:                 # set in every trial: the study's variant, its compute per trial
      model.variant: l1
      train.steps: 1200
    params:                # name: range; keys: the config keys it sets (default: [the name])
      train.lr_d: {low: 1.0e-4, high: 2.0e-3, log: true}
      lr_ge: {low: 5.0e-5, high: 1.0e-3, log: true, keys: [train.lr_g, train.lr_e]}
      beta1: {low: 0.0, high: 0.9, keys: [train.betas.0]}     # .0: a list's first element
      model.shift_max: {low: 0, high: 3, int: true}
      model.tau_pairing: {choices: [stack, side]}

A key is a dotted path into the run config (a number picks a list element). Every key must reach
the model's config: :func:`check` builds the trial config at every range's ends and at the
hand-sized values and reads each key back, so an unknown key, a range the config refuses, or a
space that does not hold the hand-sized value (trial 0, so tuning can only match or improve on
it) is one line naming it (:class:`SpaceError`). Plain YAML on configs; no Optuna here.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ijae import UserError
from ijae import config as config_mod

SPACE_SUFFIX = ".space.yaml"
PARAM_FIELDS = ("low", "high", "log", "int", "choices", "keys")
TOP_FIELDS = ("model", "fixed", "params")


class SpaceError(UserError, ValueError):
    """A search space is wrong; the message names the file, the parameter and what was expected."""


@dataclass(frozen=True)
class Param:
    name: str
    keys: tuple[str, ...]
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple | None = None

    def describe(self) -> str:
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        scale = "log-uniform" if self.log else "uniform"
        return f"{'integer ' if self.integer else ''}{scale} in [{self.low:g}, {self.high:g}]"

    def contains(self, value) -> bool:
        if self.choices is not None:
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and value != int(value):
            return False
        return self.low - 1e-12 * abs(self.low) <= value <= self.high + 1e-12 * abs(self.high)

    def draw(self, rng: np.random.Generator):
        """One value at random: uniform, log-uniform, a uniform integer or a uniform choice."""
        if self.choices is not None:
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.integer:
            if self.log:
                value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
                return int(min(math.floor(value), self.high))
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class Space:
    path: Path
    study: str                     # the file's stem: the study's name within (profile, dataset)
    model: str
    fixed: dict
    params: tuple[Param, ...]

    def overrides(self, values: dict) -> dict:
        """Config key -> value for a trial: the fixed settings, then each parameter's value on
        every one of its keys."""
        out = dict(self.fixed)
        for p in self.params:
            for key in p.keys:
                out[key] = values[p.name]
        return out

    def digest(self) -> str:
        """What the space says (not how the file is laid out): part of the study's identity."""
        blob = json.dumps({"model": self.model, "fixed": self.fixed,
                           "params": [vars(p) for p in self.params]}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def study_of(path: str | Path) -> str:
    name = Path(path).name
    return name[:-len(SPACE_SUFFIX)] if name.endswith(SPACE_SUFFIX) else Path(path).stem


def space_path(profile: str, study: str) -> Path:
    """The search space of ``study`` beside the hand-sized presets of ``profile``."""
    return config_mod.PRESETS / profile / f"{study}{SPACE_SUFFIX}"


def _param(path: Path, name: str, spec) -> Param:
    where = f"search space {path}: parameter {name}"
    if not isinstance(spec, dict):
        raise SpaceError(f"{where}: expected a mapping such as {{low: 1.0e-4, high: 1.0e-3, log: true}}")
    unknown = sorted(set(spec) - set(PARAM_FIELDS))
    if unknown:
        raise SpaceError(f"{where}: unknown field {unknown[0]!r}; a parameter takes "
                         f"{', '.join(PARAM_FIELDS)}")
    keys = spec.get("keys", [name])
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise SpaceError(f"{where}: keys = {keys!r}; expected a list of config keys, e.g. "
                         "[train.lr_g, train.lr_e]")
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) & {"low", "high", "log", "int"}:
            raise SpaceError(f"{where}: choices and a range (low / high / log / int) together; "
                             "give one of them")
        if not isinstance(choices, list) or len(choices) < 2 or \
                not all(c is None or isinstance(c, (str, int, float, bool)) for c in choices):
            raise SpaceError(f"{where}: choices = {choices!r}; expected a list of two or more "
                             "numbers, strings, booleans or nulls")
        return Param(name, tuple(keys), choices=tuple(choices))
    low, high = spec.get("low"), spec.get("high")
    for label, value in (("low", low), ("high", high)):
        if isinstance(value, str):
            try:
                value = float(value)   # YAML 1.1 reads 1e-4 (no dot) as a string
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SpaceError(f"{where}: {label} = {spec.get(label)!r}; expected a finite number")
        if label == "low":
            low = value
        else:
            high = value
    log, integer = spec.get("log", False), spec.get("int", False)
    if not isinstance(log, bool) or not isinstance(integer, bool):
        raise SpaceError(f"{where}: log and int take true or false")
    if not low < high:
        raise SpaceError(f"{where}: low = {low:g} is not below high = {high:g}")
    if log and low <= 0:
        raise SpaceError(f"{where}: a log range needs low > 0 (got {low:g})")
    if integer and (low != int(low) or high != int(high)):
        raise SpaceError(f"{where}: an integer range needs integer ends (got {low:g}, {high:g})")
    return Param(name, tuple(keys), float(low), float(high), log, integer)


def read_space(path: str | Path) -> Space:
    """The search space in ``path``; anything wrong is a :class:`SpaceError` naming it."""
    path = Path(path)
    try:
        raw = config_mod.read_yaml(path)
    except config_mod.ConfigError as error:
        raise SpaceError(f"search space {str(error).removeprefix('config file ')}") from None
    unknown = sorted(set(raw) - set(TOP_FIELDS))
    if unknown:
        raise SpaceError(f"search space {path}: unknown section {unknown[0]!r}; a space takes "
                         f"{', '.join(TOP_FIELDS)}")
    study = study_of(path)
    model = raw.get("model", study)
    if not isinstance(model, str):
        raise SpaceError(f"search space {path}: model = {model!r}; expected a model name")
    fixed = raw.get("fixed") or {}
    params = raw.get("params") or {}
    if not isinstance(fixed, dict) or not isinstance(params, dict):
        raise SpaceError(f"search space {path}: fixed and params must be mappings (key: value)")
    if not params:
        raise SpaceError(f"search space {path}: no params: nothing to search")
    parsed = tuple(_param(path, str(name), spec) for name, spec in params.items())
    seen = {}
    for p in parsed:
        for key in p.keys:
            if key in seen or key in fixed:
                other = seen.get(key, "fixed")
                raise SpaceError(f"search space {path}: {key} is set by both {other} and {p.name}")
            seen[key] = p.name
    return Space(path, study, model, {str(k): v for k, v in fixed.items()}, parsed)


# ---- keys into a raw config ------------------------------------------------------------------

def _walk(raw: dict, key: str, create: bool):
    """(container, last part) of a dotted ``key`` in ``raw``; a number indexes a list."""
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(key)
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise KeyError(key)
        if part not in node:
            if not create:
                raise KeyError(key)
            node[part] = [] if nxt.isdigit() else {}
        node = node[part]
    return node, parts[-1]


def set_key(raw: dict, key: str, value) -> None:
    """Set dotted ``key`` of ``raw`` (train.betas.0: the list's first element)."""
    node, last = _walk(raw, key, create=True)
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise KeyError(key)
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise KeyError(key)


def get_key(raw: dict, key: str):
    node, last = _walk(raw, key, create=False)
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise KeyError(key)
        return node[int(last)]
    if not isinstance(node, dict) or last not in node:
        raise KeyError(key)
    return node[last]


def apply(space: Space, base: dict, values: dict) -> dict:
    """The resolved config (a plain dict, every key) of ``base`` (a raw config: the profile's
    file with the model's hand-sized preset) with ``values`` of the space's parameters and its
    fixed settings; a key the config does not have, or a value it refuses, is a SpaceError."""
    raw = json.loads(json.dumps(base))
    resolved = config_mod.from_dict(raw).to_dict()   # every key, so list elements exist
    for section in ("data", "model", "train", "export", "eval"):
        raw[section] = {**resolved[section], **(raw.get(section) or {})}
    overrides = space.overrides(values)
    for key, value in overrides.items():
        try:
            set_key(raw, key, value)
        except KeyError:
            raise SpaceError(f"search space {space.path}: key {key} is not in the {space.model} "
                             f"run config") from None
    try:
        cfg = config_mod.from_dict(raw)
    except config_mod.ConfigError as error:
        raise SpaceError(f"search space {space.path}: {error}") from None
    out = cfg.to_dict()
    for key, value in overrides.items():   # each key must land where the model reads it
        try:
            landed = get_key(out, key)
        except KeyError:
            raise SpaceError(f"search space {space.path}: key {key} does not reach the "
                             f"{space.model} run config") from None
        if landed != value and not (isinstance(value, (int, float)) and landed == float(value)):
            raise SpaceError(f"search space {space.path}: key {key} set to {value!r} reads back "
                             f"as {landed!r}")
    return out


def hand_values(space: Space, base: dict) -> dict:
    """Each parameter's value in the hand-sized config ``base`` (trial 0); a parameter whose
    keys disagree there, or whose value lies outside its range, is a SpaceError."""
    resolved = config_mod.from_dict(json.loads(json.dumps(base))).to_dict()
    out = {}
    for p in space.params:
        values = []
        for key in p.keys:
            try:
                values.append(get_key(resolved, key))
            except KeyError:
                raise SpaceError(f"search space {space.path}: parameter {p.name}: key {key} is "
                                 f"not in the {space.model} run config") from None
        if any(v != values[0] for v in values):
            raise SpaceError(f"search space {space.path}: parameter {p.name} sets "
                             f"{', '.join(p.keys)}, which differ in the hand-sized preset "
                             f"({values}); search them apart")
        value = values[0]
        if not p.contains(value):
            raise SpaceError(f"search space {space.path}: parameter {p.name}: the hand-sized "
                             f"value {value!r} (trial 0) is outside the space ({p.describe()}); "
                             "widen it so tuning can only match or improve on the preset")
        out[p.name] = int(value) if p.integer else value
    return out


def check(space: Space, base: dict) -> dict:
    """Refuse a space that does not fit the model's config (module docstring); returns the
    hand-sized values (trial 0)."""
    hand = hand_values(space, base)
    apply(space, base, hand)
    for end in ("low", "high"):
        apply(space, base, {p.name: hand[p.name] if p.choices is not None else
                            (int(getattr(p, end)) if p.integer else getattr(p, end))
                            for p in space.params})
    for p in space.params:
        for choice in p.choices or ():
            apply(space, base, {**hand, p.name: choice})
    return hand


def design(space: Space, k: int, seed: int) -> list[dict]:
    """The study's K trials: trial 0 the hand-sized values (added by the caller), trials 1..k-1
    drawn at random, each from its own generator (seed, space, index): the same design whatever
    K, worker or order."""
    root = int(space.digest()[:8], 16)
    out = []
    for i in range(1, k):
        rng = np.random.default_rng([seed, root, i])   # one generator per trial, params in order
        out.append({p.name: p.draw(rng) for p in space.params})
    return out
