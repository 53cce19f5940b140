"""Inception backend end to end, offline: Kaiming-random weights in torch-fidelity's Inception.

Few small images: Inception resizes every image to 299x299, so CPU time grows with their count.
"""
from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from ijae import cli, config, contract
from ijae.data import load_dataset
from ijae.metrics import inception

REPO = Path(__file__).resolve().parents[1]
N_SAMPLES, N_TRAIN, N_TEST = 20, 10, 8


@pytest.fixture(autouse=True)
def one_thread():
    """Inception and FID's 2048x2048 eigvals on a shared 2-core CPU: one thread is 2-4x faster
    there than two spinning against other processes (scikit-learn brings threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return inception.random_weights(tmp_path_factory.mktemp("inception") / "random.pth", seed=0)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("inception-run")
    cfg = config.load(REPO / "config" / "default.yaml", [
        "data.dataset=synthetic", "data.image_size=32", f"data.synthetic_train={N_TRAIN}",
        f"data.synthetic_test={N_TEST}", "eval.backend=inception"])
    (run / contract.CONFIG).write_text(config.dump(cfg))
    ds = load_dataset(cfg.data)
    rng = np.random.default_rng(0)
    samples = np.concatenate([ds.train, rng.integers(0, 256, (N_SAMPLES - N_TRAIN, 32, 32, 3),
                                                     dtype=np.uint8)])
    contract.save_samples(run / contract.SAMPLES, samples)
    noisy = np.clip(ds.test + rng.normal(0, 20, ds.test.shape), 0, 255).astype(np.uint8)
    contract.save_reconstructions(run / contract.RECONSTRUCTIONS, ds.test, noisy)
    return run


class Images(torch.utils.data.Dataset):
    """The test's own uint8 NCHW wrapper, independent of ijae's."""

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return torch.tensor(self.images[i]).permute(2, 0, 1).contiguous()


def test_evaluate_inception_end_to_end_matches_torch_fidelity(run, weights, tmp_path, capsys):
    import torch_fidelity

    code = cli.main(["evaluate", str(run), "--inception-weights", str(weights),
                     "--lpips-weights", "random", "--cache-dir", str(tmp_path / "cache"),
                     "--device", "cpu", "--json", "--is-splits", "10"])
    assert code == 0, capsys.readouterr().err
    record = json.loads((run / contract.METRICS).read_text())
    assert json.loads(capsys.readouterr().out) == record
    assert record["backend"] == "inception" and record["feature_extractor"] == "inception-v3-compat"
    assert record["recon_metric"] == "lpips-alex-0.1-random-trunk"
    assert record["n_samples"] == N_SAMPLES and record["fid_reference_n"] == N_TRAIN
    assert record["n_reconstructions"] == N_TEST and record["is_splits"] == 10
    assert record["is_std_over"] == "10 splits of the samples" and record["recon_std_over"] == "images"
    for key in ("is_mean", "is_std", "fid", "recon_mean", "recon_std", "config_hash",
                "version_torch_fidelity", "version_lpips", "device", "timestamp", "wall_time_s"):
        assert record[key] is not None, key
    assert np.isfinite(record["fid"]) and record["recon_mean"] > 0
    assert record["feature_extractor_weights"] == str(weights)

    samples = contract.load_samples(run / contract.SAMPLES)
    reference = torch_fidelity.calculate_metrics(
        input1=Images(samples), isc=True, feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=str(weights), cuda=False, cache=False, verbose=False,
        save_cpu_ram=True)
    assert record["is_mean"] == pytest.approx(reference["inception_score_mean"], rel=1e-9, abs=1e-12)
    assert record["is_std"] == pytest.approx(reference["inception_score_std"], rel=1e-9, abs=1e-12)
    # the train statistics are cached, keyed by the weights file's hash
    assert list((tmp_path / "cache" / "fidelity").glob("ijae-synthetic-32px-train-n10-*-w*-stat-fid-2048.pt"))


def test_offline_without_weights_names_url_and_paths(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("IJAE_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(inception.InceptionWeightsError) as error:
        inception.resolve_weights(None, tmp_path / "cache")
    message = str(error.value)
    assert inception.weights_url() in message
    assert inception.weights_url().startswith("https://github.com/toshas/torch-fidelity/releases/")
    assert str(tmp_path / "cache" / "weights" / "weights-inception-2015-12-05-6726825d.pth") in message
    assert "--inception-weights" in message


def test_weights_found_in_cache_and_bad_files_refused(tmp_path, weights):
    cached = tmp_path / "weights" / "weights-inception-2015-12-05-6726825d.pth"
    cached.parent.mkdir()
    cached.symlink_to(weights)
    assert inception.resolve_weights(None, tmp_path) == cached
    with pytest.raises(inception.InceptionWeightsError, match="does not exist"):
        inception.resolve_weights(tmp_path / "missing.pth", tmp_path)
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "wrong.pth")
    with pytest.raises(inception.InceptionWeightsError, match="not an inception-v3-compat"):
        inception.check_weights(tmp_path / "wrong.pth")
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(inception.InceptionWeightsError, match="unreadable"):
        inception.check_weights(tmp_path / "garbage.pth")
