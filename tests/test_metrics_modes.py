"""Mode-seeking against mass-covering, as numbers: precision / recall and KID (torch-fidelity, on
the digits classifier's FID features), mode coverage, and reconstruction label agreement."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ijae.config import DataConfig
from ijae.data import load_dataset
from ijae.metrics import digits, labels
from ijae.metrics import keys as K


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DataConfig(dataset="digits", image_size=16))


def scores(samples, reference, cache, **options):
    return digits.generation_metrics(samples, reference, cache_dir=cache, verbose=False, **options)


def of_class(ds, label):
    return ds.train[ds.train_labels == label]


# --- precision and recall ---------------------------------------------------------------------

def test_a_set_against_itself_has_precision_and_recall_one(ds, metrics_cache):
    out = scores(ds.train[:400], ds.train[:400], metrics_cache)
    assert out[K.KEY_METRIC_PRECISION] == 1.0 and out[K.KEY_METRIC_RECALL] == 1.0
    assert abs(out[K.KEY_METRIC_FID]) < 1e-3


@pytest.mark.parametrize("a, b", [(0, 1), (3, 8)])
def test_disjoint_clusters_have_precision_and_recall_zero(ds, metrics_cache, a, b):
    # one digit against another: disjoint clusters in the classifier's features
    out = scores(of_class(ds, a), of_class(ds, b), metrics_cache, kid=False)
    assert out[K.KEY_METRIC_PRECISION] == 0.0 and out[K.KEY_METRIC_RECALL] == 0.0


def test_a_collapsed_sample_set_is_precise_but_recalls_little(ds, metrics_cache):
    # samples of one digit against all digits: every sample is realistic (precision ~ 1), one
    # tenth of the real digits is covered (recall ~ 0.1); swapped inputs would read the opposite
    out = scores(of_class(ds, 3), ds.train, metrics_cache)
    assert out[K.KEY_METRIC_PRECISION] > 0.95 and out[K.KEY_METRIC_RECALL] < 0.2
    assert out[K.KEY_PRC_REFERENCE_N] == len(ds.train)


def test_real_test_digits_recall_the_train_split(ds, metrics_cache):
    out = scores(ds.test, ds.train, metrics_cache)
    assert out[K.KEY_METRIC_RECALL] >= 0.9 and out[K.KEY_METRIC_PRECISION] >= 0.85
    assert out[K.KEY_PRC_NEIGHBORHOOD] == 3 and out[K.KEY_PRC_REFERENCE_N] == len(ds.train)


def test_precision_recall_and_kid_use_fids_features(ds, metrics_cache, digits_net):
    """The record's numbers are torch-fidelity's on the penultimate features, where FID is taken
    (not the logits IS uses), with the recorded neighbourhood and KID subset size."""
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    samples, reference = ds.test[:200], ds.train[:300]
    out = scores(samples, reference, metrics_cache, prc_neighborhood=5, kid_subsets=7)
    assert out[K.KEY_FID_LAYER] == out[K.KEY_PRC_LAYER] == out[K.KEY_KID_LAYER] == "penultimate"
    assert (out[K.KEY_KID_SUBSETS], out[K.KEY_KID_SUBSET_SIZE]) == (7, 200)  # capped at 200

    def features(images):
        with torch.no_grad():
            return digits_net(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1)[
                "penultimate"]

    f_samples, f_reference = features(samples), features(reference)
    expected = prc_features_to_metric(f_samples, f_reference, prc_neighborhood=5, verbose=False)
    assert out[K.KEY_METRIC_PRECISION] == pytest.approx(expected["precision"], abs=1e-6)
    assert out[K.KEY_METRIC_RECALL] == pytest.approx(expected["recall"], abs=1e-6)
    assert out[K.KEY_METRIC_PRECISION] != out[K.KEY_METRIC_RECALL]   # the direction is checked
    kid = kid_features_to_metric(f_samples, f_reference, kid_subsets=7, kid_subset_size=200,
                                 rng_seed=2020, verbose=False)
    assert out[K.KEY_METRIC_KID_MEAN] == pytest.approx(kid["kernel_inception_distance_mean"],
                                                       rel=1e-3)
    assert out[K.KEY_METRIC_KID_STD] > 0


def test_without_a_reference_there_is_no_kid_nor_precision(ds, metrics_cache):
    out = scores(ds.test[:100], None, metrics_cache)
    assert all(out[key] is None for key in (K.KEY_METRIC_FID, K.KEY_METRIC_KID_MEAN,
                                            K.KEY_METRIC_PRECISION, K.KEY_METRIC_RECALL,
                                            K.KEY_PRC_NEIGHBORHOOD, K.KEY_KID_SUBSET_SIZE))


# --- mode coverage: digits (the 10 classes) -----------------------------------------------------

def coverage(sample_labels, ds, min_share=labels.COVERAGE_THRESHOLD):
    return labels.mode_coverage(sample_labels, labels.histogram(ds.test_labels, 10), min_share)


def test_coverage_of_one_class_flags_the_collapse(ds):
    collapsed = coverage(np.full(500, 3), ds)
    assert collapsed[K.KEY_METRIC_MODES_COVERED] == 1 and collapsed[K.KEY_N_MODES] == 10
    share = np.mean(ds.test_labels == 3)
    assert collapsed[K.KEY_METRIC_MODE_KL] == pytest.approx(-math.log(share))   # ~ log 10
    fractions = labels.class_fractions(np.full(500, 3), 10)
    assert fractions[K.class_fraction_key(3)] == 1.0 and fractions[K.class_fraction_key(4)] == 0
    real = coverage(ds.train_labels, ds)
    assert real[K.KEY_METRIC_MODES_COVERED] == 10 and real[K.KEY_METRIC_MODE_KL] < 0.05   # sampling noise of 359 labels
    # the 1 % threshold: a class with 0.5 % of the samples is not covered; with none, one sample is
    two = np.r_[np.full(995, 3), np.full(5, 4)]
    assert coverage(two, ds)[K.KEY_METRIC_MODES_COVERED] == 1
    assert coverage(two, ds, min_share=0)[K.KEY_METRIC_MODES_COVERED] == 2
    assert coverage(two, ds)[K.KEY_MODES_COVERED_RULE] == "at least 1% of the samples (of 1000)"


def test_coverage_of_classified_images(ds, digits_net):
    one = coverage(digits.predicted_labels(of_class(ds, 7), digits_net), ds)
    assert one[K.KEY_METRIC_MODES_COVERED] == 1 and one[K.KEY_METRIC_MODE_KL] > 2.0
    real = coverage(digits.predicted_labels(ds.train, digits_net), ds)
    assert real[K.KEY_METRIC_MODES_COVERED] == 10 and real[K.KEY_METRIC_MODE_KL] < 0.05


def test_kl_is_infinite_where_the_reference_has_no_mass():
    assert labels.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert labels.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    with pytest.raises(ValueError):
        labels.histogram(np.array([0, 10]), 10)


# --- reconstruction label agreement (issue 9) -------------------------------------------------

def agreement(ds, digits_net, reconstructions):
    truth = digits.true_labels(ds.test, 16)
    return labels.label_agreement(truth, digits.predicted_labels(ds.test, digits_net),
                                  digits.predicted_labels(reconstructions, digits_net))


def test_identical_reconstructions_score_the_classifiers_accuracy(ds, digits_net, metrics_cache):
    assert np.array_equal(digits.true_labels(ds.test, 16), ds.test_labels)
    out = agreement(ds, digits_net, ds.test.copy())
    accuracy = digits.load_classifier(digits.classifier_path(16, metrics_cache))[1]["test_accuracy"]
    assert out[K.KEY_METRIC_RECON_LABEL_AGREEMENT] == out[K.KEY_ORIGINALS_ACCURACY] == accuracy
    assert accuracy >= 0.95
    assert out[K.KEY_RECON_LABEL_AGREEMENT_CHANCE] < 0.2     # another image's digit: ~ 0.1


def test_a_permutation_of_the_reconstructions_scores_chance(ds, digits_net):
    shuffled = ds.test[np.random.default_rng(1).permutation(len(ds.test))]
    out = agreement(ds, digits_net, shuffled)
    assert out[K.KEY_METRIC_RECON_LABEL_AGREEMENT] < 0.2
    assert abs(out[K.KEY_METRIC_RECON_LABEL_AGREEMENT]
               - out[K.KEY_RECON_LABEL_AGREEMENT_CHANCE]) < 0.08
    assert out[K.KEY_ORIGINALS_ACCURACY] >= 0.95     # the originals are scored, not the shuffle


def test_chance_pairs_every_original_with_another_reconstruction():
    for n in (2, 3, 359):
        perm = labels.derangement(n)
        assert sorted(perm) == list(range(n)) and not np.any(perm == np.arange(n))
    # reconstructions that keep every label: agreement 1, chance = share of equal-label pairs
    truth = np.array([0, 1, 2, 3])
    out = labels.label_agreement(truth, truth, truth)
    assert out[K.KEY_METRIC_RECON_LABEL_AGREEMENT] == 1.0
    assert out[K.KEY_RECON_LABEL_AGREEMENT_CHANCE] == 0.0
    with pytest.raises(ValueError):
        labels.label_agreement(truth, truth, truth[:3])


def test_images_not_from_the_dataset_have_no_true_labels(ds):
    noise = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert digits.true_labels(np.concatenate([ds.test[:2], noise]), 16) is None
    assert np.array_equal(digits.true_labels(ds.train[:50], 16), ds.train_labels[:50])
