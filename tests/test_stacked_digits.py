"""Stacked digits: 1,000 known modes from scikit-learn's digits (offline), and the digits backend
reading them channel by channel. Each test names the broken measure it would catch."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from ijae import cli, config, contract
from ijae.config import DataConfig
from ijae.data import decode_modes, encode_modes, load_dataset
from ijae.export import export_run
from ijae.metrics import digits, labels, stacked
from ijae.metrics import keys as K
from ijae.registry import all_adapters, get_adapter
from conftest import REPO, adapter_config
from conftest import stack_channels as stack

UNIFORM = np.full(stacked.N_MODES, 1 / stacked.N_MODES)


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DataConfig(dataset="stacked_digits", image_size=16))


@pytest.fixture(scope="module")
def grey():
    return load_dataset(DataConfig(dataset="digits", image_size=16))


# --- the dataset ------------------------------------------------------------------------------

def test_each_channel_is_a_digit_of_the_matching_split_and_the_label_is_the_triple(ds, grey):
    """Train images only from the train digits, test images only from the test digits, and the
    label 100 r + 10 g + b of the channels' own labels (a swapped encoding fails here)."""
    assert ds.train.shape == (10_000, 16, 16, 3) and ds.test.shape == (10_000, 16, 16, 3)
    assert ds.train.dtype == np.uint8 and ds.train_labels.dtype == np.int64
    for images, modes, split, split_labels in ((ds.train, ds.train_labels, grey.train, grey.train_labels),
                                               (ds.test, ds.test_labels, grey.test, grey.test_labels)):
        label_of = {image[..., 0].tobytes(): int(y) for image, y in zip(split, split_labels)}
        found = np.array([[label_of[image[..., c].tobytes()] for c in range(3)]
                          for image in images[:300]])    # KeyError: a channel from another split
        assert np.array_equal(encode_modes(found), modes[:300])
        assert np.array_equal(decode_modes(modes[:300]), found)
    # the channels are drawn independently: nearly every one of the 1,000 triples is there
    assert len(np.unique(ds.train_labels)) == len(np.unique(ds.test_labels)) == 1000
    again = load_dataset(DataConfig(dataset="stacked_digits", image_size=16))
    assert np.array_equal(again.test, ds.test) and np.array_equal(again.train_labels, ds.train_labels)


def test_sizes_and_the_32px_version_for_the_paper_networks():
    small = load_dataset(DataConfig(dataset="stacked_digits", image_size=32, stacked_train=50,
                                    stacked_test=20))
    assert small.train.shape == (50, 32, 32, 3) and small.test.shape == (20, 32, 32, 3)
    with pytest.raises(config.ConfigError, match="data.stacked_train = 1"):
        config.load(REPO / "config" / "default.yaml", ["data.stacked_train=1"])


def test_mode_encoding_puts_red_in_the_hundreds():
    assert list(encode_modes(np.array([[1, 2, 3], [3, 2, 1], [0, 0, 9]]))) == [123, 321, 9]
    assert decode_modes(np.array([123, 9])).tolist() == [[1, 2, 3], [0, 0, 9]]
    with pytest.raises(ValueError):
        encode_modes(np.array([[1, 2, 10]]))


# --- reading the modes ------------------------------------------------------------------------

def test_the_classifier_reads_each_channel_in_order(grey, digits_net):
    """Digits a, b, c in R, G, B give mode 100a + 10b + c, not c b a (swapped channels) nor a
    count of one channel's label."""
    def first(label):
        return grey.test[grey.test_labels == label][:1]

    image = stack(first(1), first(2), first(7))
    assert stacked.predicted_labels(image, digits_net).tolist() == [127]
    assert stacked.true_labels(image, 16).tolist() == [127]
    assert stacked.true_labels(np.roll(image, 1, axis=-1), 16).tolist() == [712]


def test_real_test_images_cover_nearly_every_mode_with_kl_near_zero(ds, digits_net):
    """10,000 real test images: a counter of one channel's labels would find 10 modes."""
    modes = stacked.predicted_labels(ds.test, digits_net)
    assert np.mean(modes == ds.test_labels) > 0.95        # all three digits right
    out = labels.mode_coverage(modes, UNIFORM)
    assert out[K.KEY_METRIC_MODES_COVERED] >= 990 and out[K.KEY_N_MODES] == 1000
    # sampling noise of a uniform draw of 10,000 is about 999 / 20,000 = 0.05 nats
    assert out[K.KEY_METRIC_MODE_KL] < 0.15


def test_one_digit_per_channel_covers_ten_modes_or_fewer(grey, digits_net):
    """The same digit in all three channels (or two channels fixed): at most 10 triples."""
    same = stack(grey.test, grey.test, grey.test)
    out = labels.mode_coverage(stacked.predicted_labels(same, digits_net), UNIFORM)
    assert out[K.KEY_METRIC_MODES_COVERED] <= 10
    assert out[K.KEY_METRIC_MODE_KL] > math.log(100) - 0.1       # ~ log(1000 / 10)
    fixed = np.repeat(grey.test[:1], len(grey.test), axis=0)
    one_varies = stack(fixed, fixed, grey.test)
    assert labels.mode_coverage(stacked.predicted_labels(one_varies, digits_net),
                                UNIFORM)[K.KEY_METRIC_MODES_COVERED] <= 10


def test_mode_kl_is_against_the_reference_it_is_given():
    """A collapse onto one mode scores log 1000 against uniform; against another histogram it
    scores that histogram's -log p (a KL taken against the wrong reference differs)."""
    one = np.full(500, 123)
    assert labels.mode_coverage(one, UNIFORM)[K.KEY_METRIC_MODE_KL] == pytest.approx(math.log(1000))
    skewed = UNIFORM.copy()
    skewed[123], skewed[0] = 3 / 1000, 0
    skewed /= skewed.sum()
    assert labels.mode_coverage(one, skewed)[K.KEY_METRIC_MODE_KL] == pytest.approx(-math.log(skewed[123]))
    assert labels.mode_coverage(one, UNIFORM)[K.KEY_MODES_COVERED_RULE] == "at least 1 sample (of 500)"


def test_is_over_the_modes_is_the_product_of_the_channel_probabilities(ds, metrics_cache):
    """The extractor's 1,000 logits are log p_r + log p_g + log p_b at index 100 r + 10 g + b."""
    path = digits.classifier_path(16, metrics_cache)
    extractor = stacked.StackedDigitsFeatureExtractor("s", ["logits", "penultimate"], str(path))
    images = torch.from_numpy(ds.test[:5]).permute(0, 3, 1, 2).contiguous()
    logits, features = extractor(images)
    p = logits.softmax(1)
    net = digits.load_classifier(path)[0]
    channel_p = [net(images[:, c:c + 1].float().expand(-1, 3, -1, -1) / 127.5 - 1)["logits"]
                 .softmax(1) for c in range(3)]
    r, g, b = 4, 0, 7
    expected = channel_p[0][:, r] * channel_p[1][:, g] * channel_p[2][:, b]
    assert torch.allclose(p[:, 100 * r + 10 * g + b], expected, rtol=1e-4, atol=1e-7)
    assert torch.allclose(p.sum(1), torch.ones(5), atol=1e-5)
    assert features.shape == (5, 3 * 128)


# --- scored through `ijae evaluate` ------------------------------------------------------------

def stacked_run(path, ds, reconstructions):
    """A stacked-digits run folder with real test images as samples."""
    path.mkdir(parents=True)
    cfg = config.load(REPO / "config" / "default.yaml",
                      ["data.dataset=stacked_digits", "data.stacked_train=2000", "data.stacked_test=2000"])
    (path / contract.CONFIG).write_text(config.dump(cfg))
    small = load_dataset(cfg.data)
    contract.save_samples(path / contract.SAMPLES, small.test[:1000])
    contract.save_reconstructions(path / contract.RECONSTRUCTIONS, small.test[:500],
                                  reconstructions(small.test[:500]))
    return path


@pytest.mark.parametrize("kind", ["perfect", "ignores its input"])
def test_evaluate_scores_stacked_runs(kind, ds, tmp_path, metrics_cache, monkeypatch, capsys):
    """A perfect reconstruction keeps all three digits about as often as the classifier reads
    the originals; one that ignores its input (another image's) scores chance, about 0.001 for
    the triple and 0.1 a channel."""
    monkeypatch.setenv("IJAE_WORK", str(tmp_path))
    shuffle = np.random.default_rng(3).permutation(500)
    make = (lambda x: x.copy()) if kind == "perfect" else (lambda x: x[shuffle])
    run = stacked_run(tmp_path / "run", ds, make)
    assert cli.main(["evaluate", str(run), "--cache-dir", str(metrics_cache), "--kid-subsets", "5",
                     "--is-split-size", "100"]) == 0
    rec = json.loads((run / contract.METRICS).read_text())
    assert rec["dataset"] == "stacked_digits" and rec["n_modes"] == 1000
    assert rec["mode_kl_reference"] == "uniform over the 1,000 modes"
    # IS over the modes: 10 splits of 100 real samples, so at most 100 (a digits IS is at most 10)
    assert rec["generation_metric"] == stacked.GENERATION_METRIC and 50 < rec["is_mean"] <= 100
    assert rec["is_split_size"] == 100 and 80 < rec["is_ceiling"] < 100 and 50 < rec["is_real"] <= 100
    assert rec["recon_label_reference"] == "stacked_digits dataset labels"
    assert 600 < rec["modes_covered"] <= 1000         # 1,000 real samples: ~ 630 of a uniform draw
    assert rec["recon_label_agreement_chance"] < 0.01
    assert rec["recon_channel_agreement_chance"] < 0.2
    if kind == "perfect":
        assert rec["recon_label_agreement"] == rec["digits_classifier_originals_accuracy"] > 0.9
        assert rec["recon_channel_agreement"] > 0.97 and rec["recon_mean"] == 0
        assert min(rec[f"recon_channel_agreement_{c}"] for c in "rgb") > 0.95
    else:
        assert rec["recon_label_agreement"] < 0.01 and rec["recon_channel_agreement"] < 0.2
        assert rec["recon_mean"] > 1
    capsys.readouterr()


@pytest.mark.parametrize("name", [a.name for a in all_adapters()])
def test_every_adapter_runs_on_stacked_digits(name, tmp_path):
    """The baselines take the dataset through their adapters unchanged (16 px, 3 channels)."""
    cfg = adapter_config(name, "data.dataset=stacked_digits", "data.stacked_train=64",
                         "data.stacked_test=16", "train.steps=2", "train.checkpoint_every=2",
                         "export.n_samples=12")
    reason = get_adapter(name).unavailable_reason(cfg)
    if reason:
        pytest.skip(reason)
    get_adapter(name).train(cfg, tmp_path / name)
    samples_path, recon_path = export_run(tmp_path / name)
    originals, recons = contract.load_reconstructions(recon_path)
    assert contract.load_samples(samples_path).shape == (12, 16, 16, 3)
    assert originals.shape == recons.shape == (16, 16, 16, 3)
    assert np.array_equal(originals, load_dataset(cfg.data).test)
