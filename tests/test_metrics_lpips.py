"""LPIPS through the lpips package, offline (untrained trunk or a local trunk file)."""
from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import torch

from ijae import UserError
from ijae.config import DataConfig
from ijae.data import load_dataset
from ijae.metrics import lpips_distance


@pytest.fixture(scope="module")
def images():
    return load_dataset(DataConfig(dataset="digits", image_size=32)).test[:48]


@pytest.fixture(scope="module")
def model():
    return lpips_distance.build("alex", "0.1", weights="random")


def add_noise(images, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(images + rng.normal(0, sigma, images.shape), 0, 255).astype(np.uint8)


def test_uint8_to_minus_one_one_mapping_is_exact():
    values = np.arange(256, dtype=np.uint8)
    images = np.stack([values, 255 - values, np.zeros_like(values)], -1).reshape(1, 16, 16, 3)
    x = lpips_distance.to_lpips_input(images)
    assert x.dtype == torch.float32 and x.shape == (1, 3, 16, 16)
    expected = torch.from_numpy(values.astype(np.float32)).reshape(16, 16) / 127.5 - 1
    assert torch.equal(x[0, 0], expected) and torch.equal(x[0, 1], expected.flip(0).flip(1))
    assert x[0, 0].min() == -1 and x[0, 0].max() == 1 and torch.all(x[0, 2] == -1)
    assert abs(x[0, 0, 8, 0].item() - (128 / 127.5 - 1)) < 1e-7


def test_distance_to_itself_is_zero(images, model):
    d = lpips_distance.distances(images, images, model=model, batch_size=16)
    assert d.shape == (48,) and np.all(d == 0)


def test_distance_grows_with_noise(images, model):
    means = [lpips_distance.distances(images, add_noise(images, s), model=model).mean()
             for s in (5, 20, 60)]
    assert 0 < means[0] < means[1] < means[2]


def test_batching_does_not_change_values(images, model):
    noisy = add_noise(images, 20)
    a = lpips_distance.distances(images, noisy, model=model, batch_size=7)
    b = lpips_distance.distances(images, noisy, model=model, batch_size=48)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_local_trunk_file_is_loaded(tmp_path):
    import torchvision

    trunk = torchvision.models.alexnet()
    torch.save({k: v for k, v in trunk.state_dict().items() if k.startswith("features.")},
               tmp_path / "alexnet-owt-7be5be79.pth")
    model = lpips_distance.build("alex", "0.1", weights=tmp_path / "alexnet-owt-7be5be79.pth")
    assert torch.equal(model.net.slice1._modules["0"].weight, trunk.features[0].weight)
    assert torch.equal(model.net.slice5._modules["10"].bias, trunk.features[10].bias)
    assert lpips_distance.metric_name("alex", "0.1", tmp_path / "x.pth") == "lpips-alex-0.1"
    assert lpips_distance.metric_name("alex", "0.1", "random") == "lpips-alex-0.1-random-trunk"


def test_offline_without_weights_names_url_and_path(tmp_path, monkeypatch):
    import torchvision.models._api as api

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(api, "load_state_dict_from_url", offline)
    with pytest.raises(lpips_distance.LpipsWeightsError) as error:
        lpips_distance.build("alex", "0.1")
    message = str(error.value)
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in message
    assert str(tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth") in message
    assert "--lpips-weights" in message
    with pytest.raises(lpips_distance.LpipsWeightsError, match="do not exist"):
        lpips_distance.build("alex", "0.1", weights=tmp_path / "missing.pth")


def test_vgg_selectable_and_small_images_refused(images):
    vgg = lpips_distance.build("vgg", "0.1", weights="random")
    d = lpips_distance.distances(images[:4], add_noise(images[:4], 30), model=vgg, net="vgg")
    assert d.shape == (4,) and np.all(d > 0)
    small = images[:4, ::2, ::2]
    with pytest.raises(UserError, match="at least 31x31"):
        lpips_distance.distances(small, small, weights="random")
