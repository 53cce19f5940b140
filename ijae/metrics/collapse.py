"""Is a run's sample set degenerate? The measures and the one rule that calls a run collapsed.

A collapsed run is marked in Table 1, the sample grids and the claims, never ranked as if it
were a result, and a tuning trial that collapses is recorded as failed (ijae/tune). Every rule
below is a detector of one kind of degenerate set, and the guard as a whole is calibrated: it
flags every degenerate control of ``ijae calibrate`` (a constant image, three kinds of noise,
copies of 1 to 100 train images, one mode, inverted images) and passes real images, blurred real
images and today's healthy runs (results/<profile>/calibration.md; thresholds and their margins:
docs/collapse.md). Collapsed when any of:

- ``sample_contrast_ratio`` < ``RATIO_MIN``: flat images (each image's pixel std, averaged, over
  the real images');
- ``sample_spread_ratio`` < ``RATIO_MIN``: near-identical samples (each pixel's std over the
  samples, averaged, over the real images');
- ``duplicate_share`` ≥ ``DUPLICATE_MAX``: most samples repeat another one (accept.py);
- ``top_modes_share`` ≥ ``TOP_MODES_SHARE_MAX``: the most common 1 % of the modes (at least one)
  hold most samples (digits backend: one class of 10, ten of stacked digits' 1,000);
- ``accepted_digit_share`` < ``ACCEPTED_MIN``: almost no digit in the samples is a digit at all
  (digits backend, accept.py: noise, inverted images); counted digit by digit, so stacks whose
  three digits are each plausible 40 % of the time (6 % of the stacks all three) pass.

Coverage is not among them though it separates the controls: it grows with the number of samples
(100 real images cover less of a 1,438-image reference than 10,000 do), so one threshold cannot
serve a tuning trial's 5,000 samples and a test's 100; every rule above is a share of the
samples, the same at any count.

``collapse_reason`` names every measure that decided it, with its value and threshold; a
measure absent from a record is not judged. Pure numpy.
"""
from __future__ import annotations

import numpy as np

from ijae.metrics import keys as K

RATIO_MIN = 0.2               # spread / contrast below a fifth of the real images': degenerate
TOP_MODES_SHARE_MAX = 0.5     # half the samples or more in the top 1 % of the modes: degenerate
DUPLICATE_MAX = 0.5           # half the samples or more repeat another sample
ACCEPTED_MIN = 0.1            # fewer than 10 % of the samples' digits are digits
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


RULES = (   # (record field, below (True) or at-or-above (False) the threshold degenerates, threshold, what)
    (K.KEY_SAMPLE_CONTRAST_RATIO, True, RATIO_MIN, "near-constant images"),
    (K.KEY_SAMPLE_SPREAD_RATIO, True, RATIO_MIN, "near-identical samples"),
    (K.KEY_DUPLICATE_SHARE, False, DUPLICATE_MAX, "repeated samples"),
    (K.KEY_ACCEPTED_DIGIT_SHARE, True, ACCEPTED_MIN, "not digits"),
)


def verdict(record: dict) -> dict:
    """``collapsed`` and ``collapse_reason`` from a record's measures (absent measures: not
    judged on them)."""
    reasons = []
    for key, below, threshold, what in RULES:
        value = record.get(key)
        if value is None or value != value:   # absent, or NaN
            continue
        if (value < threshold) if below else (value >= threshold):
            reasons.append(f"{what}: {key} {value:.3f} {'<' if below else '≥'} {threshold}")
    share = record.get(K.KEY_TOP_MODES_SHARE)
    if share is not None and share >= TOP_MODES_SHARE_MAX:
        k = record.get(K.KEY_TOP_MODES_K)
        top = "the most common mode holds" if k == 1 else f"the {k} most common modes hold"
        reasons.append(f"a few modes hold most samples: {top} {share:.0%} of them "
                       f"(≥ {TOP_MODES_SHARE_MAX:.0%})")
    return {K.KEY_COLLAPSED: bool(reasons), K.KEY_COLLAPSE_REASON: "; ".join(reasons)}
