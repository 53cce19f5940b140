"""Which samples are digits at all, and which are repeats: the digits backend's sample filters.

- **accepted as a digit**: every digit of an image (the image itself on digits / mnist; each of
  its R, G, B channels on stacked sets) lies no farther from its nearest train digit, in pixel
  space, than ``ACCEPT_QUANTILE`` of the held-out real digits do (the threshold is measured on
  the dataset's own test split); ``accepted_digit_share`` counts the digits one by one (a
  stacked sample with two of its three digits accepted adds two thirds), which the collapse
  guard reads: a generator whose stacks hold 40 % plausible digits is not "no digits at all".
  Modes are counted over the accepted samples (``modes_covered_accepted``,
  ``mode_kl_accepted``), so noise that the classifier labels
  confidently covers no mode. The classifier's own features were tried first and failed their
  controls: uniform noise falls inside the real images' k-NN balls there (calibration.md).
- **duplicate share**: the share of samples with another sample closer to them, in pixel space,
  than ``DUPLICATE_QUANTILE`` of held-out real images come to their nearest train image: a set
  of copies repeats its images exactly; real digits never come that close.

Pure numpy / torch on uint8 images.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from ijae.metrics import keys as K
from ijae.metrics import labels

ACCEPT_QUANTILE = 0.99      # a sample digit is accepted within the 99th percentile of real ones
DUPLICATE_QUANTILE = 0.01   # two samples closer than 1 % of real images come to a train image
MAX_DUPLICATE = 5000        # the duplicate share is measured on the first samples
BLOCK = 2048


def _flat(digits_images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W] grey digits -> float32 [N, H * W]."""
    return torch.from_numpy(np.ascontiguousarray(digits_images).reshape(len(digits_images), -1)
                            .astype(np.float32))


def _nearest(points: torch.Tensor, reference: torch.Tensor, exclude_self: bool = False) -> np.ndarray:
    out = []
    for start in range(0, len(points), BLOCK):
        d = torch.cdist(points[start:start + BLOCK], reference)
        if exclude_self:
            idx = torch.arange(start, min(start + BLOCK, len(points)))
            d[idx - start, idx] = float("inf")
        out.append(d.min(1).values)
    return torch.cat(out).numpy() if out else np.zeros(0)


def digit_planes(images: np.ndarray, stacked: bool) -> np.ndarray:
    """uint8 [N, H, W, 3] -> the grey digits in them, uint8 [N * C, H, W] (C = 3 on stacked sets,
    image by image: R, G, B; else 1: the first channel of a three-equal-channel image)."""
    images = np.asarray(images)
    if stacked:
        return images.transpose(0, 3, 1, 2).reshape(-1, *images.shape[1:3])
    return images[..., 0]


@functools.lru_cache(maxsize=4)
def _thresholds(base: str, size: int) -> tuple[torch.Tensor, float, float]:
    """(the train digits, the acceptance distance, the duplicate distance) of ``base`` at ``size``."""
    from ijae.config import DataConfig
    from ijae.data import load_dataset

    ds = load_dataset(DataConfig(dataset=base, image_size=size))
    train = _flat(ds.train[..., 0])
    heldout = _nearest(_flat(ds.test[..., 0]), train)
    return (train, float(np.quantile(heldout, ACCEPT_QUANTILE)),
            float(np.quantile(heldout, DUPLICATE_QUANTILE)))


def accepted_digits(images: np.ndarray, base: str, stacked: bool) -> np.ndarray:
    """bool [N, C]: is each digit of each image (C = 3 on stacked sets, else 1) within the real
    digits' reach (module docstring)."""
    train, limit, _ = _thresholds(base, int(images.shape[1]))
    planes = digit_planes(images, stacked)
    return (_nearest(_flat(planes), train) <= limit).reshape(len(images), -1)


def duplicate_share(images: np.ndarray, base: str, stacked: bool) -> float:
    """The share of the first MAX_DUPLICATE images with another of them closer than the duplicate
    distance (per digit; an image of C digits: sqrt(C) times it, over all of them)."""
    images = np.asarray(images[:MAX_DUPLICATE])
    if len(images) < 2:
        return 0.0
    _, _, close = _thresholds(base, int(images.shape[1]))
    planes = digit_planes(images, stacked).reshape(len(images), -1)
    flat = torch.from_numpy(planes.astype(np.float32))
    per_image = close * np.sqrt(3 if stacked else 1)
    return float((_nearest(flat, flat, exclude_self=True) <= per_image).mean())


def accepted_fields(images: np.ndarray, modes: np.ndarray, base: str, stacked: bool,
                    reference: np.ndarray, min_share: float) -> dict:
    """Record fields: the accepted share, the modes covered and the mode KL over the accepted
    samples (none accepted: 0 modes and the KL of a single mode, the worst a set can score)."""
    digits_ok = accepted_digits(images, base, stacked)
    ok = digits_ok.all(1)
    reference = np.asarray(reference, np.float64)
    if ok.any():
        counted = labels.mode_coverage(modes[ok], reference, min_share=min_share)
        covered, kl = counted[K.KEY_METRIC_MODES_COVERED], counted[K.KEY_METRIC_MODE_KL]
    else:
        covered, kl = 0, float(np.log(1 / reference[reference > 0].min()))
    return {K.KEY_ACCEPTED_SHARE: float(ok.mean()),
            K.KEY_ACCEPTED_DIGIT_SHARE: float(digits_ok.mean()),
            K.KEY_METRIC_MODES_COVERED_ACCEPTED: int(covered),
            K.KEY_METRIC_MODE_KL_ACCEPTED: kl,
            K.KEY_ACCEPT_RULE: (f"every digit within the {ACCEPT_QUANTILE:.0%} quantile of held-out "
                                f"real digits' pixel distance to their nearest train digit"),
            K.KEY_DUPLICATE_SHARE: duplicate_share(images, base, stacked)}
