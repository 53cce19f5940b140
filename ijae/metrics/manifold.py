"""k-NN manifold measures on feature vectors: density and coverage (Naeem et al. 2020), and the
data-copying test C_T (Meehan et al. 2020).

- **density**: for each sample, how many real k-NN balls hold it, over k, averaged over samples
  (1 for a sample set distributed like the real one; unlike k-NN precision, a few outlier real
  images with wide balls do not let far-away samples in);
- **coverage**: the share of real images whose k-NN ball holds at least one sample (unlike k-NN
  recall, which grows with the samples' own balls, noise with wide balls does not cover data);
- **C_T** (data copying): the feature space cut into cells by k-means on the train features; per
  cell, the Mann-Whitney U of the samples' distances to their nearest train image against the
  held-out images' distances, as a z-score; C_T is their average weighted by the held-out
  images per cell. About 0 when the samples lie as far from the train set as unseen real images
  do; well below 0 (e.g. < -3) when they lie closer: copies of train images.

The numbers are ``prdc``'s (tests/test_manifold.py checks them on a fixed feature set); this
module computes them in blocks (``prdc`` holds the whole N x M distance matrix three times over:
5 GB at Stacked MNIST's 26,000 samples) and keeps each sample's ball count, which the collapse
guard and the calibration read. numpy and scikit-learn / scipy only.
"""
from __future__ import annotations

import numpy as np

from ijae.metrics import keys as K

NEAREST_K = 5          # Naeem et al.'s recommended k (with about 10,000 samples)
MAX_POINTS = 5000      # samples and reference images the measures use (the first ones)
COPYING_CELLS = 10     # k-means cells of C_T
COPYING_MIN = 5        # a cell counts when it holds at least this many samples and held-out images
BLOCK = 2048


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances [len(a), len(b)] (float64)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(d2, 0))


def knn_radii(points: np.ndarray, k: int = NEAREST_K) -> np.ndarray:
    """Each point's distance to its k-th nearest other point: float64 [N]."""
    out = np.empty(len(points))
    for start in range(0, len(points), BLOCK):
        d = _distances(points[start:start + BLOCK], points)
        out[start:start + BLOCK] = np.partition(d, k, axis=1)[:, k]   # index 0: the point itself
    return out


def nearest(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each point's distance to its nearest reference point: float64 [N]."""
    return np.concatenate([_distances(points[s:s + BLOCK], reference).min(1)
                           for s in range(0, len(points), BLOCK)] or [np.zeros(0)])


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = NEAREST_K) -> dict:
    """Density and coverage of ``fake`` feature vectors against ``real`` ones, with k-NN balls of
    the real points (Naeem et al. 2020, eqs. 3-4)."""
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"density / coverage with k = {k} need more than {k} real and fake "
                         f"points (got {len(real)} and {len(fake)})")
    radii = knn_radii(real, k)
    inside_count = np.zeros(len(fake))
    covered = np.zeros(len(real), bool)
    for start in range(0, len(fake), BLOCK):
        inside = _distances(fake[start:start + BLOCK], real) < radii[None, :]
        inside_count[start:start + BLOCK] = inside.sum(1)
        covered |= inside.any(0)
    return {K.KEY_METRIC_DENSITY: float(inside_count.mean() / k),
            K.KEY_METRIC_COVERAGE: float(covered.mean())}


def copying_ct(train: np.ndarray, heldout: np.ndarray, samples: np.ndarray,
               cells: int = COPYING_CELLS, seed: int = 0) -> float | None:
    """Meehan et al.'s C_T of ``samples`` against ``train``, with ``heldout`` the unseen real
    images; None when no cell holds enough of both."""
    from scipy.stats import mannwhitneyu
    from sklearn.cluster import KMeans

    cells = max(1, min(cells, len(train) // 2))
    km = KMeans(n_clusters=cells, n_init=3, random_state=seed).fit(np.asarray(train, np.float64))
    cell_h, cell_s = km.predict(np.asarray(heldout, np.float64)), km.predict(np.asarray(samples, np.float64))
    dist_h, dist_s = nearest(heldout, train), nearest(samples, train)
    z, weight = [], []
    for c in range(cells):
        lh, ls = dist_h[cell_h == c], dist_s[cell_s == c]
        m, n = len(ls), len(lh)
        if m < COPYING_MIN or n < COPYING_MIN:
            continue
        u = mannwhitneyu(ls, lh, alternative="two-sided").statistic   # pairs sample > held-out
        z.append((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))
        weight.append(n / len(heldout))
    if not z:
        return None
    return float(np.dot(weight, z) / np.sum(weight))


def manifold_fields(real: np.ndarray, fake: np.ndarray, heldout: np.ndarray | None,
                    k: int = NEAREST_K) -> dict:
    """Record fields on the first MAX_POINTS of ``real`` (the train split's features), ``fake``
    (the samples') and ``heldout`` (the held-out images', for C_T)."""
    real, fake = real[:MAX_POINTS], fake[:MAX_POINTS]
    out = {**density_coverage(real, fake, k), K.KEY_PRDC_K: k,
           K.KEY_PRDC_N: f"{len(fake)} samples, {len(real)} reference"}
    ct = None if heldout is None else copying_ct(real, heldout[:MAX_POINTS], fake)
    out[K.KEY_METRIC_COPYING] = ct
    out[K.KEY_COPYING_RULE] = (f"Meehan et al. C_T: {COPYING_CELLS} k-means cells of the train "
                               "features, held-out images against samples; < -3: copies of train")
    return out
