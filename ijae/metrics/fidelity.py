"""The one torch-fidelity call both backends go through: IS of the samples; FID, KID and
precision / recall (Kynkaanniemi et al. 2019) against a reference, all on one feature layer;
then, on the same extractor's features, density / coverage and the data-copying test
(manifold.py), and the IS of the real reference and of a perfect sampler at the samples' split
size (IS grows with the samples a split holds, so an IS means something only beside them).

torch-fidelity computes everything (feature extraction, the IS split formula, FID statistics, KID
subsets, k-NN balls, and their file cache); this module only feeds it uint8 images, names the
cache entries and the layers. The
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
from ijae.metrics import keys as K

# the evaluation settings (defaults.py) that reach generation_metrics unchanged
REFERENCE_OPTIONS = ("fid", "kid", "kid_subsets", "kid_subset_size", "prc", "prc_neighborhood",
                     "manifold")
IS_SHUFFLE_SEED = 2020  # torch-fidelity's default rng_seed: samples are shuffled before splitting
CEILING_DRAWS = 200     # perfect samplers drawn to estimate the IS ceiling (seeded)


def is_splits(n_samples: int, split_size: int) -> int:
    """How many IS splits of ``split_size`` samples ``n_samples`` give (at least one)."""
    return max(1, n_samples // split_size)


def is_at_split_size(logits: torch.Tensor, split_size: int) -> float:
    """The mean IS over splits of ``split_size`` of ``logits`` [N, C] (torch-fidelity's formula;
    the first whole splits after its shuffle; fewer than ``split_size``: one split of all)."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, isc_features_to_metric

    n = len(logits)
    order = np.random.RandomState(IS_SHUFFLE_SEED).permutation(n)
    splits = is_splits(n, split_size)
    kept = logits[order[:min(n, splits * split_size)]]
    return float(isc_features_to_metric(kept, splits=splits, shuffle=False)[KEY_METRIC_ISC_MEAN])


def is_ceiling(n_modes: int, split_size: int, seed: int = 0) -> float:
    """The IS of a perfect sampler at ``split_size`` a split: each sample one of ``n_modes``
    equally likely modes, predicted with certainty, so a split's IS is exp(entropy of its mode
    histogram); the mean over CEILING_DRAWS seeded splits. A reference scale, not a bound: real
    images, read with soft class probabilities, can score a little above it."""
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(CEILING_DRAWS):
        p = np.bincount(rng.integers(0, n_modes, split_size), minlength=n_modes) / split_size
        p = p[p > 0]
        scores.append(np.exp(-(p * np.log(p)).sum()))
    return float(np.mean(scores))


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
                       feature_layer: str, splits: int = 10, fid: bool = True, kid: bool = True,
                       kid_subsets: int = 100, kid_subset_size: int = 1000, prc: bool = True,
                       prc_neighborhood: int = 3, device: str = "cpu", batch_size: int = 64,
                       verbose: bool = True, split_size: int | None = None,
                       is_layer: str | None = None, n_modes: int | None = None,
                       heldout: np.ndarray | None = None, manifold: bool = True) -> dict:
    """IS of ``samples`` (mean, std over ``splits``) and, when ``reference`` is given, those of
    FID, KID and precision / recall that are on, every one of them on ``feature_layer``.

    With ``split_size`` (the samples a split holds) and ``is_layer`` (the extractor's IS layer),
    also the IS of the reference at that split size and (``n_modes``: the backend's known modes)
    of a perfect sampler; with ``manifold``, density, coverage and (``heldout``: unseen real
    images) the data-copying test on ``feature_layer`` (manifold.py).

    KID's subset size is capped at the smaller set's size (the cap is recorded). The reference's
    features and FID statistics are cached under ``cache_dir/fidelity`` by torch-fidelity, keyed
    by ``reference_name``, the reference images' hash, the weights file's hash and the extractor.
    """
    import torch_fidelity

    if len(samples) < max(splits, 2):
        raise UserError(f"{len(samples)} samples: IS over {splits} splits needs at least "
                        f"{max(splits, 2)} (use more samples or fewer --is-splits)")
    if reference is not None and len(reference) < 2:
        raise UserError(f"FID reference has {len(reference)} image(s); it needs at least 2")
    if prc and reference is not None and min(len(samples), len(reference)) <= prc_neighborhood:
        raise UserError(f"precision / recall with prc_neighborhood = {prc_neighborhood} needs more "
                        f"than {prc_neighborhood} samples and reference images (got "
                        f"{len(samples)} and {len(reference)}): lower --prc-neighborhood")
    fid, kid, prc = (bool(on) and reference is not None for on in (fid, kid, prc))
    if not (fid or kid or prc):
        reference = None   # nothing compares with it: torch-fidelity would still extract it
    subset = min(kid_subset_size, len(samples), len(reference)) if kid else None
    kwargs = dict(
        input1=ImageDataset(samples), isc=True, isc_splits=splits, fid=fid, kid=kid, prc=prc,
        feature_extractor=feature_extractor, feature_extractor_weights_path=str(weights_path),
        feature_layer_fid=feature_layer, feature_layer_kid=feature_layer,
        feature_layer_prc=feature_layer, kid_subsets=kid_subsets, kid_subset_size=subset or 1,
        prc_neighborhood=prc_neighborhood,
        cuda=device.startswith("cuda"), batch_size=batch_size, samples_shuffle=True,
        rng_seed=IS_SHUFFLE_SEED, cache=True, cache_root=str(Path(cache_dir) / "fidelity"),
        save_cpu_ram=True,  # in-memory tensors: no DataLoader worker processes
        # torch-fidelity's own lines say "Inception Score: ..." whatever the extractor: the
        # record and `ijae evaluate`'s summary name the measure instead
        verbose=False)
    weights_digest = file_digest(weights_path)
    if reference is not None:
        key = f"{reference_name}-n{len(reference)}-{array_digest(reference)[:12]}" \
              f"-w{weights_digest[:12]}"
        kwargs.update(input2=ImageDataset(reference), input2_cache_name=key)
    out = torch_fidelity.calculate_metrics(**kwargs)
    n_reference = len(reference) if reference is not None else None
    extra = {}
    if split_size is not None:
        extra[K.KEY_IS_SPLIT_SIZE] = split_size
        extra[K.KEY_IS_CEILING] = is_ceiling(n_modes, split_size) if n_modes else None
    if reference is not None and (manifold or (split_size and is_layer)):
        extra.update(_feature_measures(kwargs, samples, heldout, is_layer, feature_layer,
                                       split_size, manifold))
    return {**extra,
        K.KEY_METRIC_IS_MEAN: out[torch_fidelity.KEY_METRIC_ISC_MEAN],
        K.KEY_METRIC_IS_STD: out[torch_fidelity.KEY_METRIC_ISC_STD],
        K.KEY_METRIC_FID: out.get(torch_fidelity.KEY_METRIC_FID),
        K.KEY_METRIC_KID_MEAN: out.get(torch_fidelity.KEY_METRIC_KID_MEAN),
        K.KEY_METRIC_KID_STD: out.get(torch_fidelity.KEY_METRIC_KID_STD),
        K.KEY_KID_SUBSETS: kid_subsets if kid else None, K.KEY_KID_SUBSET_SIZE: subset,
        K.KEY_KID_REFERENCE_N: n_reference if kid else None,
        K.KEY_METRIC_PRECISION: out.get(torch_fidelity.KEY_METRIC_PRECISION),
        K.KEY_METRIC_RECALL: out.get(torch_fidelity.KEY_METRIC_RECALL),
        K.KEY_METRIC_F_SCORE: out.get(torch_fidelity.KEY_METRIC_F_SCORE),
        K.KEY_PRC_NEIGHBORHOOD: prc_neighborhood if prc else None,
        K.KEY_PRC_REFERENCE_N: n_reference if prc else None,
        K.KEY_FID_LAYER: feature_layer, K.KEY_KID_LAYER: feature_layer if kid else None,
        K.KEY_PRC_LAYER: feature_layer if prc else None,
        "feature_extractor": feature_extractor,
        "feature_extractor_weights": str(weights_path),
        "feature_extractor_weights_sha256": weights_digest,
    }


def _feature_measures(kwargs: dict, samples: np.ndarray, heldout: np.ndarray | None,
                      is_layer: str | None, feature_layer: str, split_size: int | None,
                      manifold: bool) -> dict:
    """The reference's IS at ``split_size``; density, coverage and C_T (manifold.py), from the
    extractor of ``kwargs`` (the reference's features come from torch-fidelity's cache)."""
    from torch_fidelity.utils import create_feature_extractor, extract_featuresdict_from_input_id_cached

    from ijae.metrics import manifold as manifold_mod

    layers = list(dict.fromkeys(filter(None, (is_layer, feature_layer))))
    options = {**kwargs, "verbose": False}
    extractor = create_feature_extractor(kwargs["feature_extractor"], layers, **options)
    reference = extract_featuresdict_from_input_id_cached(2, extractor, **options)
    out = {}
    if is_layer and split_size:
        out[K.KEY_IS_REAL] = is_at_split_size(reference[is_layer], split_size)
    if manifold:
        def features(images):
            if images is None:
                return None
            part = {**options, "input1": ImageDataset(images[:manifold_mod.MAX_POINTS]),
                    "cache": False}
            return extract_featuresdict_from_input_id_cached(1, extractor, **part)[
                feature_layer].double().numpy()

        out.update(manifold_mod.manifold_fields(reference[feature_layer].double().numpy(),
                                                features(samples), features(heldout)))
    return out
