"""lambda-IJAE's adapter, and the base class that gives any adapter the harness's defaults.

An adapter (the protocol of ijae/registry.py) names a method and builds its trainable model;
:class:`Adapter` supplies the rest: ``train`` runs the generic loop of ijae/train.py (checkpoints,
exact resume, loss log) on the model ``build`` returns, and an upstream adapter is unavailable
while its ``source`` (a GitSource) has neither a clone nor a local mirror. A method that does not
fit a step loop (e.g. loading released weights) overrides ``train``.
"""
from __future__ import annotations

from pathlib import Path

from ijae.config import IJAEConfig


class Adapter:
    name: str = ""                # model.name in configs, --model on the command line
    label: str = ""               # the row label in Table 1
    kind: str = "port"            # native | upstream | port | port (from paper)
    source = None                 # a GitSource for kind "upstream" (and ports of released code)
    config_class: type = None     # the model section's dataclass (set by every adapter)
    architecture: str = ""        # one line: which networks it uses (shown by `ijae models`)

    def unavailable_reason(self, cfg=None) -> str | None:
        """Why this adapter cannot run here, or None. Tests skip with this reason. An upstream
        adapter needs its code: a clone in the work folder or a local mirror (never the network)."""
        if self.kind == "upstream" and self.source is not None:
            return self.source.unavailable_reason(cfg)
        return None

    def build(self, cfg, image_size: int):
        """A trainable model (ijae/registry.py: TrainableModel) for the run config ``cfg``."""
        raise NotImplementedError(f"adapter {self.name} does not build a trainable model")

    def train(self, cfg, run: Path, resume: bool = False) -> Path:
        """Train ``build``'s model in the harness's loop into run folder ``run``."""
        from ijae.train import train

        return train(cfg, run, resume=resume)


class IJAEAdapter(Adapter):
    name = "ijae"
    label = "λ-IJAE"
    kind = "native"
    config_class = IJAEConfig
    architecture = "Appendix D ResNets: G, implicit E, D_psi, D_tau, D_zeta"

    def build(self, cfg, image_size: int):
        from ijae.model import IJAE

        return IJAE(cfg.model, image_size)
