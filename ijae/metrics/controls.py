"""Known-answer sample sets: what every measure of a record must score right before it decides.

A control is a set of images built from the dataset itself, whose answer is known without any
model: real images (positive), sets with no digit or no diversity in them (degenerate), real
images made worse but still digits (poor). ``ijae calibrate`` scores each through the same
evaluate code a run goes through (calibration.py), so a measure that rates noise like data is
seen before it decides a claim. Every control is drawn from fixed seeds: the same images on
every machine.

- positive: ``real_test`` (N images of the held-out split), ``real_train`` (N of the train
  split), drawn without replacement (a split smaller than N gives all of it);
- degenerate: ``constant`` (one flat grey image), ``noise_uniform``, ``noise_binary`` (ink at
  the real images' ink fraction), ``noise_smooth`` (thresholded smooth noise: blobs, no digit;
  on stacked sets every channel its own), ``copies_1``, ``copies_3``, ``copies_10`` (stacked:
  also ``copies_100``) train images repeated, ``one_mode`` (real images of one class, or of one
  stacked mode, with their variation), ``inverted`` (real test images, 255 - x);
- poor: ``blur_mild``, ``blur_strong`` (real test images under a Gaussian blur of 0.5 and 1 px
  at 16 px, scaled with the image size: a VAE-like failure that still shows the digit).

Pure numpy (and scipy.ndimage for the filters).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ijae import UserError

POSITIVE, DEGENERATE, POOR = "positive", "degenerate", "poor"
SEED = 0                     # every control's draws
BLUR_SIGMA_16PX = {"blur_mild": 0.5, "blur_strong": 1.0}
SMOOTH_SIGMA_16PX = 1.5      # the blobs of noise_smooth: about a stroke's width


@dataclass(frozen=True)
class Control:
    name: str
    kind: str                 # positive | degenerate | poor
    what: str                 # one line for the table
    make: Callable            # (Source, n, rng) -> uint8 [n, H, W, 3]
    stacked_only: bool = False


@dataclass(frozen=True)
class Source:
    """What controls are made from: a dataset's splits, its labels, and whether it is stacked."""
    train: np.ndarray          # uint8 [N, H, W, 3]
    test: np.ndarray
    train_labels: np.ndarray   # digit classes, or stacked modes (0..999)
    test_labels: np.ndarray
    stacked: bool


def _resample(images: np.ndarray, n: int, rng) -> np.ndarray:
    return images[rng.integers(0, len(images), n)]


def _distinct(images: np.ndarray, n: int, rng) -> np.ndarray:
    """Up to ``n`` of ``images`` without replacement: a real set holds no repeated image (a
    repeat has a k-NN radius of 0 among the samples, which breaks recall), so a split smaller
    than ``n`` gives a smaller control (digits' test split: 359 images)."""
    return images[rng.permutation(len(images))[:n]]


def _channels(images: np.ndarray, stacked: bool) -> np.ndarray:
    """[n, H, W, C] grey or per-channel values -> [n, H, W, 3]: a digits image has three equal
    channels; a stacked image three of its own."""
    return images if stacked else np.repeat(images[..., :1], 3, axis=-1)


def _ink(src: Source) -> float:
    """The share of a real image's pixels that are ink (above half intensity)."""
    return float((src.train > 127).mean())


def _real_test(src: Source, n: int, rng) -> np.ndarray:
    return _distinct(src.test, n, rng)


def _real_train(src: Source, n: int, rng) -> np.ndarray:
    return _distinct(src.train, n, rng)


def _constant(src: Source, n: int, rng) -> np.ndarray:
    value = int(round(src.train.mean()))
    return np.full((n, *src.train.shape[1:]), value, np.uint8)


def _noise_uniform(src: Source, n: int, rng) -> np.ndarray:
    size = src.train.shape[1]
    return _channels(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), src.stacked)


def _noise_binary(src: Source, n: int, rng) -> np.ndarray:
    size = src.train.shape[1]
    ink = rng.random((n, size, size, 3)) < _ink(src)
    return _channels((ink * 255).astype(np.uint8), src.stacked)


def _noise_smooth(src: Source, n: int, rng) -> np.ndarray:
    """Gaussian-filtered white noise, thresholded so that blobs cover the real ink fraction."""
    from scipy.ndimage import gaussian_filter

    size = src.train.shape[1]
    sigma = SMOOTH_SIGMA_16PX * size / 16
    field = gaussian_filter(rng.standard_normal((n, size, size, 3)), (0, sigma, sigma, 0))
    level = np.quantile(field, 1 - _ink(src))
    return _channels(((field > level) * 255).astype(np.uint8), src.stacked)


def _copies(k: int):
    def make(src: Source, n: int, rng) -> np.ndarray:
        picked = src.train[rng.permutation(len(src.train))[:k]]
        return picked[np.arange(n) % k]
    return make


def _one_mode(src: Source, n: int, rng) -> np.ndarray:
    """Real images of the train split's most common class, with their variation; on stacked sets
    its most common mode, each channel drawn from every train stack holding that digit there."""
    mode = np.bincount(src.train_labels).argmax()
    if not src.stacked:
        return _resample(src.train[src.train_labels == mode], n, rng)
    from ijae.data import decode_modes

    digits = decode_modes(src.train_labels)
    out = np.empty((n, *src.train.shape[1:]), np.uint8)
    for c, digit in enumerate(decode_modes(np.array([mode]))[0]):
        pool = src.train[digits[:, c] == digit][..., c]
        out[..., c] = pool[rng.integers(0, len(pool), n)]
    return out


def _inverted(src: Source, n: int, rng) -> np.ndarray:
    return 255 - _distinct(src.test, n, rng)


def _blur(name: str):
    def make(src: Source, n: int, rng) -> np.ndarray:
        from scipy.ndimage import gaussian_filter

        sigma = BLUR_SIGMA_16PX[name] * src.train.shape[1] / 16
        images = _distinct(src.test, n, rng).astype(np.float64)
        blurred = gaussian_filter(images, (0, sigma, sigma, 0))
        return np.clip(np.round(blurred), 0, 255).astype(np.uint8)
    return make


CONTROLS = (
    Control("real_test", POSITIVE, "the held-out split's images, resampled", _real_test),
    Control("real_train", POSITIVE, "the train split's images, resampled", _real_train),
    Control("blur_mild", POOR, "real test images, Gaussian blur 0.5 px at 16 px", _blur("blur_mild")),
    Control("blur_strong", POOR, "real test images, Gaussian blur 1 px at 16 px", _blur("blur_strong")),
    Control("constant", DEGENERATE, "one flat grey image (the mean pixel)", _constant),
    Control("noise_uniform", DEGENERATE, "uniform noise (per channel on stacked sets)", _noise_uniform),
    Control("noise_binary", DEGENERATE, "binary noise at the real ink fraction", _noise_binary),
    Control("noise_smooth", DEGENERATE, "thresholded smooth noise: blobs, no digit", _noise_smooth),
    Control("copies_1", DEGENERATE, "one train image, repeated", _copies(1)),
    Control("copies_3", DEGENERATE, "3 train images, repeated", _copies(3)),
    Control("copies_10", DEGENERATE, "10 train images, repeated", _copies(10)),
    Control("copies_100", DEGENERATE, "100 train images, repeated", _copies(100), stacked_only=True),
    Control("one_mode", DEGENERATE, "real images of one class (stacked: one mode), varied", _one_mode),
    Control("inverted", DEGENERATE, "real test images, inverted (255 - x)", _inverted),
)
BY_NAME = {c.name: c for c in CONTROLS}


def names(stacked: bool) -> list[str]:
    """The controls of a dataset: every one, but ``stacked_only`` ones on stacked sets alone."""
    return [c.name for c in CONTROLS if stacked or not c.stacked_only]


def check_names(requested, stacked: bool) -> list[str]:
    """``requested`` control names (None: all of the dataset's), an unknown one a UserError."""
    known = names(stacked)
    if requested is None:
        return known
    bad = [r for r in requested if r not in known]
    if bad:
        raise UserError(f"unknown control {bad[0]!r}: expected some of {', '.join(known)}")
    return list(requested)


def make(name: str, src: Source, n: int) -> np.ndarray:
    """Control ``name``'s ``n`` images from ``src``: uint8 [n, H, W, 3], the same on every call."""
    control = BY_NAME.get(name)
    if control is None or (control.stacked_only and not src.stacked):
        raise UserError(f"unknown control {name!r}: expected one of {', '.join(names(src.stacked))}")
    if n < 1:
        raise UserError(f"control size {n}: expected a positive number of images")
    seed = [SEED, list(BY_NAME).index(name)]
    images = control.make(src, n, np.random.default_rng(seed))
    check_shape(images, src.train.shape[1:], name)
    return images


def check_shape(images: np.ndarray, shape, name: str) -> None:
    """A control set must be uint8 [n, H, W, 3] like the dataset's images: one line otherwise."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != tuple(shape):
        raise UserError(f"control {name}: images are {images.dtype} {images.shape}; expected "
                        f"uint8 [n, {', '.join(map(str, shape))}] like the dataset's")
