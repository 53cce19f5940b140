"""Shared fixtures: tiny configs that train in well under a second per step on a CPU."""
from __future__ import annotations

from pathlib import Path

import pytest

from ijae import config

REPO = Path(__file__).resolve().parents[1]


def tiny_config(*overrides: str, dataset: str = "synthetic") -> config.RunConfig:
    """A default-profile config shrunk for tests: 16x16 images, width 8, latent 8, batch 16."""
    base = [f"data.dataset={dataset}", "data.image_size=16", "data.synthetic_train=96",
            "data.synthetic_test=24", "model.width=8", "model.latent_dim=8", "train.batch_size=16",
            "train.steps=4", "train.checkpoint_every=2", "export.n_samples=20", "train.device=cpu"]
    return config.load(REPO / "config" / "default.yaml", base + list(overrides))


@pytest.fixture
def make_config():
    return tiny_config
