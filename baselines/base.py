"""The adapter protocol: how a method (lambda-IJAE or a baseline) plugs into the harness.

An adapter names a method, says where its code comes from, and turns a config into a trainable
model (the protocol of ijae/train.py). Training, checkpoints, resume and export are then the
harness's own, so every model ends in the same artifact files (ijae/contract.py). An adapter
whose method does not fit a step loop (e.g. loading released weights) overrides ``train``.

    kind "native"            this project's own method (lambda-IJAE)
    kind "upstream"          the authors' code, cloned at a pinned commit and imported at run time
    kind "port"              a re-implementation of released code (labelled as such in tables)
    kind "port (from paper)" a re-implementation from the paper alone (no public code)
"""
from __future__ import annotations

from pathlib import Path

from ijae import UserError
from ijae.config import IJAEConfig, register_model_config

KINDS = ("native", "upstream", "port", "port (from paper)")


class Adapter:
    name: str = ""                # model.name in configs, --model on the command line
    label: str = ""               # the row label in Table 1
    kind: str = "port"
    source = None                 # a GitSource for kind "upstream" (and ports of released code)
    config_class: type = IJAEConfig
    architecture: str = ""        # one line: which networks it uses (shown by `ijae models`)

    def presets(self, profile: str) -> dict:
        """Config sections for a profile ("default" or "paper"): {"model": {...}, "train": {...}}.

        Used when a profile's config is trained with ``--model NAME``: the model section is
        replaced by this one, other sections are updated with it."""
        return {}

    def unavailable_reason(self, cfg=None) -> str | None:
        """Why this adapter cannot run here (e.g. its upstream code is neither cloned nor
        reachable), or None. Tests skip with this reason; the command line reports it."""
        return None

    def build(self, cfg, image_size: int):
        """A trainable model (see ijae/train.py) for the run config ``cfg``."""
        raise NotImplementedError(f"adapter {self.name} does not build a trainable model")

    def train(self, cfg, run: Path, resume: bool = False) -> Path:
        from ijae.train import train

        return train(cfg, run, resume=resume)


REGISTRY: dict[str, Adapter] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    """Class decorator: instantiate and register an adapter and its model config section."""
    adapter = cls()
    if adapter.kind not in KINDS:
        raise ValueError(f"adapter {adapter.name}: kind {adapter.kind!r}, expected one of {KINDS}")
    REGISTRY[adapter.name] = adapter
    register_model_config(adapter.name, adapter.config_class)
    return cls


def get_adapter(name: str) -> Adapter:
    import baselines  # noqa: F401  (importing the package registers every adapter)

    if name not in REGISTRY:
        raise UserError(f"model {name!r} is not registered; expected one of {sorted(REGISTRY)} "
                        "(`ijae models` lists them)")
    return REGISTRY[name]


def all_adapters() -> list[Adapter]:
    import baselines  # noqa: F401

    return list(REGISTRY.values())


@register
class IJAEAdapter(Adapter):
    name = "ijae"
    label = "λ-IJAE"
    kind = "native"
    config_class = IJAEConfig
    architecture = "Appendix D ResNets: G, implicit E, D_psi, D_tau, D_zeta"

    def build(self, cfg, image_size: int):
        from ijae.model import IJAE

        return IJAE(cfg.model, image_size)
