"""Is a run's sample set degenerate? Three measures and the one rule that calls a run collapsed.

A collapsed run is marked in Table 1, the sample grids and the claims, never ranked as if it
were a result, and a tuning trial that collapses is recorded as failed (ijae/tune). The
measures compare the samples with the real images of the run's held-out split (the originals
of reconstructions.npz), so they mean the same on every dataset and backend:

- ``sample_spread_ratio``: how much the samples differ from one another, each pixel's standard
  deviation over the samples averaged over pixels, over the same for the real images. Near 0:
  every sample is (nearly) the same image.
- ``sample_contrast_ratio``: the contrast inside an image, each image's pixel standard deviation
  averaged over images, over the same for the real images. Near 0: flat, near-constant images
  (e.g. uniform grey).
- ``top_modes_share`` (where a backend labels the samples with modes: the digits backend): the
  share of the samples that the most common 1 % of the modes hold (at least one mode: the top
  class of digits' 10, the top 10 of stacked digits' 1,000). Uniform samples give 1 %; one mode
  alone gives 100 %.

Rule: collapsed when the spread or the contrast ratio is below ``RATIO_MIN``, or the top modes
hold at least ``TOP_MODES_SHARE_MAX`` of the samples; ``collapse_reason`` names every measure
that decided it, with its value and threshold. Thresholds: docs/collapse.md (measured on
collapsed and healthy runs). Pure numpy.
"""
from __future__ import annotations

import numpy as np

from ijae.metrics import keys as K

RATIO_MIN = 0.2               # spread / contrast below a fifth of the real images': degenerate
TOP_MODES_SHARE_MAX = 0.5     # half the samples or more in the top 1 % of the modes: degenerate
TOP_MODES_FRACTION = 0.01     # "a few modes": the most common 1 % of them (at least one)
MAX_IMAGES = 5000             # the ratios are computed on the first images (they converge fast)


def _spread(images: np.ndarray) -> float:
    return float(images.reshape(len(images), -1).std(0).mean())


def _contrast(images: np.ndarray) -> float:
    return float(images.reshape(len(images), -1).std(1).mean())


def image_measures(samples: np.ndarray, real: np.ndarray) -> dict:
    """The spread and contrast ratios of uint8 [N, H, W, 3] ``samples`` against ``real`` images."""
    s = np.asarray(samples[:MAX_IMAGES], np.float64)
    r = np.asarray(real[:MAX_IMAGES], np.float64)
    return {K.KEY_SAMPLE_SPREAD_RATIO: _spread(s) / max(_spread(r), 1e-12),
            K.KEY_SAMPLE_CONTRAST_RATIO: _contrast(s) / max(_contrast(r), 1e-12)}


def top_modes_share(sample_modes: np.ndarray, n_modes: int) -> dict:
    """The share of the samples held by the most common ``TOP_MODES_FRACTION`` of ``n_modes``."""
    k = max(1, int(n_modes * TOP_MODES_FRACTION))
    counts = np.sort(np.bincount(np.asarray(sample_modes, np.int64), minlength=n_modes))[::-1]
    return {K.KEY_TOP_MODES_SHARE: float(counts[:k].sum() / max(counts.sum(), 1)),
            K.KEY_TOP_MODES_K: k}


def verdict(record: dict) -> dict:
    """``collapsed`` and ``collapse_reason`` from a record's measures (absent measures: not
    judged on them)."""
    reasons = []
    for key, what in ((K.KEY_SAMPLE_SPREAD_RATIO, "near-identical samples"),
                      (K.KEY_SAMPLE_CONTRAST_RATIO, "near-constant images")):
        value = record.get(key)
        if value is not None and value < RATIO_MIN:
            reasons.append(f"{what}: {key} {value:.3f} < {RATIO_MIN}")
    share = record.get(K.KEY_TOP_MODES_SHARE)
    if share is not None and share >= TOP_MODES_SHARE_MAX:
        k = record.get(K.KEY_TOP_MODES_K)
        top = "the most common mode holds" if k == 1 else f"the {k} most common modes hold"
        reasons.append(f"a few modes hold most samples: {top} {share:.0%} of them "
                       f"(≥ {TOP_MODES_SHARE_MAX:.0%})")
    return {K.KEY_COLLAPSED: bool(reasons), K.KEY_COLLAPSE_REASON: "; ".join(reasons)}
