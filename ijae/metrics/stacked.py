"""Stacked-digits scoring: the digits classifier (``digits.py``) applied channel by channel.

A stacked-digits image holds one digit per RGB channel (``ijae.data``: 1,000 modes, the mode
``100 r + 10 g + b``). Each channel, repeated to three equal channels, is exactly a digits image,
so the digits classifier of the run's image size reads it unchanged:

- the mode of an image: the classifier's labels of its R, G and B channels, encoded as
  ``data.encode_modes`` does (so swapped channels give another mode);
- IS on the 1,000 modes: the classifier's class probabilities of the three channels multiplied
  (p(mode | x) = p_r(r | x_r) p_g(g | x_g) p_b(b | x_b); the digits are drawn independently), the
  IS formula on that distribution (at most 1,000, where the digits IS is at most 10);
- FID, KID, precision / recall on the three channels' penultimate features side by side
  (3 x 128 values: an image is near another when all three of its digits are);
- ``digits-feature-distance`` of a reconstruction: the mean over the three channels.

Like ``digits.py``, everything goes through torch-fidelity, the extractor registered by name.
``base="mnist"`` (``stacked_mnist``): the same, on the classifier trained on real MNIST.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ijae.data import DIGIT_CLASSES, STACKED_CHANNELS, decode_modes, encode_modes
from ijae.metrics import digits

N_MODES = DIGIT_CLASSES ** STACKED_CHANNELS
GENERATION_METRIC = ("digits-classifier score over the 1,000 stacked modes (IS formula on the "
                     "product of the three channels' class probabilities; at most 1,000; not "
                     "Inception)")
RECON_METRIC = "digits-feature-distance (mean over the R, G, B channels)"


def generation_metric(base: str = "digits") -> str:
    return GENERATION_METRIC if base == "digits" else \
        GENERATION_METRIC.replace("digits-classifier", f"{base.upper()}-classifier", 1)


def recon_metric(base: str = "digits") -> str:
    return RECON_METRIC.replace(digits.RECON_METRIC, digits.recon_metric(base), 1)


def channels_as_digits(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] stacked images -> uint8 [3 N, H, W, 3] grey digits images, in the order
    (image 0: R, G, B; image 1: R, G, B; ...): each channel repeated to three equal channels."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != STACKED_CHANNELS:
        raise ValueError(f"expected uint8 [N, H, W, {STACKED_CHANNELS}] images, got {images.shape}")
    grey = images.transpose(0, 3, 1, 2).reshape(-1, *images.shape[1:3])
    return np.repeat(grey[..., None], 3, axis=-1)


def _channels_as_digits(x: torch.Tensor) -> torch.Tensor:
    """float [N, 3, H, W] -> [3 N, 3, H, W], the torch twin of channels_as_digits."""
    return x.reshape(-1, 1, *x.shape[2:]).expand(-1, 3, -1, -1)


class StackedDigitsFeatureExtractor(digits.DigitsFeatureExtractor):
    """torch-fidelity feature extractor over uint8 [N, 3, H, W] stacked images: 'logits' are the
    log-probabilities of the 1,000 modes (index 100 r + 10 g + b), 'penultimate' the three
    channels' FID features side by side. The digits classifier, its layers and settings."""

    NAME = "stacked-digits"

    def forward(self, x):
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != STACKED_CHANNELS:
            raise ValueError(f"expected uint8 [N, 3, H, W] images, got {x.dtype} {tuple(x.shape)}")
        n = x.shape[0]
        out = self.net(_channels_as_digits(x.float() / 127.5 - 1))
        log_p = out["logits"].float().log_softmax(1).reshape(n, STACKED_CHANNELS, DIGIT_CLASSES)
        features = {
            # log p_r[r] + log p_g[g] + log p_b[b], flattened row-major: index 100 r + 10 g + b
            "logits": (log_p[:, 0, :, None, None] + log_p[:, 1, None, :, None]
                       + log_p[:, 2, None, None, :]).reshape(n, N_MODES),
            "penultimate": out["penultimate"].float().reshape(n, -1),
        }
        return tuple(features[name] for name in self.features_list)


def generation_metrics(samples: np.ndarray, reference: np.ndarray | None, **kwargs) -> dict:
    """digits.generation_metrics on the stacked features: IS over the 1,000 modes; FID, KID
    and precision / recall on the three channels' features side by side."""
    return digits.generation_metrics(samples, reference, extractor=StackedDigitsFeatureExtractor,
                                     is_layer="logits (log-probabilities of the 1,000 modes)",
                                     **kwargs)


def feature_distances(originals: np.ndarray, reconstructions: np.ndarray, *,
                      cache_dir: str | Path, device: str = "cpu", batch_size: int = 256,
                      base: str = "digits") -> np.ndarray:
    """``digits-feature-distance`` of each pair, averaged over the three channels: float64 [M]."""
    per_channel = digits.feature_distances(channels_as_digits(originals),
                                           channels_as_digits(reconstructions),
                                           cache_dir=cache_dir, device=device,
                                           batch_size=batch_size, base=base)
    return per_channel.reshape(-1, STACKED_CHANNELS).mean(1)


def predicted_labels(images: np.ndarray, net: digits.DigitsNet) -> np.ndarray:
    """The mode of each stacked image by the classifier, channel by channel: int64 [N]."""
    return encode_modes(digits.predicted_labels(channels_as_digits(images), net)
                        .reshape(-1, STACKED_CHANNELS))


def true_labels(images: np.ndarray, image_size: int, base: str = "digits") -> np.ndarray | None:
    """The dataset's mode of each image (its three channels found among the ``base`` digits by
    their exact pixels); None when any channel is not one of them."""
    found = digits.true_labels(channels_as_digits(images), image_size, base)
    return None if found is None else encode_modes(found.reshape(-1, STACKED_CHANNELS))


def channel_agreement(reference_modes: np.ndarray, reconstruction_modes: np.ndarray,
                      seed: int | None = None) -> np.ndarray:
    """The share of pairs whose reconstruction keeps each channel's digit: float64 [3] (R, G, B);
    with ``seed``, each original against another image's reconstruction (its chance level)."""
    from ijae.metrics import labels

    reconstruction = np.asarray(reconstruction_modes)
    if seed is not None:
        reconstruction = reconstruction[labels.derangement(len(reconstruction), seed)]
    return (decode_modes(reference_modes) == decode_modes(reconstruction)).mean(0)
