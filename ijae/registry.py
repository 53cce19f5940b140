"""The plugin interface: what a method (lambda-IJAE or a baseline) provides, and where it is found.

A method plugs in as an **adapter** (:class:`AdapterProtocol`): it names the method, says where its
code comes from, gives its config section (``config_class``), builds a **trainable model**
(:class:`TrainableModel`) and trains it into a run folder (usually the generic loop of
ijae/train.py; ``ijae.adapter.Adapter`` is the base class that gives those defaults). Every
model then ends in the same artifact files (ijae/contract.py), so metrics never see a model.

Where adapters come from, all registered in one place (:func:`registered_names`):
    BUILTIN                   lambda-IJAE, this package's own (ijae/adapter.py)
    entry points "ijae.models"  every installed distribution's plugins: this repository's
                              baselines (pyproject.toml) and any other package's (its own
                              pyproject.toml; see baselines/README.md)
    register(adapter)         at run time (tests)
A plugin is imported the first time its name is asked for, and checked against the protocol
then: a plugin that cannot be imported or does not fit is a :class:`PluginError` naming it.

    kind "native"            this project's own method (lambda-IJAE)
    kind "upstream"          the authors' code, cloned at a pinned commit and imported at run time
    kind "port"              a re-implementation of released code (labelled as such in tables)
    kind "port (from paper)" a re-implementation from the paper alone (no public code)
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ijae import UserError

GROUP = "ijae.models"                               # the entry-point group of model plugins
BUILTIN = {"ijae": "ijae.adapter:IJAEAdapter"}      # this package's own adapters
KINDS = ("native", "upstream", "port", "port (from paper)")


class PluginError(UserError, RuntimeError):
    """A model plugin cannot be loaded or does not fit the protocol; the message names it."""


@runtime_checkable
class TrainableModel(Protocol):
    """What ``adapter.build`` returns: an ``nn.Module`` (state_dict, to, train / eval) with these.

    Images are float NCHW in [-1, 1]. All training state lives in the module (parameters and
    buffers) and randomness comes from torch's global generator, so checkpoints resume exactly.
    """

    loss_names: list[str]     # the keys train_step returns: the columns of RUN/losses.csv

    def make_optimizers(self, train_cfg, /) -> dict:
        """{name: optimizer}, one per network (a checkpoint saves each by name)."""

    def train_step(self, next_batch, optimizers, autocast, /, d_steps: int = 1) -> dict:
        """One step: draws batches with ``next_batch()``, runs forwards ``with autocast():``, does
        its own zero_grad / backward / step; returns {loss name: scalar tensor}."""

    def sample(self, n: int, like, /) -> Any:
        """``n`` generated images on ``like.device``."""

    def reconstruct(self, x, /) -> Any:
        """Reconstructions of the images ``x``."""


@runtime_checkable
class AdapterProtocol(Protocol):
    """A method behind the harness's contract."""

    name: str                 # model.name in configs, --model on the command line
    label: str                # the row label in Table 1
    kind: str                 # one of KINDS
    source: Any               # a GitSource-like object (url, commit) or None
    config_class: type        # the model section: a dataclass with ``name`` and ``validate(key)``
    architecture: str         # one line: which networks it uses (shown by `ijae models`)

    def unavailable_reason(self, cfg=None, /) -> str | None:
        """Why it cannot run here (tests skip with this), or None."""

    def build(self, cfg, image_size: int, /) -> TrainableModel:
        """A trainable model for the run config ``cfg``."""

    def train(self, cfg, run: Path, /, resume: bool = False) -> Path:
        """Train into run folder ``run`` (``ijae train`` calls this); returns the folder."""


# ---- checking an object against a protocol ----------------------------------------------------

def _fits(value, hint) -> bool:
    if hint is Any or hint is object:
        return True
    if typing.get_origin(hint) is list:
        (inner,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(v, inner) for v in value)
    return isinstance(value, hint)


def _signature_problem(name: str, want, got) -> str | None:
    """Why the bound method ``got`` cannot take the calls the harness makes as the protocol's
    ``want`` describes them (arguments before ``/`` by position, the others by keyword, with
    and without the optional ones), or None."""
    try:
        got_sig = inspect.signature(got)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: cannot tell
    params = list(inspect.signature(want).parameters.values())[1:]  # without self
    expected = f"{name}({', '.join(str(p) for p in params)})"
    for optional in (True, False):
        args = [p.name for p in params if p.kind is p.POSITIONAL_ONLY and (optional or p.default is p.empty)]
        kwargs = {p.name: p.name for p in params
                  if p.kind is not p.POSITIONAL_ONLY and (optional or p.default is p.empty)}
        try:
            got_sig.bind(*args, **kwargs)
        except TypeError as error:
            return f"{name}{got_sig} cannot be called as {expected} ({error})"
    return None


def protocol_problems(obj, protocol: type) -> list[str]:
    """Every way ``obj`` misses ``protocol``: absent or ill-typed attributes, methods whose
    signatures do not accept the protocol's calls. Empty when it fits."""
    problems = []
    for name, hint in typing.get_type_hints(protocol).items():
        if not hasattr(obj, name):
            problems.append(f"no attribute {name}")
        elif not _fits(getattr(obj, name), hint):
            problems.append(f"{name} = {getattr(obj, name)!r} is not a {hint}")
    for name, want in vars(protocol).items():
        if name.startswith("_") or not inspect.isfunction(want):
            continue
        got = getattr(obj, name, None)
        if not callable(got):
            problems.append(f"no method {name}")
        elif problem := _signature_problem(name, want, got):
            problems.append(problem)
    return problems


def adapter_problems(adapter) -> list[str]:
    """:func:`protocol_problems` for an adapter, plus what the protocol's types cannot say."""
    problems = protocol_problems(adapter, AdapterProtocol)
    if problems:
        return problems
    if adapter.kind not in KINDS:
        problems.append(f"kind {adapter.kind!r}: expected one of {KINDS}")
    cls = adapter.config_class
    if not dataclasses.is_dataclass(cls) or not callable(getattr(cls, "validate", None)):
        problems.append(f"config_class {cls!r}: expected a dataclass with validate(key)")
    elif getattr(cls(), "name", None) != adapter.name:
        problems.append(f"config_class {cls.__name__}: its default name is {getattr(cls(), 'name', None)!r}, "
                        f"expected the adapter's name {adapter.name!r}")
    return problems


# ---- the registry ----------------------------------------------------------------------------

_LOADED: dict[str, Any] = {}


def _entry_points() -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            raise PluginError(f"two model plugins are named {ep.name!r}: {found[ep.name].value} and "
                              f"{ep.value} (entry-point group {GROUP}); uninstall one")
        found[ep.name] = ep
    return found


def shipped_names() -> set[str]:
    """The models this distribution registers itself (its own entry points, and the built-in
    λ-IJAE): each has a preset for every profile, where a third-party plugin may have none."""
    return set(BUILTIN) | {name for name, ep in _entry_points().items()
                           if getattr(ep, "dist", None) is not None and ep.dist.name == "ijae"}


def registered_names() -> list[str]:
    """Every model name known here (without importing any plugin)."""
    return sorted({*BUILTIN, *_entry_points(), *_LOADED})


def _checked(adapter, where: str):
    if isinstance(adapter, type):
        adapter = adapter()
    problems = adapter_problems(adapter)
    if problems:
        raise PluginError(f"model plugin {where} does not fit the adapter protocol "
                          f"(ijae/registry.py): {'; '.join(problems)}")
    return adapter


def register(adapter):
    """Add an adapter (a class or an instance) under its name at run time; returns it unchanged."""
    _LOADED[getattr(adapter, "name", "?")] = _checked(adapter, repr(getattr(adapter, "name", adapter)))
    return adapter


def unregister(name: str) -> None:
    _LOADED.pop(name, None)


def _load(name: str, value: str, where: str):
    try:
        if isinstance(value, metadata.EntryPoint):
            loaded = value.load()
        else:
            module, _, attr = value.partition(":")
            loaded = getattr(importlib.import_module(module), attr)
    except Exception as error:  # any failure of a plugin's import is reported as that plugin's
        raise PluginError(f"model plugin {name!r} ({where}) cannot be loaded: "
                          f"{type(error).__name__}: {error}") from error
    adapter = _checked(loaded, f"{name!r} ({where})")
    if adapter.name != name:
        raise PluginError(f"model plugin {name!r} ({where}) is named {adapter.name!r} inside")
    return adapter


def get_adapter(name: str):
    """The adapter registered as ``name`` (imported and checked on first use)."""
    if name not in _LOADED:
        if name in BUILTIN:
            _LOADED[name] = _load(name, BUILTIN[name], BUILTIN[name])
        else:
            entry_points = _entry_points()
            if name not in entry_points:
                raise UserError(f"model {name!r} is not registered; expected one of "
                                f"{registered_names()} (`ijae models` lists them)")
            ep = entry_points[name]
            dist = getattr(ep, "dist", None)
            where = f"entry point {ep.value} of {dist.name if dist else 'an installed package'}"
            _LOADED[name] = _load(name, ep, where)
    return _LOADED[name]


def all_adapters() -> list:
    return [get_adapter(name) for name in registered_names()]


def build_model(cfg, image_size: int):
    """The trainable model ``cfg.model.name`` names, checked against :class:`TrainableModel`."""
    model = get_adapter(cfg.model.name).build(cfg, image_size)
    problems = protocol_problems(model, TrainableModel)
    if problems:
        raise PluginError(f"model {cfg.model.name!r}: the trainable model {type(model).__name__} "
                          f"does not fit the protocol (ijae/registry.py): {'; '.join(problems)}")
    return model
