"""Numbers from class labels alone (the digits classifier's, or the dataset's): pure numpy.

- :func:`mode_coverage`: how many modes (digit classes, or stacked-digit triples) the samples
  cover and how far their histogram is from a reference (the test split's, or uniform), so a
  collapsed model shows as a number, not only in a picture;
- :func:`label_agreement`: whether each reconstruction keeps its original's digit, beside what a
  model that ignores x (chance) and a perfect reconstruction (the classifier's accuracy) score.

``digits.py`` and ``stacked.py`` turn images into labels; the digits backend (``backends.py``)
records these.
"""
from __future__ import annotations

import numpy as np

from ijae.metrics import keys as K

COVERAGE_THRESHOLD = 0.01   # a digit class counts as covered with at least 1 % of the samples
CHANCE_SEED = 0             # which derangement pairs each original with another reconstruction


def histogram(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Share of each class 0..n_classes-1 among ``labels``: float64 [n_classes], sums to 1."""
    labels = np.asarray(labels)
    if labels.size == 0:
        raise ValueError("no labels: a histogram needs at least one")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels outside 0..{n_classes - 1}")
    return np.bincount(labels, minlength=n_classes) / labels.size


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats; terms with p = 0 are 0. Infinite when p puts mass where q has none."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def mode_coverage(sample_modes: np.ndarray, reference: np.ndarray, min_share: float = 0.0,
                  reference_name: str = "") -> dict:
    """Record fields: how many of the ``len(reference)`` modes the samples cover (a mode with at
    least one sample and at least ``min_share`` of them) and KL(sample mode histogram ||
    ``reference``), a histogram over the modes (the test split's, or uniform).

    KL in this direction is finite whenever the reference has every mode, and a model that emits
    one mode of a uniform K-mode reference scores log K (2.3 for 10 classes, 6.9 for 1,000).
    """
    reference = np.asarray(reference, np.float64)
    samples = histogram(sample_modes, len(reference))
    covered = (samples > 0) & (samples >= min_share)
    rule = f"at least {min_share:.0%} of the samples" if min_share > 0 else "at least 1 sample"
    return {K.KEY_METRIC_MODES_COVERED: int(covered.sum()), K.KEY_N_MODES: int(len(reference)),
            K.KEY_MODES_COVERED_RULE: f"{rule} (of {len(np.asarray(sample_modes))})",
            K.KEY_METRIC_MODE_KL: kl_divergence(samples, reference),
            K.KEY_MODE_KL_REFERENCE: reference_name}


def class_fractions(sample_labels: np.ndarray, n_classes: int) -> dict:
    """Record fields: each class's share of the samples (class_fraction_0, ...)."""
    samples = histogram(sample_labels, n_classes)
    return {K.class_fraction_key(c): float(samples[c]) for c in range(n_classes)}


def derangement(n: int, seed: int = CHANCE_SEED) -> np.ndarray:
    """A fixed permutation of 0..n-1 that moves every index: a cyclic offset in 1..n-1."""
    if n < 2:
        raise ValueError(f"{n} image(s): pairing each with another needs at least 2")
    offset = int(np.random.default_rng(seed).integers(1, n))
    return (np.arange(n) + offset) % n


def label_agreement(reference_labels: np.ndarray, original_labels: np.ndarray,
                    reconstruction_labels: np.ndarray, seed: int = CHANCE_SEED) -> dict:
    """Record fields: the share of pairs whose reconstruction's label is the original's
    (``reference_labels``: the true labels, else the classifier's labels of the originals);
    the same against another image's reconstruction (a fixed derangement: chance, about
    sum_c p_c^2, what a model that generates but ignores x scores); and the classifier's
    accuracy on the originals (``original_labels`` against the reference: what a perfect
    reconstruction scores)."""
    reference = np.asarray(reference_labels)
    original, reconstruction = np.asarray(original_labels), np.asarray(reconstruction_labels)
    if not reference.shape == original.shape == reconstruction.shape:
        raise ValueError(f"label arrays differ in shape: {reference.shape}, {original.shape}, "
                         f"{reconstruction.shape}")
    other = reconstruction[derangement(len(reference), seed)]
    return {K.KEY_METRIC_RECON_LABEL_AGREEMENT: float(np.mean(reference == reconstruction)),
            K.KEY_RECON_LABEL_AGREEMENT_CHANCE: float(np.mean(reference == other)),
            K.KEY_ORIGINALS_ACCURACY: float(np.mean(reference == original))}
