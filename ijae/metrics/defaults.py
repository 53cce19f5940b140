"""Every evaluation setting, once: its default, its environment variable, its help.

This table feeds both ``ijae evaluate``'s options (:func:`add_arguments`) and
:func:`ijae.metrics.evaluate_run`'s keyword arguments (:func:`resolve`), like torch-fidelity's
``defaults.py`` and ``helpers.get_kwarg``. A value given explicitly wins, then the setting's
environment variable, then the default.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from ijae.metrics.backends import BACKENDS


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str
    type: type = str
    choices: tuple | None = None
    env: str | None = None        # consulted when the setting is not given
    cli: bool = True              # an ``ijae evaluate`` option (False: API only)


SETTINGS = (
    Setting("backend", None, "metric backend (default: the run config's eval.backend)",
            choices=tuple(BACKENDS)),
    Setting("device", "auto", "torch device: auto, cpu, cuda or cuda:N"),
    Setting("batch_size", 64, "images per forward pass", int),
    Setting("n_samples", None, "use the first N samples (default: all)", int),
    Setting("inception_weights", None,
            "local torch-fidelity Inception weights file, for offline clusters (default: looked "
            "up in the cache, else downloaded)", env="IJAE_INCEPTION_WEIGHTS"),
    Setting("cache_dir", None,
            "cache folder for weights, the digits classifier and reference statistics "
            "(default: <work folder>/cache)", env="IJAE_CACHE"),
    Setting("lpips_net", "alex", "LPIPS trunk", choices=("alex", "vgg")),
    Setting("lpips_version", "0.1", "LPIPS version"),
    Setting("lpips_weights", None,
            "local torchvision trunk file for LPIPS (alexnet-owt-7be5be79.pth / "
            "vgg16-397923af.pth), or 'random' for an untrained trunk (tests only; the metric is "
            "then named ...-random-trunk)", env="IJAE_LPIPS_WEIGHTS"),
    Setting("is_split_size", 1000,
            "IS: samples a split (splits: the samples // this); IS grows with a split's size, so "
            "every IS is computed at this size, beside a perfect sampler's and the real images'",
            int),
    Setting("is_splits", None, "IS splits (mean ± std over them; default: from --is-split-size)",
            int),
    Setting("fid", True,
            "FID against the train split (off: KID and precision / recall too, which share "
            "its reference)", bool),
    Setting("kid", True, "KID against the train split (on FID's features)", bool),
    Setting("kid_subsets", 100, "KID: random subsets (mean ± std over them)", int),
    Setting("kid_subset_size", 1000,
            "KID: images per subset, capped at the smaller set's size", int),
    Setting("prc", True,
            "precision and recall against the train split (Kynkäänniemi et al. 2019, on FID's "
            "features)", bool),
    Setting("prc_neighborhood", 3, "precision and recall: k of the k-nearest-neighbour balls",
            int),
    Setting("manifold", True,
            "density and coverage (Naeem et al. 2020) and the data-copying test (Meehan et al. "
            "2020) on FID's features", bool),
    Setting("fid_reference_n", None,
            "FID, KID, precision and recall against the first N train images (default: the "
            "whole train split)", int),
    Setting("verbose", True, "progress on stderr", bool, cli=False),
    Setting("write", True, "store the record as RUN/metrics.json", bool, cli=False),
)
BY_NAME = {s.name: s for s in SETTINGS}
DEFAULTS = {s.name: s.default for s in SETTINGS}


def get_kwarg(name: str, kwargs: dict):
    """The value of setting ``name``: ``kwargs[name]`` unless None, else its environment
    variable (when it has one and it is set), else its default."""
    value = kwargs.get(name)
    if value is not None:
        return value
    setting = BY_NAME[name]
    if setting.env and os.environ.get(setting.env):
        return os.environ[setting.env]
    return setting.default


def resolve(kwargs: dict) -> dict:
    """Every setting from ``kwargs``; an unknown name is a TypeError, as for any function."""
    unknown = sorted(set(kwargs) - set(BY_NAME))
    if unknown:
        raise TypeError(f"unknown evaluation setting(s) {unknown}; expected some of "
                        f"{sorted(BY_NAME)}")
    return {name: get_kwarg(name, kwargs) for name in BY_NAME}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per CLI setting; an option not given is None, so :func:`resolve` decides."""
    for s in SETTINGS:
        if not s.cli:
            continue
        env = f"; env {s.env}" if s.env else ""
        if s.type is bool:   # on by default: the option turns it off
            parser.add_argument(f"--no-{s.name.replace('_', '-')}", dest=s.name,
                                action="store_const", const=False, default=None,
                                help=f"skip: {s.help}")
            continue
        shown = "" if s.default is None else f" (default: {s.default})"
        parser.add_argument(f"--{s.name.replace('_', '-')}", dest=s.name, type=s.type,
                            choices=s.choices, default=None, help=f"{s.help}{shown}{env}")


def from_arguments(args: argparse.Namespace) -> dict:
    """The CLI settings of a parsed ``ijae evaluate`` command line, as keyword arguments."""
    return {s.name: getattr(args, s.name) for s in SETTINGS if s.cli}
