"""Score one run folder from its artifacts alone into ``RUN/metrics.json`` (never imports a model).

Backends (default: the run config's ``eval.backend``):

- ``inception``: IS (10 splits; mean ± std over splits) of samples.npz and FID to the dataset's
  train split, torch-fidelity's ``inception-v3-compat``; LPIPS (lpips, v0.1, AlexNet) between
  each test image and its reconstruction (mean ± std over images).
- ``digits``: the same through a digits classifier, for the offline default profile; the
  reconstruction metric is ``digits-feature-distance`` (see digits.py).

Offline knobs: ``cache_dir`` (default ``work/cache`` or env ``IJAE_CACHE``) holds downloaded or
trained weights and reference statistics; ``inception_weights`` (env ``IJAE_INCEPTION_WEIGHTS``)
and ``lpips_weights`` (env ``IJAE_LPIPS_WEIGHTS``; a torchvision trunk file, or ``random`` for
tests) avoid downloads.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ijae import UserError, work_dir
from ijae.contract import CONFIG, RECONSTRUCTIONS, SAMPLES, ContractError

BACKENDS = ("inception", "digits")
def default_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir``, else env IJAE_CACHE, else the work folder's cache/ (ijae.work_dir)."""
    return Path(cache_dir or os.environ.get("IJAE_CACHE") or work_dir() / "cache")


def evaluate_run(run: str | Path, *, backend: str | None = None, device: str = "auto",
                 batch_size: int = 64, n_samples: int | None = None,
                 inception_weights: str | Path | None = None, cache_dir: str | Path | None = None,
                 lpips_net: str = "alex", lpips_version: str = "0.1",
                 lpips_weights: str | Path | None = None, is_splits: int = 10, fid: bool = True,
                 fid_reference_n: int | None = None, verbose: bool = True,
                 write: bool = True) -> dict:
    """Score ``run`` and (``write``) store the flat record as ``run/metrics.json``; returns it."""
    from ijae import config, contract, data
    from ijae.metrics import fidelity, record

    start = time.perf_counter()
    run = Path(run)
    if not run.is_dir():
        raise UserError(f"run folder {run} does not exist")
    cfg = config.load(run / CONFIG)
    backend = backend or cfg.eval.backend
    if backend not in BACKENDS:
        raise UserError(f"backend {backend!r}: expected one of {BACKENDS}")
    for name, value in (("batch_size", batch_size), ("is_splits", is_splits),
                        ("n_samples", n_samples), ("fid_reference_n", fid_reference_n)):
        if value is not None and value < 1:
            raise UserError(f"{name} = {value}: expected a positive integer")
    samples = contract.load_samples(run / SAMPLES)[:n_samples]
    originals, reconstructions = contract.load_reconstructions(run / RECONSTRUCTIONS)
    size = data.image_size(cfg.data)
    for file, images in ((SAMPLES, samples), (RECONSTRUCTIONS, originals)):
        if images.shape[1:3] != (size, size):
            raise ContractError(f"{run / file}: images are {images.shape[1]}x{images.shape[2]}, but "
                                f"the run's {CONFIG} gives {size}x{size} (data.image_size)")
    if backend == "digits" and cfg.data.dataset != "digits":
        raise UserError(f"the digits backend scores digits runs; this run's dataset is "
                        f"{cfg.data.dataset}: use --backend inception")
    device = fidelity.resolve_device(device)
    cache = default_cache_dir(cache_dir)
    reference = data.load_dataset(cfg.data).train[:fid_reference_n] if fid else None
    common = dict(splits=is_splits, device=device, batch_size=batch_size, cache_dir=cache)

    if backend == "digits":
        from ijae.metrics import digits

        gen = digits.generation_metrics(samples, reference, verbose=verbose, **common)
        distances = digits.feature_distances(originals, reconstructions, cache_dir=cache,
                                             device=device, batch_size=max(batch_size, 256))
        recon = {"recon_metric": digits.RECON_METRIC}
    else:
        from ijae.metrics import inception, lpips_distance

        lpips_weights = lpips_weights or os.environ.get("IJAE_LPIPS_WEIGHTS") or None
        lpips_distance.check_size(originals.shape, lpips_net)  # fail before the long part
        model = lpips_distance.build(lpips_net, lpips_version, lpips_weights)
        gen = inception.generation_metrics(
            samples, reference, reference_name=f"ijae-{cfg.data.dataset}-{size}px-train",
            weights=inception_weights, verbose=verbose, **common)
        distances = lpips_distance.distances(originals, reconstructions, net=lpips_net,
                                             device=device, batch_size=batch_size, model=model)
        recon = {"recon_metric": lpips_distance.metric_name(lpips_net, lpips_version, lpips_weights),
                 "lpips_trunk_weights": str(lpips_weights) if lpips_weights else
                 f"torchvision {lpips_distance.trunk_weights(lpips_net).url.rsplit('/', 1)[-1]}"}

    out = {
        "dataset": cfg.data.dataset, "model": cfg.model.name,
        "variant": getattr(cfg.model, "variant", None), "lambda": getattr(cfg.model, "lam", None),
        "seed": cfg.seed, "profile": cfg.profile, "image_size": size, "backend": backend,
        "is_mean": gen["is_mean"], "is_std": gen["is_std"], "is_splits": is_splits,
        "is_std_over": f"{is_splits} splits of the samples", "n_samples": int(len(samples)),
        "fid": gen["fid"], "fid_reference": f"{cfg.data.dataset} train split" if fid else None,
        "fid_reference_n": int(len(reference)) if fid else None,
        **recon, "recon_mean": float(np.mean(distances)), "recon_std": float(np.std(distances)),
        "recon_std_over": "images", "n_reconstructions": int(len(distances)),
        **{k: v for k, v in gen.items() if k not in ("is_mean", "is_std", "fid")},
        "config_hash": cfg.digest(), "run": str(run.resolve()),
        **record.provenance(device),
    }
    out["wall_time_s"] = round(time.perf_counter() - start, 3)
    if write:
        record.write(run, out)
    return out
