"""Inception backend: IS and FID through torch-fidelity's TF-compatible ``inception-v3-compat``.

This is the extractor whose scores match the TF 1.x reference code the paper used (docs/paper-notes.md §7);
nothing here re-implements it. The weights file (torch-fidelity's conversion of the TF 2015-12-05
Inception) is looked up, in order, at:

1. ``--inception-weights FILE`` (or env ``IJAE_INCEPTION_WEIGHTS``, see ``defaults.py``),
2. ``<cache-dir>/weights/weights-inception-2015-12-05-6726825d.pth``,
3. torch hub's cache, ``$TORCH_HOME/hub/checkpoints/`` (where torch-fidelity itself downloads it),

and downloaded into 3. when none exists. Offline, the error names the URL and these paths.
"""
from __future__ import annotations

import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch

from ijae import UserError
from ijae.metrics import fidelity

FEATURE_EXTRACTOR = "inception-v3-compat"
FID_LAYER = "2048"          # torch-fidelity's defaults for this extractor
IS_LAYER = "logits_unbiased"


class InceptionWeightsError(UserError, RuntimeError):
    """The Inception weights are missing or unreadable; the message says what to put where."""


def weights_url() -> str:
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    return URL_INCEPTION_V3


def candidate_paths(cache_dir: str | Path) -> list[Path]:
    name = weights_url().rsplit("/", 1)[-1]
    return [Path(cache_dir) / "weights" / name, Path(torch.hub.get_dir()) / "checkpoints" / name]


def resolve_weights(weights: str | Path | None, cache_dir: str | Path) -> Path:
    """The local weights file to use: the given one, a cached one, or a fresh download."""
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise InceptionWeightsError(f"Inception weights file {path} does not exist; expected "
                                        f"torch-fidelity's {weights_url().rsplit('/', 1)[-1]} "
                                        f"(from {weights_url()})")
        return path
    candidates = candidate_paths(cache_dir)
    for path in candidates:
        if path.is_file():
            return path
    target = candidates[1]
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with redirect_stdout(sys.stderr):
            torch.hub.download_url_to_file(weights_url(), str(target), progress=True)
    except Exception as error:  # URLError / OSError offline, HTTPError when moved
        raise InceptionWeightsError(
            f"Inception weights not found and the download failed ({error}). Download "
            f"{weights_url()} on a machine with network and put it at {candidates[0]} (the "
            f"cache folder: --cache-dir or IJAE_CACHE) or {target}, or pass --inception-weights "
            "FILE (env IJAE_INCEPTION_WEIGHTS).") from error
    return target


def check_weights(path: Path) -> None:
    """Refuse a file that is not an Inception state dict, before torch-fidelity's bare traceback."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InceptionWeightsError(f"Inception weights {path} are unreadable ({error}); expected "
                                    f"torch-fidelity's state dict from {weights_url()}") from error
    expected = set(_skeleton(meta=True).state_dict())
    if not isinstance(state, dict) or set(state) != expected:
        got = sorted(set(state) ^ expected)[:3] if isinstance(state, dict) else type(state).__name__
        raise InceptionWeightsError(f"{path} is not an inception-v3-compat state dict (mismatched "
                                    f"keys, e.g. {got}); expected the file from {weights_url()}")


def _skeleton(meta: bool = False) -> torch.nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 with its weight loading bypassed."""
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as fe

    cls = fe.FeatureExtractorInceptionV3
    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}), \
            mock.patch.object(cls, "load_state_dict", lambda self, *a, **k: None), \
            torch.device("meta" if meta else "cpu"):
        return cls(FEATURE_EXTRACTOR, [IS_LAYER, FID_LAYER])


def random_weights(path: str | Path, seed: int = 0) -> Path:
    """Write Kaiming-random Inception weights: FOR TESTS AND TIMING ONLY, the scores mean nothing.

    Same architecture and state-dict keys as the real file, so every code path runs offline.
    """
    model = _skeleton()
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def generation_metrics(samples: np.ndarray, reference: np.ndarray | None, *, reference_name: str,
                       weights: str | Path | None, cache_dir: str | Path, splits: int = 10,
                       device: str = "cpu", batch_size: int = 64, verbose: bool = True,
                       **options) -> dict:
    """IS (mean, std over splits) of ``samples``; FID, KID, precision / recall to ``reference``
    (None: none of them) on the 2048-d pool features; ``options``: fidelity.REFERENCE_OPTIONS."""
    path = resolve_weights(weights, cache_dir)
    check_weights(path)
    out = fidelity.generation_metrics(
        samples, reference, feature_extractor=FEATURE_EXTRACTOR, weights_path=path,
        reference_name=reference_name, cache_dir=cache_dir, feature_layer=FID_LAYER,
        splits=splits, device=device, batch_size=batch_size, verbose=verbose, is_layer=IS_LAYER,
        **options)
    out.update(is_layer=IS_LAYER)
    return out
