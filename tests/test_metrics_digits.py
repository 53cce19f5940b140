"""Digits backend: the classifier, IS / FID on its features, and the feature distance."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from ijae.config import DataConfig
from ijae.data import load_dataset
from ijae.metrics import digits


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DataConfig(dataset="digits", image_size=16))


def noise(n, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def add_noise(images, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(images + rng.normal(0, sigma, images.shape), 0, 255).astype(np.uint8)


def test_classifier_accurate_cached_and_named_by_recipe(metrics_cache):
    path = digits.classifier_path(16, metrics_cache)
    assert path.name == f"digits-16px-{digits.recipe_hash()}.pt"
    _, meta = digits.load_classifier(path)
    assert meta["test_accuracy"] >= 0.97
    assert meta["image_size"] == 16 and meta["recipe"] == digits.RECIPE
    mtime = path.stat().st_mtime_ns
    assert digits.classifier_path(16, metrics_cache) == path and path.stat().st_mtime_ns == mtime
    assert digits.recipe_hash({**digits.RECIPE, "epochs": 1}) != digits.recipe_hash()


def test_training_is_deterministic():
    recipe = {**digits.RECIPE, "epochs": 1}
    a, b = digits.train_classifier(8, recipe), digits.train_classifier(8, recipe)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert a["test_accuracy"] == b["test_accuracy"]
    files = []
    for ckpt in (a, b):  # what classifier_path stores: byte-identical, so its sha256 is stable
        buffer = io.BytesIO()
        torch.save({k: v for k, v in ckpt.items() if k != "train_seconds"}, buffer)
        files.append(buffer.getvalue())
    assert files[0] == files[1]


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_network_works_at_every_image_size(size):
    out = digits.DigitsNet(size)(torch.zeros(2, 3, size, size))
    assert out["logits"].shape == (2, 10) and out["penultimate"].shape == (2, 128)
    assert all(out[name].shape[-1] >= 4 for name in digits.CONV_LAYERS)


def test_inception_score_real_digits_high_noise_low(ds, metrics_cache):
    real = digits.generation_metrics(ds.test, None, cache_dir=metrics_cache, verbose=False)
    fake = digits.generation_metrics(noise(500), None, cache_dir=metrics_cache, verbose=False)
    assert real["is_mean"] >= 8 and real["is_std"] > 0
    assert fake["is_mean"] < 3
    assert real["fid"] is None


def test_inception_score_is_the_is_formula_on_the_logits(ds, metrics_cache):
    out = digits.generation_metrics(ds.test, None, cache_dir=metrics_cache, splits=1, verbose=False)
    net, _ = digits.load_classifier(digits.classifier_path(16, metrics_cache))
    with torch.no_grad():
        logits = net(torch.from_numpy(ds.test).permute(0, 3, 1, 2).float() / 127.5 - 1)["logits"]
    p = logits.double().softmax(1)
    kl = (p * (p.log() - p.mean(0, keepdim=True).log())).sum(1).mean()
    assert out["is_mean"] == pytest.approx(kl.exp().item(), rel=1e-6)


def test_fid_real_far_below_noise(ds, metrics_cache):
    real = digits.generation_metrics(ds.test, ds.train, cache_dir=metrics_cache, verbose=False)
    fake = digits.generation_metrics(noise(500), ds.train, cache_dir=metrics_cache, verbose=False)
    assert 0 <= real["fid"] < fake["fid"] / 10
    # the train statistics were cached under the cache folder, keyed by extractor and weights
    assert list((metrics_cache / "fidelity").glob(f"*{digits.extractor_name(16)}-stat-fid-*.pt"))


def test_feature_distance_zero_for_perfect_and_grows_with_noise(ds, metrics_cache):
    x = ds.test[:100]
    perfect = digits.feature_distances(x, x, cache_dir=metrics_cache)
    assert perfect.shape == (100,) and np.all(perfect == 0)
    means = [digits.feature_distances(x, add_noise(x, s), cache_dir=metrics_cache).mean()
             for s in (5, 20, 60)]
    assert 0 < means[0] < means[1] < means[2]
