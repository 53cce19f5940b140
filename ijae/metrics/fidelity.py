"""The one torch-fidelity call both backends go through: IS of the samples, FID against a reference.

torch-fidelity computes everything (feature extraction, the IS split formula, FID statistics and
their file cache); this module only feeds it uint8 images and names the cache entries. The
Inception backend passes torch-fidelity's own ``inception-v3-compat``; the digits backend passes a
registered :class:`~torch_fidelity.FeatureExtractorBase` subclass (see ``digits.py``).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from ijae import UserError
from ijae import device as device_mod
from ijae.metrics.keys import KEY_METRIC_FID, KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD

IS_SHUFFLE_SEED = 2020  # torch-fidelity's default rng_seed: samples are shuffled before splitting


class ImageDataset(torch.utils.data.Dataset):
    """uint8 [N, H, W, 3] numpy images as uint8 [3, H, W] tensors, what torch-fidelity expects."""

    def __init__(self, images: np.ndarray):
        self.images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index].contiguous()


def resolve_device(device: str = "auto") -> str:
    """ijae.device.resolve_device as a string; cuda:N also selects that GPU, since torch-fidelity
    takes only a cuda flag and runs on the current device."""
    resolved = device_mod.resolve_device(device)
    if resolved.index is not None:
        torch.cuda.set_device(resolved)
    return str(resolved)


def array_digest(images: np.ndarray) -> str:
    """sha256 of an image array (shape and bytes): the reference set's identity in cache names."""
    h = hashlib.sha256(str(images.shape).encode())
    h.update(np.ascontiguousarray(images).data)
    return h.hexdigest()


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def generation_metrics(samples: np.ndarray, reference: np.ndarray | None, *, feature_extractor: str,
                       weights_path: str | Path, reference_name: str, cache_dir: str | Path,
                       splits: int = 10, device: str = "cpu", batch_size: int = 64,
                       verbose: bool = True) -> dict:
    """IS of ``samples`` (mean, std over ``splits``) and, when ``reference`` is given, FID to it.

    The reference's statistics are cached under ``cache_dir/fidelity`` by torch-fidelity, keyed by
    ``reference_name``, the reference images' hash, the weights file's hash and the extractor name.
    """
    import torch_fidelity

    if len(samples) < max(splits, 2):
        raise UserError(f"{len(samples)} samples: IS over {splits} splits needs at least "
                        f"{max(splits, 2)} (use more samples or fewer --is-splits)")
    if reference is not None and len(reference) < 2:
        raise UserError(f"FID reference has {len(reference)} image(s); it needs at least 2")
    kwargs = dict(
        input1=ImageDataset(samples), isc=True, isc_splits=splits, fid=reference is not None,
        feature_extractor=feature_extractor, feature_extractor_weights_path=str(weights_path),
        cuda=device.startswith("cuda"), batch_size=batch_size, samples_shuffle=True,
        rng_seed=IS_SHUFFLE_SEED, cache=True, cache_root=str(Path(cache_dir) / "fidelity"),
        save_cpu_ram=True,  # in-memory tensors: no DataLoader worker processes
        verbose=verbose)
    weights_digest = file_digest(weights_path)
    if reference is not None:
        key = f"{reference_name}-n{len(reference)}-{array_digest(reference)[:12]}" \
              f"-w{weights_digest[:12]}"
        kwargs.update(input2=ImageDataset(reference), input2_cache_name=key)
    out = torch_fidelity.calculate_metrics(**kwargs)
    return {
        KEY_METRIC_IS_MEAN: out[torch_fidelity.KEY_METRIC_ISC_MEAN],
        KEY_METRIC_IS_STD: out[torch_fidelity.KEY_METRIC_ISC_STD],
        KEY_METRIC_FID: out.get(torch_fidelity.KEY_METRIC_FID),
        "feature_extractor": feature_extractor,
        "feature_extractor_weights": str(weights_path),
        "feature_extractor_weights_sha256": weights_digest,
    }
