"""α-GAN adapter: its config, and — with a clone or mirror of victor-shepardson/alpha-GAN (env
IJAE_SOURCE_ALPHAGAN) — the upstream AlphaGAN class driving λ-IJAE's networks, its shims, one
training step through upstream ``_epoch`` and exact resume."""
import contextlib
import sys

import numpy as np
import pytest
import torch

from baselines import alphagan
from ijae import config
from ijae.config import ConfigError
from ijae.nets import Encoder, Generator, ImageDiscriminator
from ijae.registry import get_adapter
from ijae.train import train
from conftest import REPO, adapter_config, assert_same_run, upstream_clone


def test_adapter_is_registered_as_upstream_at_the_pinned_commit():
    adapter = get_adapter("alphagan")
    assert adapter.kind == "upstream" and adapter.source is alphagan.SOURCE
    assert adapter.source.url == "https://github.com/victor-shepardson/alpha-GAN"
    assert adapter.source.commit == "7feb98b2b3ca9e6310013858e76a8265ae1a02b6"
    assert adapter.source.env == "IJAE_SOURCE_ALPHAGAN"


def test_paper_preset_is_the_cifar_notebook():
    cfg = config.load(REPO / "config" / "paper.yaml", model="alphagan")
    m, t = cfg.model, cfg.train
    assert (m.latent_dim, m.lambd, m.z_lambd) == (128, 40.0, 0.0)
    assert m.n_iter == [2, 1, 1] and m.code_hidden == 700
    assert t.lr_g == t.lr_e == t.lr_d == 8e-4 and t.betas == [0.5, 0.9]
    assert t.batch_size == 64 and t.steps == 10 * 782


def test_config_names_a_bad_schedule():
    with pytest.raises(ConfigError, match="model.n_iter"):
        config.from_dict({"model": {"name": "alphagan", "n_iter": [2, 1]}})


@pytest.mark.parametrize("name", ["code_weight", "adversarial_weight"])
@pytest.mark.parametrize("value", [0.5, 2.0, -1.0])
def test_loss_switches_accept_only_zero_or_one(name, value):
    with pytest.raises(ConfigError, match=f"model.{name} .*0 or 1.*on/off"):
        config.from_dict({"model": {"name": "alphagan", name: value}})
    for ok in (0, 1):
        assert getattr(config.from_dict({"model": {"name": "alphagan", name: ok}}).model, name) == ok


def test_code_discriminator_is_the_notebook_mlp():
    C = alphagan.code_discriminator(16, 700)
    assert [type(m).__name__ for m in C] == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear", "Sigmoid"]
    out = C(torch.randn(5, 16))
    assert out.shape == (5, 1) and bool(((out > 0) & (out < 1)).all())


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    yield from upstream_clone(alphagan.SOURCE, tmp_path_factory)


def ag_config(*overrides):
    return adapter_config("alphagan", "train.steps=2", "train.checkpoint_every=1", "train.batch_size=8",
                          "model.width=8", "model.latent_dim=8", "model.code_hidden=16",
                          "export.n_samples=8", "export.n_reconstructions=8", *overrides)


def test_upstream_alphagan_drives_ijae_networks(clone):
    model = get_adapter("alphagan").build(ag_config(), 16)
    upstream_class = type(model.gan).__mro__[1]
    assert upstream_class.__name__ == "AlphaGAN" and upstream_class.__module__ == "alphagan.alphagan"
    assert not any(k.split(".")[0] == "alphagan" for k in sys.modules)  # imported in isolation
    g = model.gan
    assert isinstance(g.E, Encoder) and isinstance(g.G, Generator) and isinstance(g.D[0], ImageDiscriminator)
    assert (g.lambd, g.z_lambd) == (40.0, 0.0)
    # the _wrap shim: upstream needs torch._TensorBase, which today's PyTorch lacks
    assert not hasattr(torch, "_TensorBase")
    assert torch.equal(g._wrap(np.zeros((2, 3), dtype=np.float32)), torch.zeros(2, 3))
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    d = g.D(x)
    assert d.shape == (4,) and bool(((d > 0) & (d < 1)).all())  # probabilities: AlphaGAN takes log D
    assert model.sample(3, x).shape == (3, 3, 16, 16) and model.reconstruct(x).shape == x.shape


def test_a_step_runs_upstream_epoch_and_updates_every_network(clone, monkeypatch):
    cfg = ag_config()
    model = get_adapter("alphagan").build(cfg, 16)
    optimizers = model.make_optimizers(cfg.train)
    assert set(optimizers) == {"EG", "D", "C"}
    upstream_class = type(model.gan).__mro__[1]
    calls = []
    original = upstream_class._epoch

    def spy(self, X, loss_fns, optimizers=None, n_iter=(1, 1, 1), n_batches=None):
        calls.append((len(X), len(loss_fns), n_iter))
        return original(self, X, loss_fns, optimizers, n_iter, n_batches)

    monkeypatch.setattr(upstream_class, "_epoch", spy)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = torch.rand(8, 3, 16, 16) * 2 - 1
    losses = model.train_step(lambda: batch, optimizers, contextlib.nullcontext)
    assert calls == [(1, 3, (2, 1, 1))]
    assert list(losses) == model.loss_names == [
        "code_adversarial_loss", "adversarial_loss", "reconstruction_loss", "discriminator_loss",
        "code_discriminator_loss"]
    assert all(torch.isfinite(v) for v in losses.values())
    for net in ("E", "G", "D", "C"):
        changed = [k for k, v in model.state_dict().items()
                   if k.startswith(f"gan.{net}.") and v.is_floating_point() and not torch.equal(v, before[k])]
        assert changed, f"{net} was not updated"


def test_resume_is_exact(clone, tmp_path):
    train(ag_config("train.steps=3"), tmp_path / "whole")
    train(ag_config("train.steps=2"), tmp_path / "split")
    train(ag_config("train.steps=3"), tmp_path / "split", resume=True)
    assert_same_run(tmp_path / "whole", tmp_path / "split", step=3)


@pytest.mark.parametrize("name,loss", [("code_weight", "code_adversarial_loss"),
                                       ("adversarial_weight", "adversarial_loss")])
def test_upstream_uses_the_weights_as_switches(clone, name, loss):
    """Why the config takes only 0 or 1: upstream's losses do not change with the value."""
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    values = {}
    for weight in (1, 5):
        torch.manual_seed(0)
        model = get_adapter("alphagan").build(ag_config(), 16)
        setattr(model.gan, name, weight)   # past the config's check, on purpose
        torch.manual_seed(0)
        values[weight] = model.gan.autoencoder_loss(x)[loss].item()
    assert values[1] == values[5]
    model = get_adapter("alphagan").build(ag_config(f"model.{name}=0"), 16)
    assert loss not in model.gan.autoencoder_loss(x)
    assert [n for n, _ in model._parts()] == ["EG", "C" if name == "adversarial_weight" else "D"]
