"""Model plugins from outside this repository, and ``ijae train`` reaching an adapter's own train.

The out-of-tree test builds a tiny adapter package (its own pyproject.toml with an entry point in
group ``ijae.models``), installs it with pip into a folder of its own (``--target``: the venv is
left alone), and runs it through the command line with that folder on PYTHONPATH: the registry
finds it by entry point, ``ijae train`` trains it in the generic loop, ``ijae export`` writes
the artifact contract.
"""
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from ijae import contract, registry
from ijae.adapter import Adapter
from ijae.cli import main

PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "ijae-tinyae"
version = "0.1.0"

[project.entry-points."ijae.models"]
tinyae = "ijae_tinyae:TinyAEAdapter"

[tool.setuptools]
py-modules = ["ijae_tinyae"]
"""

PLUGIN_MODULE = '''
"""A linear autoencoder as an ijae model plugin (written for the test)."""
from dataclasses import dataclass

import torch
import torch.nn as nn

from ijae.adapter import Adapter
from ijae.config import require


@dataclass
class TinyAEConfig:
    name: str = "tinyae"
    latent_dim: int = 4

    def validate(self, key):
        require(self.latent_dim > 0, f"{key}.latent_dim", self.latent_dim, "a positive integer")


class TinyAE(nn.Module):
    loss_names = ["loss"]

    def __init__(self, cfg, image_size):
        super().__init__()
        self.shape, self.latent_dim = (3, image_size, image_size), cfg.latent_dim
        self.E = nn.Sequential(nn.Flatten(), nn.Linear(3 * image_size ** 2, cfg.latent_dim))
        self.G = nn.Sequential(nn.Linear(cfg.latent_dim, 3 * image_size ** 2), nn.Tanh(),
                               nn.Unflatten(1, self.shape))

    def make_optimizers(self, t):
        return {"EG": torch.optim.Adam(self.parameters(), lr=t.lr_g)}

    def train_step(self, next_batch, optimizers, autocast, d_steps=1):
        x = next_batch()
        with autocast():
            loss = (self.G(self.E(x)) - x).square().mean()
        optimizers["EG"].zero_grad()
        loss.backward()
        optimizers["EG"].step()
        return {"loss": loss.detach()}

    @torch.no_grad()
    def sample(self, n, like):
        return self.G(torch.randn(n, self.latent_dim, device=like.device))

    @torch.no_grad()
    def reconstruct(self, x):
        return self.G(self.E(x))


class TinyAEAdapter(Adapter):
    name = "tinyae"
    label = "TinyAE"
    kind = "port (from paper)"
    config_class = TinyAEConfig
    architecture = "one linear layer each way"

    def build(self, cfg, image_size):
        return TinyAE(cfg.model, image_size)
'''


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "ijae.cli", *args], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_an_adapter_from_another_package_trains_and_exports_through_the_cli(tmp_path):
    package = tmp_path / "ijae-tinyae"
    package.mkdir()
    (package / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    (package / "ijae_tinyae.py").write_text(PLUGIN_MODULE)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(site), str(package)],
                   check=True, capture_output=True, text=True, timeout=300)
    assert (site / "ijae_tinyae.py").is_file() and not (Path.cwd() / "ijae_tinyae.py").exists()
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)}

    listed = {row["name"]: row for row in json.loads(run_cli("models", "--json", env=env).stdout)}
    assert listed["tinyae"]["label"] == "TinyAE" and "vae" in listed  # beside the in-tree ones

    run = tmp_path / "run"
    run_cli("train", str(REPO / "config" / "default.yaml"), "--model", "tinyae", "--out", str(run),
            "--steps", "3", "--set", "data.dataset=synthetic", "--set", "data.image_size=16",
            "--set", "data.synthetic_train=64", "--set", "data.synthetic_test=16",
            "--set", "train.batch_size=8", "--set", "train.device=cpu", "--set", "model.latent_dim=3",
            env=env)
    losses = (run / "losses.csv").read_text().splitlines()
    assert losses[0] == "step,loss" and [ln.split(",")[0] for ln in losses[1:]] == ["1", "2", "3"]
    run_cli("export", str(run), "--n-samples", "6", "--n-reconstructions", "5", "--device", "cpu",
            env=env)
    samples = contract.load_samples(run / contract.SAMPLES)
    originals, recons = contract.load_reconstructions(run / contract.RECONSTRUCTIONS)
    assert samples.shape == (6, 16, 16, 3) and samples.dtype == np.uint8
    assert originals.shape == recons.shape == (5, 16, 16, 3)
    # without the plugin's folder on the path the name is unknown: discovery is by entry point
    assert "tinyae" not in registry.registered_names()


@dataclass
class MarkerConfig:
    name: str = "marker"

    def validate(self, key):
        pass


class MarkerAdapter(Adapter):
    """An adapter whose training is its own (as AGE's released weights are): it writes a marker."""
    name, label, kind, architecture = "marker", "Marker", "port (from paper)", "none"
    config_class = MarkerConfig

    def train(self, cfg, run: Path, resume: bool = False) -> Path:
        run.mkdir(parents=True)
        (run / "marker.json").write_text(json.dumps({"model": cfg.model.name, "resume": resume,
                                                     "steps": cfg.train.steps}))
        return run


def test_ijae_train_calls_the_adapters_own_train(tmp_path):
    """Issue 11: the command line used to run the generic loop for every model, so an adapter's
    own train (AGE's released weights) was never reached."""
    registry.register(MarkerAdapter)
    try:
        code = main(["train", str(REPO / "config" / "default.yaml"), "--model", "marker",
                     "--out", str(tmp_path / "run"), "--steps", "7", "--resume"])
    finally:
        registry.unregister("marker")
    assert code == 0
    marker = json.loads((tmp_path / "run" / "marker.json").read_text())
    assert marker == {"model": "marker", "resume": True, "steps": 7}
    assert not (tmp_path / "run" / contract.CHECKPOINT).exists()
